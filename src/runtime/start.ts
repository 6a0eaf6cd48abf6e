// `start`: release the exec barrier of a created container (the init execs the user's process).
import { TsruncError } from '../errors.js';
import * as native from '../native/index.js';
import type { Context } from './context.js';
import { liveStatus, ociState } from './live-status.js';
import { hooksOf, releaseWithHooks, runContainerHooks, runHostHooksWarn } from './hooks.js';
import { assertCanStart } from './status.js';
import { childFailure, opsFromOrigins } from './child-errors.js';
import type { StateFile } from '../spec/state-schema.js';

/** Starts container `id`; `dirFd` may be passed by a caller that already holds the directory open. */
export function startContainer(ctx: Context, id: string, held?: { dirFd: number; state: StateFile }): StateFile {
  const dirFd = held?.dirFd ?? ctx.store.openDir(id);
  try {
    if (held === undefined) native.flock(dirFd, true, true);
    const state = held?.state ?? ctx.store.load(id);
    assertCanStart(id, liveStatus(state));
    const hooks = hooksOf(state.hooks);
    const r = releaseWithHooks(`/proc/self/fd/${dirFd}/${ctx.store.startSocketName()}`, (ns) => {
      // startContainer: inside the container (its root, after pivot_root), before the user's process.
      runContainerHooks('startContainer', hooks, ociState(state, 'created'), { ns, cwd: '/', pid: state.pid, scratch: ctx.store.dir(id) });
    });
    if (!r.ok && r.step === 'hook') {
      state.status = 'stopped';
      ctx.store.save(state);
      throw r.error;
    }
    if (!r.ok) {
      if (r.step === 'op') {
        // The init exits after reporting: a deferred seccomp load, execve itself, ...
        state.status = 'stopped';
        ctx.store.save(state);
        throw childFailure(opsFromOrigins(state.startOps ?? []), r.index, r.errno, r.call);
      }
      throw new TsruncError('invalid-state', `container "${id}" is not waiting to start: ${native.strerror(r.errno)}`);
    }
    state.status = 'running';
    ctx.store.save(state);
    runHostHooksWarn('poststart', hooks, ociState(state, 'running'), ctx.logger);
    return state;
  } finally {
    if (held === undefined) native.closeFd(dirFd);
  }
}
