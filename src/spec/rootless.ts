// toRootless(): what runc's specconv.ToRootless does to a config so it runs without root (used by
// `tsrunc spec --rootless`). Pure: the input is not modified.
import { posix } from 'node:path';
import type { Config, IDMapping, Linux, Mount } from './schema.js';

/**
 * A copy of `spec` for a container started by an unprivileged user `uid`/`gid`: no network namespace
 * (a rootless user cannot configure one), a user namespace mapping container root to that user,
 * /sys bind-mounted from the host (sysfs cannot be mounted without owning the network namespace), no
 * uid=/gid= mount options (those ids are not mapped), and no cgroup resources. `maps` replaces the
 * single own-ID mappings (tsrunc's `spec --rootless` passes the caller's subordinate ranges).
 */
export function toRootless(spec: Config, ids: { uid: number; gid: number }, maps?: { uid: IDMapping[]; gid: IDMapping[] }): Config {
  const out = structuredClone(spec);
  const namespaces = (out.linux?.namespaces ?? []).filter((n) => n.type !== 'network' && n.type !== 'user');
  namespaces.push({ type: 'user' });
  // Rebuilt key by key so the JSON reads like runc's: the mappings first (as in its Linux struct), the
  // other keys where they were, resources gone.
  const linux: Record<string, unknown> = {
    uidMappings: maps?.uid ?? [{ containerID: 0, hostID: ids.uid, size: 1 }],
    gidMappings: maps?.gid ?? [{ containerID: 0, hostID: ids.gid, size: 1 }],
  };
  for (const [k, v] of Object.entries(out.linux ?? {})) {
    if (k === 'uidMappings' || k === 'gidMappings' || k === 'resources') continue;
    linux[k] = k === 'namespaces' ? namespaces : v;
  }
  linux.namespaces ??= namespaces;
  out.linux = linux as Linux;

  if (out.mounts !== undefined) out.mounts = out.mounts.map(rootlessMount);
  return out;
}

function rootlessMount(m: Mount): Mount {
  if (cleanDestination(m.destination) === '/sys') {
    return { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] };
  }
  if (m.options === undefined) return m;
  const { options, ...rest } = m;
  const kept = options.filter((o) => !o.startsWith('uid=') && !o.startsWith('gid='));
  // Go leaves an empty option list out of the JSON (omitempty); so do we.
  return kept.length > 0 ? { ...m, options: kept } : rest;
}

/** filepath.Clean for an absolute container path. */
function cleanDestination(p: string): string {
  const n = posix.normalize(p);
  return n.length > 1 && n.endsWith('/') ? n.slice(0, -1) : n;
}
