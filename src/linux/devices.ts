// The devices every container gets (runc's list), and the /dev symlinks it sets up beside them.

/** A device node the plan creates under /dev. */
export interface DeviceSpec {
  path: string;
  type: 'c' | 'b' | 'u' | 'p';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
}

/** runc's default devices: null, zero, full, random, urandom, tty (all 0666, root-owned). */
export const DEFAULT_DEVICES: readonly DeviceSpec[] = [
  { path: '/dev/null', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/zero', type: 'c', major: 1, minor: 5, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/full', type: 'c', major: 1, minor: 7, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/tty', type: 'c', major: 5, minor: 0, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/urandom', type: 'c', major: 1, minor: 9, fileMode: 0o666, uid: 0, gid: 0 },
  { path: '/dev/random', type: 'c', major: 1, minor: 8, fileMode: 0o666, uid: 0, gid: 0 },
];

/** The /dev symlinks runc creates (/dev/core only when the host has /proc/kcore). */
export function devSymlinks(hostHasKcore: boolean): { target: string; linkTo: string }[] {
  const links = [
    { target: '/dev/fd', linkTo: '/proc/self/fd' },
    { target: '/dev/stdin', linkTo: '/proc/self/fd/0' },
    { target: '/dev/stdout', linkTo: '/proc/self/fd/1' },
    { target: '/dev/stderr', linkTo: '/proc/self/fd/2' },
  ];
  if (hostHasKcore) links.push({ target: '/dev/core', linkTo: '/proc/kcore' });
  return links;
}

const S_IFCHR = 0o020000;
const S_IFBLK = 0o060000;
const S_IFIFO = 0o010000;

/** st_mode bits for mknod of a device of the given OCI type. */
export function deviceModeBits(type: DeviceSpec['type'], fileMode: number): number {
  const kind = type === 'b' ? S_IFBLK : type === 'p' ? S_IFIFO : S_IFCHR;
  return kind | (fileMode & 0o7777);
}
