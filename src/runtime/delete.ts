// `delete`: remove a stopped (or created) container; with force, kill a running one first.
import { TsruncError, isTsruncError } from '../errors.js';
import * as native from '../native/index.js';
import { isSameLiveProcess } from '../linux/proc.js';
import type { Context } from './context.js';
import { liveStatus, ociState } from './live-status.js';
import { assertCanDelete } from './status.js';
import { signalInit } from './kill.js';
import { hooksOf, runHostHooksWarn } from './hooks.js';
import { releaseCgroup } from './cgroup.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT_FILE } from '../monitor/exit-file.js';
import { removeRdt } from '../linux/intel-rdt.js';

const SIGKILL = 9;

/**
 * Deletes container `id`. Two concurrent deletes serialise on the directory lock; the second finds
 * nothing. With `force` a container that does not exist is not an error, as in runc: engines
 * (podman after a failed create) delete --force what may never have been made.
 */
export async function deleteContainer(ctx: Context, id: string, force: boolean): Promise<void> {
  let dirFd: number;
  try {
    dirFd = ctx.store.openDir(id);
  } catch (e) {
    if (force && isTsruncError(e, 'not-found')) return;
    throw e;
  }
  try {
    native.flock(dirFd, true, true);
    let state;
    try {
      state = ctx.store.load(id); // not-found when another delete won the race
    } catch (e) {
      if (force && isTsruncError(e, 'not-found')) return;
      throw e;
    }
    const status = liveStatus(state);
    assertCanDelete(id, status, force);
    if (status !== 'stopped') {
      try {
        signalInit(state, SIGKILL);
      } catch (e) {
        if (!isTsruncError(e, 'invalid-state')) throw e;
      }
      waitGone(state.pid, state.pidStartTime, id);
    }
    // The monitor writes exit.json into the directory once it has reaped the init: let it finish first.
    if (state.monitor !== undefined) waitRecorded(state.monitor, ctx.store.dir(id));
    // Forked children may outlive the init (no pid namespace): the driver kills them with the cgroup.
    await releaseCgroup(ctx, state.cgroup);
    removeRdt(state.intelRdt);
    ctx.store.remove(id);
    // Still under the lock: a concurrent delete finds nothing, so the hooks run once (and not at all
    // when the monitor's exit step ran them already).
    if (state.poststopRan !== true) runHostHooksWarn('poststop', hooksOf(state.hooks), ociState(state, 'stopped'), ctx.logger);
  } finally {
    native.closeFd(dirFd);
  }
}

/** Waits (up to 10 s) until a monitor has recorded the exit, or is gone. */
function waitRecorded(monitor: { pid: number; startTime: string }, dir: string): void {
  pollUntil(() => existsSync(join(dir, EXIT_FILE)) || !isSameLiveProcess(monitor.pid, monitor.startTime));
}

/** Waits (up to 10 s) until the init is dead or a zombie; it is not our child, so we cannot reap it. */
function waitGone(pid: number, startTime: string, id: string): void {
  if (pollUntil(() => !isSameLiveProcess(pid, startTime))) return;
  throw new TsruncError('invalid-state', `container "${id}": init (pid ${pid}) did not die after SIGKILL`);
}

/** Checks `done` every 2 ms for up to 10 s; whether it became true. */
function pollUntil(done: () => boolean): boolean {
  const tick = new Int32Array(new SharedArrayBuffer(4));
  for (let waited = 0; waited < 10_000; waited += 2) {
    if (done()) return true;
    Atomics.wait(tick, 0, 0, 2);
  }
  return false;
}
