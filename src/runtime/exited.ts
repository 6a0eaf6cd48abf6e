// `exited`: the step a container's monitor runs once the init has ended (helpers/monitor/main.c): the
// container is recorded as stopped with its exit status, its poststop hooks run (once: `delete` does not
// run them again), and with `run -d --rm` it is deleted. A container deleted meanwhile is nothing to do.
import { isTsruncError } from '../errors.js';
import * as native from '../native/index.js';
import type { Context } from './context.js';
import { liveStatus, ociState } from './live-status.js';
import { deleteContainer } from './delete.js';
import { hooksOf, runHostHooksWarn } from './hooks.js';
import { readExitFile } from '../monitor/exit-file.js';

/** The monitor's exit step for container `id`: it runs as the monitor's child, which is how it tells
 * that `id` is still that monitor's container (not a new one of the same name after a delete). */
export async function containerExited(ctx: Context, id: string, rm: boolean): Promise<void> {
  try {
    if (ctx.store.load(id).monitor?.pid !== process.ppid) return;
    if (rm) await deleteContainer(ctx, id, false);
    else recordExit(ctx, id);
  } catch (e) {
    if (!isTsruncError(e, 'not-found')) throw e;
  }
}

function recordExit(ctx: Context, id: string): void {
  const dirFd = ctx.store.openDir(id);
  try {
    native.flock(dirFd, true, true);
    const state = ctx.store.load(id);
    if (liveStatus(state) !== 'stopped') return; // not ended after all: nothing to record
    state.status = 'stopped';
    state.exitStatus ??= readExitFile(ctx.store.dir(id));
    const hooksDue = state.poststopRan !== true;
    state.poststopRan = true;
    ctx.store.save(state);
    if (hooksDue) runHostHooksWarn('poststop', hooksOf(state.hooks), ociState(state, 'stopped'), ctx.logger);
  } finally {
    native.closeFd(dirFd);
  }
}
