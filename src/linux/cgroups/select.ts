// Which cgroup driver a container gets (the rules of issue 5):
//   systemd  when cgroupsPath is in systemd form (slice:prefix:name) or --systemd-cgroup is given, or
//            when rootless and a user bus is reachable;
//   cgroupfs as root, or when the subtree the caller's cgroup sits in is already delegated to it;
//   disabled otherwise — allowed only for a config without limits (one warning), an error naming
//            the limits otherwise. A v1-only host always gets the disabled driver.
// The rules are pure (chooseDriver); readSelectFacts gathers the host facts they need.
import { statSync } from 'node:fs';
import { TsruncError } from '../../errors.js';
import type { LinuxResources } from '../../spec/schema.js';
import type { CgroupDriver, CgroupRecord } from './types.js';
import { cgroupDir, joinPath, parentPath, readCgroupHost, type CgroupHost } from './host.js';
import { isSystemdPath, parseSystemdPath, type SystemdBuses, type UnitName } from './systemd.js';
import { isWritableCgroup } from './files.js';
import { requestedLimits } from './resources.js';
import { CgroupfsDriver } from './cgroupfs.js';
import { DisabledDriver } from './disabled.js';
import { cgroupV1Hint, noUserBusHint, notOwnCgroupHint, wrongRuntimeDirHint } from './hints.js';

/** Host facts the choice depends on. */
export interface SelectFacts {
  host: CgroupHost;
  rootless: boolean;
  uid: number;
  /** The caller's login name (for hints). */
  user: string;
  /** The bus address the systemd driver would use. */
  busAddress: string;
  /** A socket is there (for unix:path= addresses; other kinds are assumed reachable). */
  busReachable: boolean;
  /** XDG_RUNTIME_DIR is set to a directory that is not the caller's (su/sudo leave root's). */
  foreignRuntimeDir: string | null;
  /** The parent of the caller's cgroup is writable by the caller (a delegated subtree). */
  ownSubtreeWritable: boolean;
}

/** What the config and the command line ask for. */
export interface SelectRequest {
  id: string;
  systemdFlag: boolean;
  cgroupsPath: string | undefined;
  resources: LinuxResources | undefined;
}

export type Choice =
  | { driver: 'systemd'; explicit: boolean; unit: UnitName; busAddress: string; userBus: boolean }
  | { driver: 'cgroupfs'; explicit: boolean; path: string }
  | { driver: 'disabled'; reason: string; hint?: string };

/** The bus address: DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus; the system bus as root. */
export function busAddressFor(rootless: boolean, env: NodeJS.ProcessEnv): string {
  if (!rootless) return env.DBUS_SYSTEM_BUS_ADDRESS || 'unix:path=/run/dbus/system_bus_socket';
  if (env.DBUS_SESSION_BUS_ADDRESS) return env.DBUS_SESSION_BUS_ADDRESS;
  return `unix:path=${env.XDG_RUNTIME_DIR || `/run/user/${process.geteuid?.() ?? 0}`}/bus`;
}

/** Reads the facts: mountinfo, /proc/self/cgroup, the bus socket, the runtime directory. */
export function readSelectFacts(rootless: boolean, uid: number, user: string, env: NodeJS.ProcessEnv): SelectFacts {
  const host = readCgroupHost();
  const busAddress = busAddressFor(rootless, env);
  const m = /^unix:path=([^,;]+)/.exec(busAddress);
  const busReachable = m === null ? busAddress !== '' : isSocket(m[1]!);
  let foreignRuntimeDir: string | null = null;
  const rt = env.XDG_RUNTIME_DIR;
  if (rootless && rt) {
    try {
      if (statSync(rt).uid !== uid) foreignRuntimeDir = rt;
    } catch {
      // a missing runtime dir is reported by the state root checks
    }
  }
  const ownSubtreeWritable = host.mountPoint !== null && isWritableCgroup(cgroupDir(host, parentPath(host.ownPath)));
  return { host, rootless, uid, user, busAddress, busReachable, foreignRuntimeDir, ownSubtreeWritable };
}

function isSocket(path: string): boolean {
  try {
    return statSync(path).isSocket();
  } catch {
    return false;
  }
}

/**
 * The cgroupfs path for a cgroupsPath: absolute as given; relative (default: the id) next to the
 * caller's own cgroup, under its parent — the caller's cgroup holds processes, so controllers could
 * not be enabled below it (runc's rule).
 */
export function cgroupfsPath(cgroupsPath: string | undefined, id: string, ownPath: string): string {
  const p = cgroupsPath === undefined || cgroupsPath === '' ? id : cgroupsPath;
  if (p.startsWith('/')) return joinPath(p);
  return joinPath(parentPath(ownPath), p);
}

/** Applies the selection rules. Throws TsruncError for a config error or an impossible request. */
export function chooseDriver(f: SelectFacts, r: SelectRequest): Choice {
  const wantSystemd = r.systemdFlag || isSystemdPath(r.cgroupsPath);
  if (f.host.mode === 'legacy') {
    if (wantSystemd) throw new TsruncError('host-not-ready', 'this host has only cgroup v1: tsrunc manages cgroup v2 only', { hint: cgroupV1Hint() });
    return { driver: 'disabled', reason: 'this host has only cgroup v1 (tsrunc manages cgroup v2 only)', hint: cgroupV1Hint() };
  }
  if (wantSystemd) {
    let unit: UnitName;
    try {
      unit = parseSystemdPath(r.cgroupsPath, r.id);
    } catch (e) {
      throw new TsruncError('invalid-config', `config.json: /linux/cgroupsPath: ${(e as Error).message}`);
    }
    if (!f.busReachable) {
      throw new TsruncError('host-not-ready', `systemd cgroups: no ${f.rootless ? 'user' : 'system'} bus at ${f.busAddress}`, { hint: busHint(f) });
    }
    return { driver: 'systemd', explicit: true, unit, busAddress: f.busAddress, userBus: f.rootless };
  }
  if (!f.rootless) return { driver: 'cgroupfs', explicit: true, path: cgroupfsPath(r.cgroupsPath, r.id, f.host.ownPath) };
  if (f.busReachable && (r.cgroupsPath === undefined || r.cgroupsPath === '')) {
    return { driver: 'systemd', explicit: false, unit: parseSystemdPath(undefined, r.id), busAddress: f.busAddress, userBus: true };
  }
  if (f.ownSubtreeWritable) return { driver: 'cgroupfs', explicit: false, path: cgroupfsPath(r.cgroupsPath, r.id, f.host.ownPath) };
  if (r.cgroupsPath !== undefined && r.cgroupsPath !== '') {
    // An explicit cgroupfs path for a rootless caller: try it, failures are errors.
    return { driver: 'cgroupfs', explicit: true, path: cgroupfsPath(r.cgroupsPath, r.id, f.host.ownPath) };
  }
  return { driver: 'disabled', reason: `no user bus at ${f.busAddress} and the caller's cgroup subtree is not delegated to it`, hint: busHint(f) };
}

function busHint(f: SelectFacts): string {
  if (f.foreignRuntimeDir !== null) return wrongRuntimeDirHint(f.foreignRuntimeDir, f.uid);
  return f.rootless ? noUserBusHint(f.user) : 'start dbus and systemd, or drop --systemd-cgroup';
}

/** The error for a config with limits and no cgroup to enforce them. */
export function limitsWithoutCgroup(limits: string[], reason: string, hint: string | undefined): TsruncError {
  return new TsruncError('host-not-ready', `linux.resources asks for ${limits.join(', ')}, but the container can have no cgroup: ${reason}`, { hint });
}

/** The limits of a config (for the disabled driver's check). */
export { requestedLimits };

// cgroupfs and disabled are small; the systemd module is imported once, when first needed (a dynamic
// import of a loaded module still costs a resolve per call, ~0.1 ms per container).
let systemd: Promise<typeof import('./systemd.js')> | undefined;
function systemdModule(): Promise<typeof import('./systemd.js')> {
  systemd ??= import('./systemd.js');
  return systemd;
}

/** A driver for a choice (systemd is only constructed here; dbus-next loads at its first call). */
export async function openDriver(choice: Choice, host: CgroupHost, buses?: SystemdBuses): Promise<CgroupDriver> {
  switch (choice.driver) {
    case 'systemd': {
      const { SystemdDriver } = await systemdModule();
      return new SystemdDriver(host, choice.busAddress, choice.userBus, choice.unit, buses);
    }
    case 'cgroupfs': {
      return new CgroupfsDriver(host, choice.path);
    }
    case 'disabled': {
      return new DisabledDriver();
    }
  }
}

/** The driver that manages an existing container's cgroup, from its state record. */
export async function driverFor(record: CgroupRecord, host: CgroupHost, rootless: boolean, env: NodeJS.ProcessEnv, buses?: SystemdBuses): Promise<CgroupDriver> {
  switch (record.driver) {
    case 'systemd': {
      const { SystemdDriver } = await systemdModule();
      return new SystemdDriver(host, busAddressFor(rootless, env), rootless, { slice: '', unit: record.unit ?? '' }, buses);
    }
    case 'cgroupfs': {
      return new CgroupfsDriver(host, record.path ?? '/');
    }
    case 'disabled': {
      return new DisabledDriver();
    }
  }
}
