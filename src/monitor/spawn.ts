// Spawning a container under a new monitor (helpers/monitor/main.c): the one entry point for a detached
// container, for `run -d` here and for any front end that spawns containers the same way.
import { spawn as spawnProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, constants } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsruncError } from '../errors.js';
import { findLibrary } from '../native/binding.js';
import * as native from '../native/index.js';
import type { SpawnRequest, Spawned } from '../native/plan.js';
import { readProcStat } from '../linux/proc.js';

const MONITOR_NAME = 'tsrunc-monitor';

export interface MonitorOptions {
  /** The container's state directory: the monitor writes exit.json there. */
  stateDir: string;
  /** Absolute path of the log for the container's stdout and stderr (`--output`); without it the
   * container gets the request's stdio (the caller's, as with runc). */
  output?: string;
  /** The runtime's exit step, which the monitor runs once the init ended (poststop hooks, --rm). */
  exitCommand?: string[];
  /** The monitor's environment, which its exit step inherits (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

/** A container spawned under its monitor. Call commit() once it has started, or abandon() when the
 * create failed (the monitor then kills what it spawned and records nothing). */
export interface Monitored {
  spawned: Spawned;
  monitor: { pid: number; startTime: string; output?: string };
  /** The container started with `initPid` as its init (the pid after a double fork). */
  commit(initPid: number): void;
  abandon(): void;
}

/** The Node CLI of this installation (dist/tsrunc.js above this module), for the monitor's exit step:
 * not process.argv[1], which is another program when tsrunc is embedded. */
export function findCli(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    // The Node CLI itself (bin/tsrunc is the C front end, which node cannot run).
    const p = join(dir, 'dist', 'tsrunc.js');
    if (existsSync(p)) return p;
    if (dirname(dir) === dir) throw new TsruncError('internal', `cannot find dist/tsrunc.js above ${fileURLToPath(import.meta.url)}`);
  }
}

/** Where the monitor binary is: beside libtsrunc.so. */
export function findMonitor(): string {
  const lib = findLibrary();
  const path = lib !== undefined ? join(dirname(lib), MONITOR_NAME) : undefined;
  if (path === undefined || !existsSync(path)) {
    throw new TsruncError('host-not-ready', `the monitor of detached containers (helpers/build/${MONITOR_NAME}) is not built`, {
      hint: 'run npm install (needs gcc, make and libc6-dev)',
    });
  }
  return path;
}

/**
 * Starts a monitor in a session of its own (out of the caller's session and process group, stdio on
 * /dev/null) and has it clone the container for `req` (native.spawnVia): the monitor is the init's
 * parent and subreaper. The fds `req` preserves (3…) are handed to the monitor at the same numbers so
 * the container inherits them. Throws what spawnVia throws; the monitor is then gone too.
 */
export function spawnUnderMonitor(req: SpawnRequest, opts: MonitorOptions): Monitored {
  const bin = findMonitor();
  const log = opts.output !== undefined ? openLog(opts.output) : -1;
  let mine = -1;
  let theirs = -1;
  try {
    [mine, theirs] = native.seqpacketPair();
    const preserved = Array.from({ length: req.preserveFds }, (_, k) => 3 + k);
    const args = [...(req.preserveFds > 0 ? ['-p', String(req.preserveFds)] : []), ...(log >= 0 ? ['-l'] : []), opts.stateDir, ...(opts.exitCommand ?? [])];
    const child = spawnProcess(bin, args, {
      detached: true, // setsid: the caller's terminal hanging up or its process group being killed does not reach it
      env: opts.env ?? process.env,
      stdio: ['ignore', 'ignore', 'ignore', ...preserved, theirs, ...(log >= 0 ? [log] : [])],
    });
    child.on('error', () => {}); // an exec failure shows as the connection's EOF below
    child.unref();
    native.closeFd(theirs);
    theirs = -1;
    // With a log the container inherits the monitor's pipes; without, it writes where the caller's
    // stdio goes (or the stdio asked for), as a detached runc container does.
    const { stdio, ...rest } = req;
    const spawned = native.spawnVia(mine, log >= 0 ? rest : { ...rest, stdio: stdio ?? [0, 1, 2] });
    const pid = child.pid ?? 0;
    const stat = readProcStat(pid);
    const sock = mine;
    mine = -1;
    return {
      spawned,
      monitor: { pid, startTime: stat?.startTime ?? '', ...(opts.output !== undefined ? { output: opts.output } : {}) },
      commit: (initPid) => {
        try {
          native.monitorCommit(sock, initPid);
        } finally {
          native.closeFd(sock);
        }
      },
      abandon: () => native.closeFd(sock),
    };
  } finally {
    if (mine >= 0) native.closeFd(mine);
    if (theirs >= 0) native.closeFd(theirs);
    if (log >= 0) closeSync(log);
  }
}

/** The --output log, opened for appending (created 0600: the output is private; close-on-exec, as Node opens everything). */
function openLog(path: string): number {
  try {
    return openSync(path, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT, 0o600);
  } catch (e) {
    throw new TsruncError('invalid-argument', `--output ${path}: ${(e as Error).message}`);
  }
}
