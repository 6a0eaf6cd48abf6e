// RLIMIT_* names (as the OCI config spells them) and the resource numbers of setrlimit(2)/prlimit(2).
import { TsruncError } from '../errors.js';

/** Resource numbers by name: the asm-generic values (x86, arm, arm64, riscv, ppc, s390; not mips/sparc/alpha). */
export const RLIMITS = {
  RLIMIT_CPU: 0,
  RLIMIT_FSIZE: 1,
  RLIMIT_DATA: 2,
  RLIMIT_STACK: 3,
  RLIMIT_CORE: 4,
  RLIMIT_RSS: 5,
  RLIMIT_NPROC: 6,
  RLIMIT_NOFILE: 7,
  RLIMIT_MEMLOCK: 8,
  RLIMIT_AS: 9,
  RLIMIT_LOCKS: 10,
  RLIMIT_SIGPENDING: 11,
  RLIMIT_MSGQUEUE: 12,
  RLIMIT_NICE: 13,
  RLIMIT_RTPRIO: 14,
  RLIMIT_RTTIME: 15,
} as const;

export type RlimitName = keyof typeof RLIMITS;

/** "No limit": RLIM_INFINITY as the kernel's u64. */
export const RLIM_INFINITY = (1n << 64n) - 1n;

/** True when `name` is a known RLIMIT_* name. */
export function isRlimitName(name: string): name is RlimitName {
  return Object.hasOwn(RLIMITS, name);
}

/** The resource number of an RLIMIT_* name; TsruncError 'invalid-config' for an unknown one. */
export function rlimitNumber(name: string): number {
  if (!isRlimitName(name)) throw new TsruncError('invalid-config', `unknown rlimit ${JSON.stringify(name)}`);
  return RLIMITS[name];
}

/** The RLIMIT_* name of a resource number, or undefined. */
export function rlimitName(resource: number): RlimitName | undefined {
  return (Object.keys(RLIMITS) as RlimitName[]).find((k) => RLIMITS[k] === resource);
}
