// Subordinate ID ranges (/etc/subuid, /etc/subgid, or getsubids for hosts whose ranges come from NSS)
// and the mappings a caller may ask the setuid helpers for.
import { spawnSync } from 'node:child_process';
import { readOr } from './host.js';
import type { IdMapping } from './id-maps.js';

export interface IdRange {
  start: number;
  count: number;
}

/** The ranges of a user in /etc/subuid-style text, matched by name or by numeric uid. */
export function parseSubIdFile(text: string, name: string | undefined, uid: number): IdRange[] {
  const out: IdRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [owner, start, count] = line.split(':');
    if (owner !== String(uid) && (name === undefined || owner !== name)) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) out.push({ start: s, count: c });
  }
  return out;
}

/** getsubids prints "0: alice 100000 65536" per range. */
export function parseGetsubids(text: string): IdRange[] {
  const out: IdRange[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*\d+:\s+\S+\s+(\d+)\s+(\d+)\s*$/.exec(line);
    if (m) out.push({ start: Number(m[1]), count: Number(m[2]) });
  }
  return out;
}

/** The caller's subordinate ranges: /etc/sub?id first, then getsubids when the file has none. */
export function readSubIds(kind: 'uid' | 'gid', name: string | undefined, uid: number): IdRange[] {
  const fromFile = parseSubIdFile(readOr(kind === 'uid' ? '/etc/subuid' : '/etc/subgid', ''), name, uid);
  if (fromFile.length > 0 || name === undefined) return fromFile;
  const r = spawnSync('getsubids', kind === 'gid' ? ['-g', name] : [name], { encoding: 'utf8', timeout: 5000 });
  return r.status === 0 ? parseGetsubids(r.stdout) : [];
}

/** Container 0 → the caller, then 1… → each subordinate range in turn (what crun maps by default). */
export function autoMappings(ownId: number, ranges: IdRange[]): IdMapping[] {
  const maps: IdMapping[] = [{ containerID: 0, hostID: ownId, size: 1 }];
  let next = 1;
  for (const r of ranges) {
    maps.push({ containerID: next, hostID: r.start, size: r.count });
    next += r.count;
  }
  return maps;
}

/** Why a mapping cannot be used by this caller, or null when it can. */
export function mappingProblem(maps: IdMapping[], ownId: number, ranges: IdRange[]): string | null {
  const allowed: IdRange[] = [{ start: ownId, count: 1 }, ...ranges];
  const describe = (): string => allowed.map((r) => (r.count === 1 ? `${r.start}` : `${r.start}-${r.start + r.count - 1}`)).join(', ');
  for (const [i, m] of maps.entries()) {
    if (m.size < 1) return `${i}: size must be at least 1`;
    if (!allowed.some((r) => m.hostID >= r.start && m.hostID + m.size <= r.start + r.count)) {
      return `${i}: host IDs ${m.hostID}-${m.hostID + m.size - 1} are not yours to map (allowed: ${describe()})`;
    }
  }
  const overlap = findOverlap(maps.map((m) => ({ start: m.containerID, count: m.size })));
  if (overlap !== null) return `${overlap[1]}: container IDs overlap mapping ${overlap[0]}`;
  const hostOverlap = findOverlap(maps.map((m) => ({ start: m.hostID, count: m.size })));
  if (hostOverlap !== null) return `${hostOverlap[1]}: host IDs overlap mapping ${hostOverlap[0]}`;
  return null;
}

/** True when `id` (a container ID) is mapped. */
export function isMapped(maps: IdMapping[], id: number): boolean {
  return maps.some((m) => id >= m.containerID && id < m.containerID + m.size);
}

function findOverlap(ranges: IdRange[]): [number, number] | null {
  for (let i = 0; i < ranges.length; i++) {
    for (let j = i + 1; j < ranges.length; j++) {
      const a = ranges[i]!;
      const b = ranges[j]!;
      if (a.start < b.start + b.count && b.start < a.start + a.count) return [i, j];
    }
  }
  return null;
}
