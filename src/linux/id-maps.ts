// User-namespace ID maps: choosing them (the config's, or automatic ones from the caller's subordinate
// ranges), checking them before anything starts, and writing uid_map/gid_map for the container's init
// — directly for the caller's own ID, through the setuid newuidmap/newgidmap helpers otherwise.
import { writeFileSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import { autoMappings, mappingProblem, isMapped, type IdRange } from './subid.js';
import { findInPath } from './host.js';

export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** How the maps reach the kernel. */
export type MapWriter = 'direct' | 'helpers';

export interface IdMapPlan {
  uid: IdMapping[];
  gid: IdMapping[];
  writer: MapWriter;
  /** setgroups is denied in the namespace (only when a single gid is written directly). */
  denySetgroups: boolean;
  /** A line for the user when the automatic mapping fell back to a single ID. */
  notice?: string;
}

/** What the caller may map, read from the host. */
export interface MapFacts {
  rootless: boolean;
  uid: number;
  gid: number;
  subUids: IdRange[];
  subGids: IdRange[];
  /** Path of newuidmap/newgidmap when both are installed, else null. */
  helpers: { newuidmap: string; newgidmap: string } | null;
}

/** The text form of a map the kernel reads: one "inside outside count" line per range. */
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
 * Chooses and checks the maps of a new user namespace. Pure: the host facts come in `facts`.
 * Throws TsruncError naming the config field and the allowed ranges.
 */
export function planIdMaps(
  config: { uidMappings?: IdMapping[]; gidMappings?: IdMapping[] },
  user: { uid: number; gid: number; additionalGids?: number[] },
  facts: MapFacts,
): IdMapPlan {
  let uid = config.uidMappings ?? [];
  let gid = config.gidMappings ?? [];
  let notice: string | undefined;
  if (uid.length === 0 && gid.length === 0) {
    if (!facts.rootless) {
      throw new TsruncError('invalid-config', 'config.json: /linux/uidMappings: a user namespace needs mappings when running as root');
    }
    const auto = automatic(facts);
    uid = auto.uid;
    gid = auto.gid;
    notice = auto.notice;
  } else if (uid.length === 0 || gid.length === 0) {
    const missing = uid.length === 0 ? 'uidMappings' : 'gidMappings';
    throw new TsruncError('invalid-config', `config.json: /linux/${missing}: required when /linux/${missing === 'uidMappings' ? 'gidMappings' : 'uidMappings'} is set`);
  }
  if (facts.rootless) {
    const pu = mappingProblem(uid, facts.uid, facts.subUids);
    if (pu !== null) throw new TsruncError('invalid-config', `config.json: /linux/uidMappings/${pu}`);
    const pg = mappingProblem(gid, facts.gid, facts.subGids);
    if (pg !== null) throw new TsruncError('invalid-config', `config.json: /linux/gidMappings/${pg}`);
  }
  if (!isMapped(uid, user.uid)) throw new TsruncError('invalid-config', `config.json: /process/user/uid: ${user.uid} is not mapped by /linux/uidMappings`);
  if (!isMapped(gid, user.gid)) throw new TsruncError('invalid-config', `config.json: /process/user/gid: ${user.gid} is not mapped by /linux/gidMappings`);
  (user.additionalGids ?? []).forEach((g, i) => {
    if (!isMapped(gid, g)) throw new TsruncError('invalid-config', `config.json: /process/user/additionalGids/${i}: ${g} is not mapped by /linux/gidMappings`);
  });

  const direct = !facts.rootless || (isOwnIdOnly(uid, facts.uid) && isOwnIdOnly(gid, facts.gid));
  if (!direct && facts.helpers === null) {
    throw new TsruncError('host-not-ready', 'config.json: /linux/uidMappings: mapping more than your own ID needs newuidmap and newgidmap', {
      hint: 'install them: apt-get install uidmap (Debian/Ubuntu), dnf install shadow-utils (Fedora)',
    });
  }
  return { uid, gid, writer: direct ? 'direct' : 'helpers', denySetgroups: direct && facts.rootless, ...(notice !== undefined ? { notice } : {}) };
}

function automatic(facts: MapFacts): { uid: IdMapping[]; gid: IdMapping[]; notice?: string } {
  const single = { uid: ownIdMapping(facts.uid), gid: ownIdMapping(facts.gid) };
  if (facts.helpers === null) {
    return { ...single, notice: 'mapping only your own ID into the container: newuidmap/newgidmap are not installed (apt-get install uidmap for full mappings)' };
  }
  if (facts.subUids.length === 0 || facts.subGids.length === 0) {
    const file = facts.subUids.length === 0 ? '/etc/subuid' : '/etc/subgid';
    return { ...single, notice: `mapping only your own ID into the container: you have no range in ${file} (as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER)` };
  }
  return { uid: autoMappings(facts.uid, facts.subUids), gid: autoMappings(facts.gid, facts.subGids) };
}

/** Finds newuidmap and newgidmap on PATH (both, or null). */
export function findMapHelpers(path: string | undefined): { newuidmap: string; newgidmap: string } | null {
  const newuidmap = findInPath('newuidmap', path);
  const newgidmap = findInPath('newgidmap', path);
  return newuidmap !== null && newgidmap !== null ? { newuidmap, newgidmap } : null;
}

/**
 * Writes the maps of `pid`. Order matters: an unprivileged writer must deny setgroups before the
 * kernel accepts its gid_map; the helpers leave setgroups allowed, so additionalGids keep working.
 */
export async function writeIdMaps(pid: number, plan: IdMapPlan, helpers: MapFacts['helpers']): Promise<void> {
  if (plan.writer === 'helpers' && helpers !== null) {
    // They write different files: both at once (each is a fork of this process plus a setuid exec).
    const [g, u] = await Promise.allSettled([
      runHelper(helpers.newgidmap, pid, plan.gid, '/linux/gidMappings'),
      runHelper(helpers.newuidmap, pid, plan.uid, '/linux/uidMappings'),
    ]);
    if (g.status === 'rejected') throw g.reason;
    if (u.status === 'rejected') throw u.reason;
    return;
  }
  writeIdMapsDirect(pid, plan);
}

/** Writes the maps of `pid` itself (root, or only the caller's own ID). */
export function writeIdMapsDirect(pid: number, plan: IdMapPlan): void {
  const write = (file: string, text: string, pointer: string): void => {
    try {
      writeFileSync(`/proc/${pid}/${file}`, text);
    } catch (e) {
      throw new TsruncError('init-failed', `config.json: ${pointer}: writing ${file}: ${(e as Error).message}`, { cause: e });
    }
  };
  if (plan.denySetgroups) write('setgroups', 'deny', '/linux/gidMappings');
  write('gid_map', formatIdMap(plan.gid), '/linux/gidMappings');
  write('uid_map', formatIdMap(plan.uid), '/linux/uidMappings');
}

async function runHelper(helper: string, pid: number, maps: IdMapping[], pointer: string): Promise<void> {
  const args = [String(pid), ...maps.flatMap((m) => [String(m.containerID), String(m.hostID), String(m.size)])];
  // child_process only here: it is not in Node's start-up snapshot, and most runs need no helper.
  const { execFile } = await import('node:child_process');
  const r = await new Promise<{ error: (Error & { code?: unknown }) | null; stderr: string }>((done) => {
    execFile(helper, args, { encoding: 'utf8', timeout: 10_000 }, (error, _stdout, stderr) => done({ error, stderr }));
  });
  if (r.error === null) return;
  const name = helper.split('/').pop()!;
  const stderr = r.stderr.trim().split('\n').pop() ?? '';
  const why = stderr !== '' ? stderr : typeof r.error.code === 'number' ? `exit status ${r.error.code}` : r.error.message;
  throw new TsruncError('host-not-ready', `config.json: ${pointer}: ${name} failed: ${why}`, { hint: helperHint(helper, why) });
}

/** What to do about a failed newuidmap/newgidmap, from what it said. */
export function helperHint(helper: string, why: string): string {
  if (/not permitted|Permission denied|EPERM/i.test(why) && !/range/i.test(why)) {
    return `${helper} must be setuid root or have file capabilities: chmod u+s ${helper} (or setcap cap_setuid+ep / cap_setgid+ep), and not run inside another user namespace without ranges`;
  }
  if (/range|not allowed|subuid|subgid/i.test(why)) {
    return 'the mapping must lie within your /etc/subuid and /etc/subgid ranges: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER';
  }
  return 'check /etc/subuid, /etc/subgid and that newuidmap/newgidmap are setuid (apt-get install --reinstall uidmap)';
}
