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

/** `/mounts/3 (/data): mount: No such file or directory` as an init-failed error. `ops` may be sparse
 * (`start` knows only the ops after the barrier, from the state file). */
export function childFailure(ops: readonly (Pick<Op, 'origin'> | undefined)[], index: number, errno: number, step: string): TsruncError {
  const op = ops[index];
  const setup = index === -1 ? (SETUP_FIELDS[step] ?? 'container setup') : index <= -2 ? '/linux/namespaces' : `op ${index}`;
  const where = op === undefined ? setup : op.origin.what !== undefined ? `${op.origin.pointer} (${op.origin.what})` : op.origin.pointer;
  return new TsruncError('init-failed', `config.json: ${where}: ${step}: ${strerror(errno)}`);
}

/** The origins of the ops from the start barrier on, for the state file: `start` names their failures. */
export function startOpOrigins(ops: readonly Op[]): { index: number; pointer: string; what?: string }[] {
  const barrier = ops.findIndex((o) => o.op === 'wait-start');
  if (barrier < 0) return [];
  return ops.slice(barrier + 1).map((o, k) => ({ index: barrier + 1 + k, pointer: o.origin.pointer, ...(o.origin.what !== undefined ? { what: o.origin.what } : {}) }));
}

/** The sparse op list childFailure takes, from the state file's startOps. */
export function opsFromOrigins(origins: readonly { index: number; pointer: string; what?: string | undefined }[]): (Pick<Op, 'origin'> | undefined)[] {
  const ops: (Pick<Op, 'origin'> | undefined)[] = [];
  for (const o of origins) ops[o.index] = { origin: o.what !== undefined ? { pointer: o.pointer, what: o.what } : { pointer: o.pointer } };
  return ops;
}
