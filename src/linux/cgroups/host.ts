// Which cgroup hierarchies this host has (pure cgroup v2, hybrid v1 + v2 at /sys/fs/cgroup/unified, or
// v1 only), where the cgroup2 hierarchy is mounted, and where the caller sits in it.
import { visibleCgroup2Mount, readOr } from '../host.js';

export type CgroupMode = 'unified' | 'hybrid' | 'legacy';

/** The cgroup facts of this host as seen from the caller's mount and cgroup namespaces. */
export interface CgroupHost {
  mode: CgroupMode;
  /** Where the cgroup2 hierarchy is mounted; null on a v1-only host. */
  mountPoint: string | null;
  /** The path inside the hierarchy that the mount shows at its mount point (usually "/"). */
  mountRoot: string;
  /** The caller's own cgroup2 path ("0::" of /proc/self/cgroup), e.g. "/user.slice/…/session-2.scope". */
  ownPath: string;
}

/** Reads the facts from /proc/self/mountinfo and /proc/self/cgroup. */
export function readCgroupHost(): CgroupHost {
  return parseCgroupHost(readOr('/proc/self/mountinfo', ''), readOr('/proc/self/cgroup', ''));
}

/** The cgroup facts of a mountinfo text and a /proc/self/cgroup text. */
export function parseCgroupHost(mountinfo: string, procSelfCgroup: string): CgroupHost {
  const v2 = visibleCgroup2Mount(mountinfo);
  const v1 = mountinfo.split('\n').some((l) => l.includes(' - ') && l.slice(l.indexOf(' - ') + 3).split(' ')[0] === 'cgroup');
  const line = procSelfCgroup.split('\n').find((l) => l.startsWith('0::'));
  const ownPath = line === undefined ? '/' : line.slice(3).trim() || '/';
  // A v1 mount hidden under a cgroup2 mount over /sys/fs/cgroup does not make the host hybrid for us.
  const mode: CgroupMode = v2 === null ? 'legacy' : v1 && v2.mountPoint !== '/sys/fs/cgroup' ? 'hybrid' : 'unified';
  return { mode, mountPoint: v2?.mountPoint ?? null, mountRoot: v2?.root ?? '/', ownPath };
}

/**
 * The controllers bound to a cgroup v1 hierarchy in a mountinfo text (its super options: "rw,memory"
 * → memory; "name=systemd" is no controller). The kernel gives cgroup2 only the controllers v1 does not use.
 */
export function v1Controllers(mountinfo: string): string[] {
  const out = new Set<string>();
  for (const l of mountinfo.split('\n')) {
    const i = l.indexOf(' - ');
    if (i < 0) continue;
    const [fstype, , superOpts = ''] = l.slice(i + 3).split(' ');
    if (fstype !== 'cgroup') continue;
    for (const o of superOpts.split(',')) if (/^[a-z_]+$/.test(o) && !['rw', 'ro', 'xattr', 'noprefix'].includes(o)) out.add(o);
  }
  return [...out];
}

/** The directory of cgroup `path` (a hierarchy path such as "/a/b") under the cgroup2 mount. */
export function cgroupDir(host: CgroupHost, path: string): string {
  if (host.mountPoint === null) throw new Error('no cgroup2 hierarchy');
  const root = host.mountRoot === '/' ? '' : host.mountRoot;
  let rel = path;
  if (root !== '' && (path === root || path.startsWith(root + '/'))) rel = path.slice(root.length);
  rel = rel === '' ? '/' : rel;
  return rel === '/' ? host.mountPoint : host.mountPoint.replace(/\/$/, '') + rel;
}

/** The parent of a hierarchy path ("/" stays "/"). */
export function parentPath(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Joins hierarchy paths, normalising slashes and refusing "..". */
export function joinPath(...parts: string[]): string {
  const segs = parts.join('/').split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) throw new Error('".." in a cgroup path');
  return '/' + segs.join('/');
}
