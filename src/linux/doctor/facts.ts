// Gathers the doctor's facts from the host: /proc, /sys, /etc, stat()s, the native probes and one
// connection attempt to the bus. Thin on purpose: every judgement lives in the pure checks.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findInPath, isRootless, readCaller, readOr, userName } from '../host.js';
import { readSubIds } from '../subid.js';
import { nextFreeSubId } from './userns.js';
import type { DoctorFacts, MapHelperFacts, Probe } from './types.js';

/** Which groups of facts to read (hints for a failing command need only one or two). */
export type FactGroup = 'userns' | 'session' | 'cgroups' | 'kernel';

const ALL: FactGroup[] = ['userns', 'session', 'cgroups', 'kernel'];

/** Reads the facts of the caller and this host. `env` is the environment to judge (process.env). */
export async function gatherFacts(env: NodeJS.ProcessEnv = process.env, groups: FactGroup[] = ALL): Promise<DoctorFacts> {
  const caller = readCaller();
  const uid = caller.uid;
  const isRoot = !isRootless(caller, 'auto', env);
  const user = userName(uid) ?? (env.USER || undefined);
  const want = (g: FactGroup) => groups.includes(g);
  const probe = want('userns') || want('kernel') ? await import('../../native/probe.js') : undefined;
  const p = (what: Parameters<NonNullable<typeof probe>['probeKernel']>[0]): Probe => (probe === undefined ? null : probe.probeKernel(what));
  // Facts of groups not asked for keep neutral values; only the checks of the asked groups are read.
  const mapHelper = (name: string): MapHelperFacts =>
    want('userns') ? helperFacts(findInPath(name, env.PATH), probe?.fileCapabilities) : { path: null, setuidRoot: false, fileCaps: null };
  const nestedHints = want('userns') || want('kernel') ? readNestedHints() : [];

  const runtimeDir = env.XDG_RUNTIME_DIR;
  const usual = `/run/user/${uid}`;
  const bus = want('session') || want('cgroups') ? await busFacts(isRoot, env) : { kind: isRoot ? 'system' : 'user', address: undefined, socket: null, reachable: false, systemdVersion: null } as const;

  const subuidText = readOr('/etc/subuid', '');
  const subgidText = readOr('/etc/subgid', '');
  return {
    uid,
    user,
    isRoot,
    sysctl: {
      maxUserNamespaces: readNumber('/proc/sys/user/max_user_namespaces'),
      unprivilegedUsernsClone: readNumber('/proc/sys/kernel/unprivileged_userns_clone'),
      apparmorRestrictUserns: readNumber('/proc/sys/kernel/apparmor_restrict_unprivileged_userns'),
    },
    usernsProbe: want('userns') ? (p('userns') ?? unshareProbe()) : null,
    newuidmap: mapHelper('newuidmap'),
    newgidmap: mapHelper('newgidmap'),
    subuid: want('userns') ? readSubIds('uid', user, uid) : [],
    subgid: want('userns') ? readSubIds('gid', user, uid) : [],
    nextFreeSubId: nextFreeSubId(subuidText, subgidText),
    runtimeDir: {
      value: runtimeDir,
      owner: runtimeDir ? ownerOf(runtimeDir) : null,
      mode: runtimeDir ? modeOf(runtimeDir) : null,
      usual: ownerOf(usual) === uid ? usual : null,
    },
    bus,
    systemdBooted: existsSync('/run/systemd/system'),
    lingering: user !== undefined && existsSync(join('/var/lib/systemd/linger', user)),
    cgroup: cgroupFacts(uid),
    kernel: {
      pidfd_open: want('kernel') ? p('pidfd_open') : null,
      clone3: want('kernel') ? p('clone3') : null,
      close_range: want('kernel') ? p('close_range') : null,
      openat2: want('kernel') ? p('openat2') : null,
      mount_setattr: want('kernel') ? p('mount_setattr') : null,
      timeNamespace: existsSync('/proc/self/ns/time'),
    },
    nativeLibrary: (await import('../../native/binding.js')).findLibrary() ?? null,
    libseccomp: want('kernel') ? (probe?.libseccompVersion() ?? null) : null,
    nestedHints,
  };
}

/** Without the native library: util-linux's `unshare --user true` (0, -errno from its message, or null). */
function unshareProbe(): Probe {
  const r = spawnSync('unshare', ['--user', 'true'], { encoding: 'utf8', timeout: 5000, env: { PATH: '/usr/bin:/bin' } });
  if (r.error !== undefined || r.status === null) return null;
  if (r.status === 0) return 0;
  const msg = r.stderr ?? '';
  if (/No space left|ENOSPC/.test(msg)) return -28;
  if (/Invalid argument/.test(msg)) return -22;
  return -1;
}

function readNumber(path: string): number | null {
  const t = readOr(path, '').trim();
  return t === '' || !/^-?\d+$/.test(t) ? null : Number(t);
}

function ownerOf(path: string): number | null {
  try {
    return statSync(path).uid;
  } catch {
    return null;
  }
}

function modeOf(path: string): number | null {
  try {
    return statSync(path).mode;
  } catch {
    return null;
  }
}

function helperFacts(path: string | null, fileCaps: ((p: string) => number | null) | undefined): MapHelperFacts {
  if (path === null) return { path, setuidRoot: false, fileCaps: null };
  const st = statSync(path);
  return { path, setuidRoot: st.uid === 0 && (st.mode & 0o4000) !== 0, fileCaps: fileCaps?.(path) ?? getcapPermitted(path) };
}

/** Without the native library, `getcap` (when installed) says whether a file has cap_setuid/cap_setgid. */
function getcapPermitted(path: string): number | null {
  const r = spawnSync('getcap', [path], { encoding: 'utf8', timeout: 5000, env: { PATH: '/usr/sbin:/sbin:/usr/bin:/bin' } });
  if (r.status !== 0 || typeof r.stdout !== 'string') return null;
  let caps = 0;
  if (/cap_setuid/.test(r.stdout)) caps |= 1 << 7;
  if (/cap_setgid/.test(r.stdout)) caps |= 1 << 6;
  return caps;
}

/** Parses a D-Bus address's first unix transport: the socket path (abstract ones start with "\0"). */
export function busSocketFromAddress(address: string): string | null {
  for (const part of address.split(';')) {
    const [transport, params = ''] = part.split(/:(.*)/s);
    if (transport !== 'unix') continue;
    const kv = Object.fromEntries(params.split(',').map((p) => p.split(/=(.*)/s) as [string, string]));
    if (kv.path !== undefined) return decodeURIComponent(kv.path);
    if (kv.abstract !== undefined) return '\0' + decodeURIComponent(kv.abstract);
  }
  return null;
}

async function busFacts(isRoot: boolean, env: NodeJS.ProcessEnv): Promise<DoctorFacts['bus']> {
  const kind = isRoot ? 'system' : 'user';
  const address = isRoot ? undefined : env.DBUS_SESSION_BUS_ADDRESS;
  const fallback = isRoot ? '/run/dbus/system_bus_socket' : env.XDG_RUNTIME_DIR ? join(env.XDG_RUNTIME_DIR, 'bus') : null;
  const socket = address !== undefined && address !== '' ? busSocketFromAddress(address) : fallback;
  if (socket === null) return { kind, address, socket, reachable: false, error: address ? 'not a unix: address' : undefined, systemdVersion: null };
  const error = await tryConnect(socket);
  const shown = socket.startsWith('\0') ? '@' + socket.slice(1) : socket;
  if (error !== null) {
    const defaultReachable = fallback !== null && fallback !== socket ? (await tryConnect(fallback)) === null : undefined;
    return { kind, address, socket: shown, reachable: false, error, ...(defaultReachable === undefined ? {} : { defaultReachable }), systemdVersion: null };
  }
  return { kind, address, socket: shown, reachable: true, systemdVersion: await systemdVersion(socket) };
}

/** null when something accepts a connection on the unix socket `path`, else the error code. */
function tryConnect(path: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = connect({ path });
    const timer = setTimeout(() => {
      s.destroy();
      resolve('ETIMEDOUT');
    }, 2000);
    s.once('connect', () => {
      clearTimeout(timer);
      s.destroy();
      resolve(null);
    });
    s.once('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(e.code ?? e.message);
    });
  });
}

/** systemd's Version property over the bus at `socket` (dbus-next, loaded only here), or null. */
async function systemdVersion(socket: string): Promise<string | null> {
  let bus: import('dbus-next').MessageBus | undefined;
  try {
    const dbus = await import('dbus-next');
    const address = socket.startsWith('\0') ? `unix:abstract=${socket.slice(1)}` : `unix:path=${socket}`;
    bus = dbus.sessionBus({ busAddress: address });
    const reply = await Promise.race([
      bus.call(new dbus.Message({
        destination: 'org.freedesktop.systemd1',
        path: '/org/freedesktop/systemd1',
        interface: 'org.freedesktop.DBus.Properties',
        member: 'Get',
        signature: 'ss',
        body: ['org.freedesktop.systemd1.Manager', 'Version'],
      })),
      new Promise<null>((resolve) => setTimeout(() => resolve(null), 2000).unref()),
    ]);
    const v = reply?.body?.[0] as { value?: unknown } | undefined;
    return typeof v?.value === 'string' ? v.value : null;
  } catch {
    return null;
  } finally {
    try {
      bus?.disconnect();
    } catch {
      // already gone
    }
  }
}

/** The caller's cgroup2 facts: mode, own path, owner, writability, controllers. */
function cgroupFacts(uid: number): DoctorFacts['cgroup'] {
  const mountinfo = readOr('/proc/self/mountinfo', '');
  const { mode, mountPoint, mountRoot } = parseCgroupMounts(mountinfo);
  const line = readOr('/proc/self/cgroup', '').split('\n').find((l) => l.startsWith('0::'));
  const ownPath = line === undefined ? '/' : line.slice(3).trim() || '/';
  if (mountPoint === null) return { mode, mountPoint, ownPath, ownOwner: null, ownWritable: false, controllers: null, controllersOf: ownPath };
  const dirOf = (path: string) => {
    const rel = mountRoot !== '/' && path.startsWith(mountRoot) ? path.slice(mountRoot.length) || '/' : path;
    return rel === '/' ? mountPoint : join(mountPoint, rel);
  };
  const dir = dirOf(ownPath);
  let ownWritable = false;
  try {
    accessSync(join(dir, 'cgroup.procs'), constants.W_OK);
    ownWritable = ownerOf(dir) === uid || uid === 0;
  } catch {
    // not ours
  }
  const manager = `/user.slice/user-${uid}.slice/user@${uid}.service`;
  const controllersOf = uid !== 0 && existsSync(dirOf(manager)) ? manager : ownPath;
  const text = readOr(join(dirOf(controllersOf), 'cgroup.controllers'), '\u0000');
  const controllers = text === '\u0000' ? null : text.trim().split(/\s+/).filter(Boolean);
  return { mode, mountPoint, ownPath, ownOwner: ownerOf(dir), ownWritable, controllers, controllersOf };
}

/**
 * The cgroup layout of a mountinfo text: unified (cgroup2 only), hybrid (v1 controllers and a cgroup2
 * mount) or legacy (v1 only), with the visible cgroup2 mount and the hierarchy path it shows.
 */
export function parseCgroupMounts(mountinfo: string): { mode: DoctorFacts['cgroup']['mode']; mountPoint: string | null; mountRoot: string } {
  const mounts = mountinfo
    .split('\n')
    .filter((l) => l.includes(' - '))
    .map((l) => {
      const f = l.split(' ');
      return { mountPoint: unescape(f[4] ?? ''), root: unescape(f[3] ?? '/'), fstype: l.slice(l.indexOf(' - ') + 3).split(' ')[0] };
    });
  const hidden = (i: number) => mounts.slice(i + 1).some((m) => m.mountPoint === mounts[i]!.mountPoint || mounts[i]!.mountPoint.startsWith(m.mountPoint + '/'));
  const v2i = mounts.findIndex((m, i) => m.fstype === 'cgroup2' && !hidden(i));
  const v1 = mounts.some((m, i) => m.fstype === 'cgroup' && !hidden(i));
  const v2 = v2i < 0 ? null : mounts[v2i]!;
  const mode = v2 === null ? 'legacy' : v1 ? 'hybrid' : 'unified';
  return { mode, mountPoint: v2?.mountPoint ?? null, mountRoot: v2?.root ?? '/' };
}

function unescape(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Signs that this process runs inside another container. */
function readNestedHints(): string[] {
  const hints: string[] = [];
  const env1 = readOr('/proc/1/environ', '').split('\0').find((e) => e.startsWith('container='));
  if (env1 !== undefined) hints.push(`${env1} in /proc/1/environ`);
  if (existsSync('/.dockerenv')) hints.push('/.dockerenv');
  if (existsSync('/run/.containerenv')) hints.push('/run/.containerenv');
  const cg = readOr('/proc/1/cgroup', '');
  const m = /\/(docker|kubepods|libpod|lxc|containerd|buildkit)[/.-]/.exec(cg);
  if (m) hints.push(`${m[1]} in /proc/1/cgroup`);
  return hints;
}
