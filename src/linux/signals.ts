// Signal names and numbers, and `tsrunc kill`'s argument parsing, accepting exactly what runc 1.1 does.
import { TsruncError } from '../errors.js';

/**
 * The signals runc knows by name (golang.org/x/sys/unix's table for Linux x86/arm): numbers 1-31. No
 * aliases (SIGIOT, SIGPOLL, SIGCLD) and no SIGRTMIN+n names: runc rejects those, realtime signals go by
 * number.
 */
export const SIGNALS = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGSTKFLT: 16,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGSTOP: 19,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGXCPU: 24,
  SIGXFSZ: 25,
  SIGVTALRM: 26,
  SIGPROF: 27,
  SIGWINCH: 28,
  SIGIO: 29,
  SIGPWR: 30,
  SIGSYS: 31,
} as const;

export type SignalName = keyof typeof SIGNALS;

/** SIGRTMAX on Linux: the highest signal number the kernel accepts. */
export const SIGRTMAX = 64;

/** Other names Node may hand us for a received signal (process.on), which runc's table lacks. */
const NODE_ALIASES: Record<string, number> = { SIGIOT: 6, SIGPOLL: 29, SIGCLD: 17, SIGUNUSED: 31 };

/**
 * Parses a signal the way `runc kill` does: a decimal number (Go's Atoi: an optional sign, then
 * digits), or a name in any case with or without the SIG prefix ("KILL", "sigkill", "SIGKILL").
 * Unlike runc, a number outside 0..64 is refused here rather than by the kernel ("invalid argument").
 * Throws TsruncError('invalid-argument', 'invalid signal "X"').
 */
export function parseSignal(raw: string): number {
  if (/^[+-]?[0-9]+$/.test(raw)) {
    const n = Number(raw);
    if (Number.isSafeInteger(n) && n >= 0 && n <= SIGRTMAX) return n;
    throw new TsruncError('invalid-argument', `invalid signal ${JSON.stringify(raw)}`, { hint: `signal numbers go from 0 to ${SIGRTMAX}` });
  }
  let name = raw.toUpperCase();
  if (!name.startsWith('SIG')) name = 'SIG' + name;
  if (Object.hasOwn(SIGNALS, name)) return SIGNALS[name as SignalName];
  throw new TsruncError('invalid-argument', `invalid signal ${JSON.stringify(raw)}`, { hint: 'use a name such as TERM, KILL or HUP, or a number' });
}

/**
 * The number of a signal given by its full name, as Node reports received signals ("SIGTERM").
 * Throws TsruncError('invalid-argument') for an unknown name.
 */
export function signalNumber(name: string): number {
  if (Object.hasOwn(SIGNALS, name)) return SIGNALS[name as SignalName];
  const alias = NODE_ALIASES[name];
  if (alias !== undefined) return alias;
  throw new TsruncError('invalid-argument', `invalid signal ${JSON.stringify(name)}`);
}

/** The name of a signal number ("SIGKILL"), "SIGRTMIN+n" for realtime ones, or undefined. */
export function signalName(n: number): string | undefined {
  for (const [name, num] of Object.entries(SIGNALS)) if (num === n) return name;
  if (Number.isInteger(n) && n >= 34 && n <= SIGRTMAX) return `SIGRTMIN+${n - 34}`;
  return undefined;
}
