// `kill`: signal a container's init through a pidfd, after checking it is still the same process.
import { TsruncError } from '../errors.js';
import * as native from '../native/index.js';
import { isSameLiveProcess } from '../linux/proc.js';
import type { Context } from './context.js';
import { liveStatus } from './live-status.js';
import { assertCanKill } from './status.js';
import type { StateFile } from '../spec/state-schema.js';

/** Sends `signal` to the init of container `id`. */
export function killContainer(ctx: Context, id: string, signal: number): void {
  const state = ctx.store.load(id);
  assertCanKill(id, liveStatus(state));
  signalInit(state, signal);
}

/** Signals the init through a pidfd opened while its start time still matches (no pid reuse race). */
export function signalInit(state: StateFile, signal: number): void {
  let pidfd: number;
  try {
    pidfd = native.pidfdOpen(state.pid);
  } catch {
    throw new TsruncError('invalid-state', `container "${state.id}" is not running`);
  }
  try {
    if (!isSameLiveProcess(state.pid, state.pidStartTime)) {
      throw new TsruncError('invalid-state', `container "${state.id}" is not running`);
    }
    native.pidfdSignal(pidfd, signal);
  } finally {
    native.closeFd(pidfd);
  }
}
