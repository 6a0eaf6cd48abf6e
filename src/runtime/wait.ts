// `wait`: the exit status of a container, waiting for it while it runs. Only a container with a
// monitor (`run -d`) or kept by `run --keep` has one recorded; runc has no such command.
import { constants, openSync, closeSync, existsSync } from 'node:fs';
import { ChangeWaiter } from './change-waiter.js';
import { join } from 'node:path';
import { TsruncError, errnoCode } from '../errors.js';
import * as native from '../native/index.js';
import type { Context } from './context.js';
import type { ExitStatus, StateFile } from '../spec/state-schema.js';
import { isSameLiveProcess } from '../linux/proc.js';
import { readExitFile, WAIT_LOCK } from '../monitor/exit-file.js';

/** How often a wait looks again when no file event came (events are the fast path). */
const RECHECK_MS = 1000;

/** The recorded exit status of a container, if it has one now. */
export function recordedExit(ctx: Context, st: StateFile): ExitStatus | undefined {
  return st.exitStatus ?? (st.monitor !== undefined ? readExitFile(ctx.store.dir(st.id)) : undefined);
}

/** Resolves to the exit status of container `id` once it has ended. */
export async function waitContainer(ctx: Context, id: string): Promise<ExitStatus> {
  const state = ctx.store.load(id);
  const now = recordedExit(ctx, state);
  if (now !== undefined) return now;
  const monitor = state.monitor;
  if (monitor === undefined) {
    throw new TsruncError('invalid-state', `container "${id}" has no monitor, so nothing records how it ends`, {
      hint: 'only containers started with `tsrunc run -d` (or ended under `run --keep`) have an exit status',
    });
  }
  const dir = ctx.store.dir(id);
  // Shared: the monitor takes it exclusively before an exit step that may remove the container.
  const lock = openLock(join(dir, WAIT_LOCK), id);
  let changes: ChangeWaiter | undefined;
  try {
    native.flock(lock, false, true);
    changes = new ChangeWaiter(dir);
    for (;;) {
      if (!existsSync(join(dir, 'state.json'))) throw new TsruncError('not-found', `container "${id}" was removed before its exit status could be read`);
      const status = readExitFile(dir);
      if (status !== undefined) return status;
      if (!isSameLiveProcess(monitor.pid, monitor.startTime)) {
        const last = readExitFile(dir);
        if (last !== undefined) return last;
        throw new TsruncError('internal', `the monitor of container "${id}" (pid ${monitor.pid}) ended without recording an exit status`);
      }
      await changes.next(RECHECK_MS);
    }
  } finally {
    changes?.close();
    closeSync(lock);
  }
}

function openLock(path: string, id: string): number {
  try {
    return openSync(path, constants.O_RDONLY);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') throw new TsruncError('not-found', `container "${id}" does not exist`);
    throw new TsruncError('internal', `${path}: ${(e as Error).message}`, { cause: e });
  }
}
