// Turning the C core's (op index, errno, step) into one line naming the config field it came from.
import { TsruncError } from '../errors.js';
import type { Op } from '../native/plan.js';
import { strerror } from '../native/index.js';

/** The config field behind a failure of the child's own setup (index -1), by the step that failed. */
const SETUP_FIELDS: Record<string, string> = {
  timens_offsets: '/linux/timeOffsets',
  unshare: '/linux/namespaces',
  clone3: '/linux/namespaces',
  setns: '/linux/namespaces',
  ioctl: '/process/terminal',
};

/** `/mounts/3 (/data): mount: No such file or directory` as an init-failed error. */
export function childFailure(ops: Op[], index: number, errno: number, step: string): TsruncError {
  const op = ops[index];
  const setup = index === -1 ? (SETUP_FIELDS[step] ?? 'container setup') : index <= -2 ? '/linux/namespaces' : `op ${index}`;
  const where = op === undefined ? setup : op.origin.what !== undefined ? `${op.origin.pointer} (${op.origin.what})` : op.origin.pointer;
  return new TsruncError('init-failed', `config.json: ${where}: ${step}: ${strerror(errno)}`);
}
