// Reading files of the container's rootfs from the host (its /etc/passwd and /etc/group) without
// letting a symlink in the image lead to a host file: symlinks are resolved as if rootfs were "/".
import { lstatSync, readlinkSync, readFileSync } from 'node:fs';
import { posix } from 'node:path';

const MAX_LINKS = 40;

/** Resolves `path` (absolute in the container) to a host path inside `rootfs`, or null if it is missing. */
export function resolveInRoot(rootfs: string, path: string): string | null {
  const todo = path.split('/').filter((c) => c !== '' && c !== '.');
  const done: string[] = [];
  let links = 0;
  while (todo.length > 0) {
    const c = todo.shift()!;
    if (c === '..') {
      done.pop(); // ".." at the root stays at the root
      continue;
    }
    const host = posix.join(rootfs, ...done, c);
    let st;
    try {
      st = lstatSync(host);
    } catch {
      return null;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return null;
      const target = readlinkSync(host);
      if (target.startsWith('/')) done.length = 0;
      todo.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
      continue;
    }
    done.push(c);
  }
  return posix.join(rootfs, ...done);
}

/** Reads a small text file of the rootfs, or '' when it is missing or not a regular file. */
export function readRootfsFile(rootfs: string, path: string): string {
  const host = resolveInRoot(rootfs, path);
  if (host === null) return '';
  try {
    if (!lstatSync(host).isFile()) return '';
    return readFileSync(host, 'utf8');
  } catch {
    return '';
  }
}

/**
 * HOME of `uid` from the container's /etc/passwd ("/" when the user is not listed). No supplementary
 * groups come from /etc/group: runc looks the user up as "uid:gid", and with an explicit group its
 * lookup adds none, so the groups are exactly process.user.additionalGids.
 */
export function lookupExecUser(passwd: string, uid: number): { home: string } {
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f.length < 7 || Number(f[2]) !== uid || f[2] === '') continue;
    return { home: f[5] || '/' };
  }
  return { home: '/' };
}
