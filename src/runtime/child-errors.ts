// Turning the C core's (op index, errno, step) into one line naming the config field it came from.
import { TsruncError } from '../errors.js';
import type { Op } from '../native/plan.js';
import { strerror } from '../native/index.js';

/** `/mounts/3 (/data): mount: No such file or directory` as an init-failed error. */
export function childFailure(ops: Op[], index: number, errno: number, step: string): TsruncError {
  const op = ops[index];
  const where = op === undefined ? `op ${index}` : op.origin.what !== undefined ? `${op.origin.pointer} (${op.origin.what})` : op.origin.pointer;
  return new TsruncError('init-failed', `config.json: ${where}: ${step}: ${strerror(errno)}`);
}
