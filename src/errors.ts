// The one error type of tsrunc: a small set of codes, each carrying its cause, printed once by cli/main.

/** What kind of failure; the CLI maps every code to exit status 1, as runc does. */
export type ErrorCode =
  | 'not-found'
  | 'exists'
  | 'invalid-state'
  | 'invalid-config'
  | 'invalid-argument'
  | 'host-not-ready'
  | 'init-failed'
  | 'cgroup'
  | 'not-supported'
  | 'internal';

/** A failure with a code, a one-line message, and optionally a hint that tells the user what to do. */
export class TsruncError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  /** The exit status when not runc's usual 1 (`exec` fails with 255, as runc's does). */
  readonly exitCode?: number;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; hint?: string; exitCode?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsruncError';
    this.code = code;
    this.hint = options.hint;
    if (options.exitCode !== undefined) this.exitCode = options.exitCode;
  }
}

/** True when `e` is a TsruncError, optionally of one of the given codes. */
export function isTsruncError(e: unknown, ...codes: ErrorCode[]): e is TsruncError {
  return e instanceof TsruncError && (codes.length === 0 || codes.includes(e.code));
}

/** The errno name of a Node system error (ENOENT…), or undefined. */
export function errnoCode(e: unknown): string | undefined {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return undefined;
}
