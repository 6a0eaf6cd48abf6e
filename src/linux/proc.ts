// Reading /proc/<pid>: whether a pid is still the process we started (start time), and its state.

import { readOr } from './host.js';

/** Parsed fields of /proc/<pid>/stat that tsrunc needs. */
export interface ProcStat {
  /** One-letter state: R, S, D, Z, T, t, X, I… */
  state: string;
  /** Field 22: start time in clock ticks since boot; with the pid, it names one process for ever. */
  startTime: string;
}

/** Parses the text of /proc/<pid>/stat; the command name may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | null {
  const close = text.lastIndexOf(')');
  if (close < 0) return null;
  const rest = text.slice(close + 2).split(' ');
  // rest[0] is field 3 (state); field 22 is rest[19].
  const state = rest[0];
  const startTime = rest[19];
  if (state === undefined || startTime === undefined) return null;
  return { state, startTime };
}

/** Reads /proc/<pid>/stat, or null when the process is gone. */
export function readProcStat(pid: number): ProcStat | null {
  if (!Number.isInteger(pid) || pid <= 0) return null;
  return parseProcStat(readOr(`/proc/${pid}/stat`, ''));
}

/**
 * True when `pid` is alive and is still the process that had `startTime` (a reused pid is not);
 * a zombie counts as dead, as runc counts it.
 */
export function isSameLiveProcess(pid: number, startTime: string): boolean {
  const st = readProcStat(pid);
  return st !== null && st.startTime === startTime && st.state !== 'Z' && st.state !== 'X';
}
