// Facts about the host and the caller that decide how a container is set up: who we are, whether we
// are rootless, where state lives. Read once per command; everything here is cheap synchronous I/O.
import { readFileSync, existsSync, statSync } from 'node:fs';

/** The caller as the kernel sees it. */
export interface Caller {
  uid: number;
  gid: number;
  /** euid 0 in the initial user namespace: real root. */
  isRoot: boolean;
  /** Running inside a user namespace that does not map every ID (podman's, a nested container…). */
  inUserNamespace: boolean;
}

/** Reads the caller's identity (process.geteuid etc.) and whether it sits in a user namespace. */
export function readCaller(): Caller {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  const inUserNamespace = !isFullIdentityMap(readOr('/proc/self/uid_map', '0 0 4294967295'));
  return { uid, gid, isRoot: uid === 0 && !inUserNamespace, inUserNamespace };
}

/** True when a uid_map text is the initial namespace's identity map ("0 0 4294967295"). */
export function isFullIdentityMap(text: string): boolean {
  const lines = text.trim().split('\n').map((l) => l.trim().split(/\s+/));
  return lines.length === 1 && lines[0]?.[0] === '0' && lines[0]?.[1] === '0' && lines[0]?.[2] === '4294967295';
}

/**
 * runc's rule for `--rootless auto`: rootless when euid is not 0, or when euid 0 sits in a user
 * namespace and USER is anything but `root` — unset included: podman runs the runtime as uid 0 in its
 * user namespace through conmon, which passes no USER.
 */
export function isRootless(caller: Caller, mode: 'auto' | 'true' | 'false', env: NodeJS.ProcessEnv): boolean {
  if (mode === 'true') return true;
  if (mode === 'false') return false;
  if (caller.uid !== 0) return true;
  if (!caller.inUserNamespace) return false;
  return env.USER !== 'root';
}

/** The uid `uid` of this user namespace is one level up, from a /proc/self/uid_map text; null when unmapped. */
export function hostUid(uid: number, uidMap: string): number | null {
  for (const line of uidMap.trim().split('\n')) {
    const [inside, outside, count] = line.trim().split(/\s+/).map(Number);
    if (inside === undefined || outside === undefined || count === undefined || [inside, outside, count].some(Number.isNaN)) continue;
    if (uid >= inside && uid < inside + count) return outside + (uid - inside);
  }
  return null;
}

/** The login name of what `uid` of this user namespace is one level up (podman's 0: the user who ran podman). */
export function hostUserName(uid: number): string | undefined {
  const host = hostUid(uid, readOr('/proc/self/uid_map', ''));
  return host === null ? undefined : userName(host);
}

/** The uid a user namespace shows for IDs it does not map (/proc/sys/kernel/overflowuid, 65534). */
export function overflowUid(): number {
  const n = Number(readOr('/proc/sys/kernel/overflowuid', '65534').trim());
  return Number.isInteger(n) && n > 0 ? n : 65534;
}

/** /proc/kcore exists on this host (runc adds the /dev/core symlink only then). */
export function hostHasKcore(): boolean {
  return existsSync('/proc/kcore');
}

/**
 * Where the caller's own cgroup sits in the host's cgroup2 hierarchy (pure cgroup v2, or the
 * `unified` mount of a hybrid host), or null when there is no cgroup2 hierarchy.
 */
export function ownCgroup2Dir(mountinfo: string, procSelfCgroup: string): string | null {
  const mountPoint = cgroup2MountPoint(mountinfo);
  if (mountPoint === null) return null;
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  const rel = line === undefined ? '/' : line.slice(3);
  return rel === '/' ? mountPoint : mountPoint + rel;
}

/**
 * The first cgroup2 mount point in a /proc/self/mountinfo text that no later mount hides (a cgroup2
 * mounted over /sys/fs/cgroup hides the hybrid layout's /sys/fs/cgroup/unified under it).
 */
export function cgroup2MountPoint(mountinfo: string): string | null {
  return visibleCgroup2Mount(mountinfo)?.mountPoint ?? null;
}

/** The first visible cgroup2 mount of a mountinfo text: its mount point and the hierarchy path it shows. */
export function visibleCgroup2Mount(mountinfo: string): { mountPoint: string; root: string } | null {
  const mounts = mountinfo
    .split('\n')
    .filter((l) => l.includes(' - '))
    .map((l) => {
      const f = l.split(' ');
      return { mountPoint: unescapeMountPath(f[4] ?? ''), root: unescapeMountPath(f[3] ?? '/'), fstype: l.slice(l.indexOf(' - ') + 3).split(' ')[0] };
    });
  const covers = (outer: string, inner: string) => outer === inner || outer === '/' || inner.startsWith(outer + '/');
  for (let i = 0; i < mounts.length; i++) {
    const m = mounts[i]!;
    if (m.fstype !== 'cgroup2') continue;
    if (mounts.slice(i + 1).some((later) => covers(later.mountPoint, m.mountPoint))) continue;
    return { mountPoint: m.mountPoint, root: m.root };
  }
  return null;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo. */
export function unescapeMountPath(p: string): string {
  return p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The login name of `uid` from /etc/passwd, or undefined. */
export function userName(uid: number): string | undefined {
  const line = readOr('/etc/passwd', '')
    .split('\n')
    .find((l) => l.split(':')[2] === String(uid));
  return line?.split(':')[0];
}

/** The first regular file called `name` in the directories of `path` (a PATH value), or null. */
export function findInPath(name: string, path: string | undefined): string | null {
  for (const dir of (path ?? '/usr/bin:/bin').split(':')) {
    if (dir === '') continue;
    const p = `${dir}/${name}`;
    try {
      if (statSync(p).isFile()) return p;
    } catch {
      // not here
    }
  }
  return null;
}

/** Reads a small text file, or returns `fallback` when it cannot be read. */
export function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
