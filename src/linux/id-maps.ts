// User-namespace ID maps: what the container maps, and writing uid_map/gid_map for its init.
import { writeFileSync } from 'node:fs';
import { TsruncError } from '../errors.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The kernel's text form of a map: one "inside outside count" line per range. */
export function formatIdMap(maps: IdMapping[]): string {
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/** Container 0 → the caller: the mapping an unprivileged user may always write. */
export function ownIdMapping(id: number): IdMapping[] {
  return [{ containerID: 0, hostID: id, size: 1 }];
}

/** True when `maps` maps exactly the caller's own ID, which needs no helper. */
export function isOwnIdOnly(maps: IdMapping[], id: number): boolean {
  return maps.length === 1 && maps[0]!.size === 1 && maps[0]!.hostID === id;
}

/**
 * Writes the maps of `pid` directly. Order matters: an unprivileged writer must deny setgroups
 * before the kernel accepts its gid_map.
 */
export function writeIdMapsDirect(pid: number, uidMaps: IdMapping[], gidMaps: IdMapping[], denySetgroups: boolean): void {
  const write = (file: string, text: string, pointer: string): void => {
    try {
      writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e) {
      throw new TsruncError('init-failed', `config.json: ${pointer}: writing ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  if (denySetgroups) write('setgroups', 'deny', '/linux/gidMappings');
  write('gid_map', formatIdMap(gidMaps), '/linux/gidMappings');
  write('uid_map', formatIdMap(uidMaps), '/linux/uidMappings');
}
