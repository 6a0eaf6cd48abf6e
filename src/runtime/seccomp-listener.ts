// The runtime-spec's seccomp notify protocol: the listener fd of a process whose filter has
// SCMP_ACT_NOTIFY goes to linux.seccomp.listenerPath, with the container state as JSON ("fds" names it).
import * as native from '../native/index.js';
import type { Config } from '../spec/schema.js';
import type { StateFile } from '../spec/state-schema.js';

/**
 * Sends `fd` (the listener of process `pid`) to the agent and closes it. The state is the container's
 * as it is now: 'creating' (its init, during create) or 'running' (an exec'd process).
 */
export function sendSeccompListener(config: Config, state: StateFile, pid: number, fd: number, status: 'creating' | 'running'): void {
  try {
    const sc = config.linux?.seccomp;
    const metadata = sc?.listenerMetadata ?? '';
    const message = {
      ociVersion: state.ociVersion,
      fds: ['seccompFd'],
      pid,
      ...(metadata !== '' ? { metadata } : {}),
      state: {
        ociVersion: state.ociVersion,
        id: state.id,
        status,
        pid: status === 'creating' ? pid : state.pid,
        bundle: state.bundle,
        ...(state.annotations !== undefined ? { annotations: state.annotations } : {}),
      },
    };
    native.sendFdTo(sc?.listenerPath ?? '', new TextEncoder().encode(JSON.stringify(message)), fd);
  } finally {
    native.closeFd(fd);
  }
}
