// Small shared pieces of the doctor's checks: verdict constructors, errno names, the user's name.
import type { CheckId, DoctorFacts, Status, Verdict } from './types.js';

export function verdict(id: CheckId, title: string, status: Status, detail: string, fix?: string): Verdict {
  return fix === undefined || status === 'ok' ? { id, title, status, detail } : { id, title, status, detail, fix };
}

/** The name to put in a fix: the login name, else the numeric uid. */
export function who(f: DoctorFacts): string {
  return f.user ?? String(f.uid);
}

const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  12: 'ENOMEM',
  13: 'EACCES',
  22: 'EINVAL',
  28: 'ENOSPC',
  38: 'ENOSYS',
  87: 'EUSERS',
};

/** "EPERM" for -1; errno names without loading the native library. */
export function errnoName(negErrno: number): string {
  return ERRNO_NAMES[-negErrno] ?? `errno ${-negErrno}`;
}

export const ENOSYS = -38;
