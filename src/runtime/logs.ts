// `logs`: the output a container's monitor captured (`run -d --output FILE`), as the container wrote
// it: stdout records to stdout, stderr records to stderr; `follow` goes on until the container ends.
import { closeSync, openSync, readSync } from 'node:fs';
import { ChangeWaiter } from './change-waiter.js';
import { StringDecoder } from 'node:string_decoder';
import { TsruncError, errnoCode } from '../errors.js';
import type { Context } from './context.js';
import { parseLog, type LogRecord } from '../monitor/log-format.js';
import { recordedExit } from './wait.js';
import { isSameLiveProcess } from '../linux/proc.js';

const RECHECK_MS = 500;

/** Prints the log of container `id` through `write`; with `follow`, until its init has ended. */
export async function containerLogs(ctx: Context, id: string, follow: boolean, write: (r: LogRecord) => void): Promise<void> {
  const state = ctx.store.load(id);
  const path = state.monitor?.output;
  if (path === undefined) {
    throw new TsruncError('invalid-state', `container "${id}" has no output log`, { hint: 'start it with `tsrunc run -d --output FILE` to capture its output' });
  }
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new TsruncError(errnoCode(e) === 'ENOENT' ? 'not-found' : 'internal', `the log of "${id}", ${path}: ${(e as Error).message}`);
  }
  const decoder = new StringDecoder('utf8');
  const buf = Buffer.alloc(65536);
  let rest = '';
  const drain = (): void => {
    for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) {
      const parsed = parseLog(rest + decoder.write(buf.subarray(0, n)));
      rest = parsed.rest;
      parsed.records.forEach(write);
    }
  };
  // Ended: the monitor records the exit only after the last output is in the log.
  const ended = (): boolean => {
    try {
      const now = ctx.store.load(id);
      const m = now.monitor;
      return recordedExit(ctx, now) !== undefined || m === undefined || !isSameLiveProcess(m.pid, m.startTime);
    } catch {
      return true; // removed (--rm)
    }
  };
  const changes = follow ? new ChangeWaiter(path) : undefined;
  try {
    for (;;) {
      const done = changes === undefined || ended();
      drain();
      if (done) break;
      await changes.next(RECHECK_MS);
    }
    if (rest !== '') parseLog(rest + '\n').records.forEach(write);
  } finally {
    changes?.close();
    closeSync(fd);
  }
}
