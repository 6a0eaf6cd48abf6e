// The parent side of the child's hand-offs (helpers/handoff.c, helpers/conn.c): the start connection
// with its hook points, namespace fds received from the child, and waits with a timeout.
import { TsruncError } from '../errors.js';
import { native } from './binding.js';

/** The namespaces a hook point hands over, in the bit order of its mask (helpers/handoff.c). */
export const HOOK_NAMESPACES = [
  { name: 'user', flag: 0x10000000 },
  { name: 'mnt', flag: 0x00020000 },
  { name: 'pid', flag: 0x20000000 },
  { name: 'net', flag: 0x40000000 },
  { name: 'uts', flag: 0x04000000 },
  { name: 'ipc', flag: 0x08000000 },
  { name: 'cgroup', flag: 0x02000000 },
] as const;

const ETIMEDOUT = 110;

/** Namespace fds of a hook point, each with its CLONE_NEW* flag, in mask order (the user namespace first). */
export interface NamespaceFds {
  fds: { flag: number; fd: number; name: string }[];
}

/** Pairs the fds of a hook point with their namespaces. */
export function namespaceFds(mask: number, fds: number[]): NamespaceFds {
  const out: NamespaceFds['fds'] = [];
  let k = 0;
  HOOK_NAMESPACES.forEach((ns, bit) => {
    if (mask & (1 << bit) && k < fds.length) out.push({ ...ns, fd: fds[k++]! });
  });
  for (; k < fds.length; k++) native().close(fds[k]!);
  return { fds: out };
}

export function closeNamespaceFds(ns: NamespaceFds): void {
  for (const f of ns.fds) native().close(f.fd);
  ns.fds = [];
}

/** What happens next on a start connection: the init exec'd, an op after the barrier failed (`index`
 * -1 when the init could not say which, `step` the failing call), or it stopped at a hook point. */
export type ConnEvent =
  | { type: 'exec' }
  | { type: 'failed'; errno: number; index: number; step: string }
  | { type: 'hook-point'; tag: number; ns: NamespaceFds };

const STEP_LEN = 16;

/** Connects to the start socket and sends the start byte; throws with `errno` when nobody listens. */
export function startConnect(path: string): number | { errno: number } {
  const r = native().startConnect(path);
  return r < 0 ? { errno: -r } : r;
}

/** Blocks until the next event of a start connection. */
export function connNext(fd: number): ConnEvent {
  const out = new Int32Array(3);
  const fds = new Int32Array(HOOK_NAMESPACES.length);
  const step = new Uint8Array(STEP_LEN);
  const r = native().connNext(fd, out, fds, fds.length, step);
  if (r < 0) return { type: 'failed', errno: -r, index: -1, step: 'recvmsg' };
  if (out[0] === 0) return { type: 'exec' };
  if (out[0] === 1) return { type: 'failed', errno: out[1]!, index: out[2]!, step: Buffer.from(step.subarray(0, step.indexOf(0) < 0 ? STEP_LEN : step.indexOf(0))).toString('latin1') };
  return { type: 'hook-point', tag: out[1]!, ns: namespaceFds(out[2]!, [...fds].filter((f) => f >= 0)) };
}

/** Tells the child waiting at a hook point on the start connection to go on. */
export function connGo(fd: number): void {
  const r = native().go(fd);
  if (r < 0) throw new TsruncError('init-failed', `the container process is gone (send: errno ${-r})`);
}

/** Waits (blocking) up to `timeoutMs` for a process to exit and reaps it; null on timeout. */
export function waitTimeout(pidfd: number, timeoutMs: number): { code: number; signal: number | null } | null {
  const r = native().waitTimeout(pidfd, timeoutMs);
  if (r === -ETIMEDOUT) return null;
  if (r < 0) throw new TsruncError('internal', `waitid: errno ${-r}`);
  return { code: r & 0xff, signal: r >> 16 || null };
}
