// The cgroup v2 files of one cgroup directory: what every driver does the same way (move a pid, write
// limits, enable controllers, freeze, kill, list pids, read statistics, remove). Touches the system.
import { readFileSync, writeFileSync, readdirSync, rmdirSync, accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError, errnoCode } from '../../errors.js';
import type { CgroupHost } from './host.js';
import { cgroupDir, parentPath, v1Controllers } from './host.js';
import { controllerOf, controllersNeeded, type CgroupFileWrite } from './resources.js';
import { notDelegatedHint, procsEaccesHint, v1HeldHint } from './hints.js';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The controllers listed in a cgroup's cgroup.controllers (available to it). */
export function availableControllers(dir: string): string[] {
  return (read(join(dir, 'cgroup.controllers')) ?? '').trim().split(/\s+/).filter((c) => c !== '');
}

/** True when the caller may create cgroups in `dir` and move processes through it. */
export function isWritableCgroup(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Writes `pid` to `dir`/cgroup.procs; EACCES comes with the hint. */
export function moveProcess(dir: string, pid: number): void {
  try {
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  } catch (e) {
    const code = errnoCode(e);
    throw new TsruncError('cgroup', `cannot move the container into ${dir}: cgroup.procs: ${code === 'EACCES' ? 'Permission denied' : (e as Error).message}`, {
      cause: e,
      hint: code === 'EACCES' || code === 'EPERM' ? procsEaccesHint() : undefined,
    });
  }
}

/**
 * Enables `controllers` in cgroup.subtree_control of every ancestor of `path` (from the hierarchy's
 * root down to its parent) that we may write, and only those each one offers. Ancestors we do not own
 * are skipped: whoever delegated the subtree enabled what they meant to give.
 */
export function enableControllers(host: CgroupHost, path: string, controllers: string[]): void {
  if (controllers.length === 0) return;
  const chain: string[] = [];
  for (let p = parentPath(path); ; p = parentPath(p)) {
    chain.unshift(p);
    if (p === '/') break;
  }
  for (const p of chain) {
    const dir = cgroupDir(host, p);
    const offered = availableControllers(dir);
    const enabled = (read(join(dir, 'cgroup.subtree_control')) ?? '').trim().split(/\s+/);
    const missing = controllers.filter((c) => offered.includes(c) && !enabled.includes(c));
    if (missing.length === 0) continue;
    try {
      writeFileSync(join(dir, 'cgroup.subtree_control'), missing.map((c) => '+' + c).join(' '));
    } catch (e) {
      const code = errnoCode(e);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') continue;
      if (code === 'EBUSY') {
        throw new TsruncError('cgroup', `cannot enable ${missing.join(', ')} in ${dir}: it holds processes itself (cgroup v2 allows controllers only where no process sits)`, {
          cause: e,
          hint: 'run tsrunc from a leaf cgroup of its own: systemd-run --user --scope -p Delegate=yes tsrunc …',
        });
      }
      throw new TsruncError('cgroup', `cannot enable ${missing.join(', ')} in ${dir}: ${(e as Error).message}`, { cause: e });
    }
  }
}

/**
 * Writes the limits into `dir`. A limit whose controller this cgroup does not have is not written:
 * the result names those controllers (hybrid hosts keep them in cgroup v1; undelegated ones) so the
 * caller can say so. Any other failure is an error naming the config field.
 */
export function writeLimits(dir: string, writes: CgroupFileWrite[]): { unavailable: string[] } {
  const have = availableControllers(dir);
  const unavailable = controllersNeeded(writes).filter((c) => !have.includes(c));
  for (const w of writes) {
    const c = controllerOf(w.file);
    if (c !== null && unavailable.includes(c)) continue;
    try {
      writeFileSync(join(dir, w.file), w.value);
    } catch (e) {
      const code = errnoCode(e);
      const why = code === 'ENOENT' ? 'no such cgroup file on this kernel' : code === 'EINVAL' ? 'the kernel refused the value' : (e as Error).message;
      throw new TsruncError('cgroup', `config.json: ${w.pointer}: ${w.file} = "${w.value}": ${why}`, { cause: e });
    }
  }
  return { unavailable };
}

/**
 * The warning for limits whose controllers are missing (null when none are). A controller a cgroup v1
 * hierarchy holds (a hybrid host) cannot be delegated: the hint says so instead of how to delegate.
 */
export function unavailableWarning(unavailable: string[], dir: string, inV1: readonly string[] = v1Controllers(read('/proc/self/mountinfo') ?? '')): string | null {
  if (unavailable.length === 0) return null;
  const v1 = unavailable.filter((c) => inV1.includes(c));
  const other = unavailable.filter((c) => !inV1.includes(c));
  const hints = [
    ...(v1.length > 0 ? [`${v1.join(', ')}: ${v1HeldHint()}`] : []),
    ...(other.length > 0 ? [notDelegatedHint(other)] : []),
  ];
  return `cgroup controllers ${unavailable.join(', ')} are not available in ${dir}: those limits are not enforced (${hints.join('; ')})`;
}

/** Every pid in the cgroup and its descendants. */
export function cgroupPids(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string) => {
    for (const l of (read(join(d, 'cgroup.procs')) ?? '').split('\n')) if (l.trim() !== '') out.push(Number(l));
    let entries: string[] = [];
    try {
      entries = readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      // vanished
    }
    for (const e of entries) walk(join(d, e));
  };
  walk(dir);
  return out;
}

/** A key of cgroup.events ("populated", "frozen"), or null when the file cannot be read. */
export function cgroupEvent(dir: string, key: string): string | null {
  const text = read(join(dir, 'cgroup.events'));
  if (text === null) return null;
  const line = text.split('\n').find((l) => l.startsWith(key + ' '));
  return line === undefined ? null : line.slice(key.length + 1).trim();
}

/** True when the cgroup exists and cgroup.freeze is 1. */
export function isFrozen(dir: string): boolean {
  return (read(join(dir, 'cgroup.freeze')) ?? '0').trim() === '1';
}

/** Freezes (or thaws) the cgroup and waits until cgroup.events says it is (up to `timeoutMs`). */
export async function setFrozen(dir: string, frozen: boolean, timeoutMs = 5000): Promise<void> {
  try {
    writeFileSync(join(dir, 'cgroup.freeze'), frozen ? '1' : '0');
  } catch (e) {
    throw new TsruncError('cgroup', `cannot ${frozen ? 'freeze' : 'thaw'} ${dir}: cgroup.freeze: ${(e as Error).message}`, { cause: e });
  }
  const want = frozen ? '1' : '0';
  for (let waited = 0; ; waited += 5) {
    if (cgroupEvent(dir, 'frozen') === want) return;
    if (waited >= timeoutMs) throw new TsruncError('cgroup', `${dir} did not become ${frozen ? 'frozen' : 'thawed'} in ${timeoutMs} ms`);
    await sleep(5);
  }
}

/** Sends `signal` to every process of the cgroup: cgroup.kill for SIGKILL where the kernel has it. */
export function signalAll(dir: string, signal: number): void {
  if (signal === 9) {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      return;
    } catch (e) {
      // ENODEV: the cgroup was removed as we wrote (systemd drops an emptied scope): nothing is left to kill.
      if (errnoCode(e) === 'ENODEV') return;
      if (errnoCode(e) !== 'ENOENT') throw new TsruncError('cgroup', `cannot kill ${dir}: cgroup.kill: ${(e as Error).message}`, { cause: e });
    }
  }
  for (const pid of cgroupPids(dir)) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
}

/** Kills whatever is left in the cgroup and waits until it is empty (up to `timeoutMs`). */
export async function emptyCgroup(dir: string, timeoutMs = 5000): Promise<void> {
  if (read(join(dir, 'cgroup.procs')) === null) return;
  for (let waited = 0; ; waited += 5) {
    const populated = cgroupEvent(dir, 'populated');
    if (populated === null || populated === '0') return;
    if (waited === 0) {
      // a frozen cgroup still dies of SIGKILL, but thaw it so nothing lingers half-stopped
      if (isFrozen(dir)) writeFileSync(join(dir, 'cgroup.freeze'), '0');
    }
    if (waited % 100 === 0) signalAll(dir, 9);
    if (waited >= timeoutMs) throw new TsruncError('cgroup', `${dir}: processes left after SIGKILL`);
    await sleep(5);
  }
}

/** Removes the cgroup directory and its sub-cgroups (deepest first); a missing one is fine. */
export function removeCgroupTree(dir: string): void {
  let entries: string[];
  try {
    entries = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch (e) {
    if (errnoCode(e) === 'ENOENT') return;
    throw e;
  }
  for (const e of entries) removeCgroupTree(join(dir, e));
  try {
    rmdirSync(dir);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw new TsruncError('cgroup', `cannot remove ${dir}: ${(e as Error).message}`, { cause: e });
  }
}

/** True when `dir` is an existing directory. */
export function cgroupExists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** Reads a cgroup file's text, or null. */
export function readCgroupFile(dir: string, file: string): string | null {
  return read(join(dir, file));
}
