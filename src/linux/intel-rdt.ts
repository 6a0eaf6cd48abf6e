// linux.intelRdt: the container's resctrl group (Intel RDT / AMD QoS), made as runc makes it — a
// directory under the resctrl mount named by closID (shared, possibly made by someone else) or by the
// container id (its own), its `schemata` written, the init's pid put in its `tasks`; the parent does it
// before the init goes on, and `delete` removes the group only when it was the container's own.
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError } from '../errors.js';
import type { Config } from '../spec/schema.js';

type IntelRdt = NonNullable<NonNullable<Config['linux']>['intelRdt']>;

/** What the resctrl filesystem of this host offers. */
export interface ResctrlHost {
  /** Where resctrl is mounted (usually /sys/fs/resctrl). */
  root: string;
  /** L3 cache allocation (CAT): info/L3 exists. */
  l3: boolean;
  /** Memory bandwidth allocation (MBA): info/MB exists. */
  mb: boolean;
}

/** The group to make or join, and what to write into it. */
export interface RdtPlan {
  dir: string;
  /** The schemata file's new content (one line per resource), or null to leave it. */
  schemata: string | null;
  /** The group is the container's own (no closID): `delete` removes it. runc leaves a closID group alone. */
  remove: boolean;
}

/** The resctrl mount point from /proc/self/mountinfo text, or null (field 5 is the mount point; the type follows " - "). */
export function resctrlMount(mountinfo: string): string | null {
  for (const line of mountinfo.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0 || line.slice(sep + 3).split(' ')[0] !== 'resctrl') continue;
    const mountPoint = line.slice(0, sep).split(' ')[4];
    if (mountPoint !== undefined) return mountPoint.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  }
  return null;
}

/**
 * The plan for linux.intelRdt of container `id` on `host` (null: no resctrl mounted). Pure. Throws
 * TsruncError naming the field: no resctrl, a schema for an allocation the host lacks (runc's
 * validator), or the monitoring switches tsrunc does not implement.
 */
export function rdtPlan(rdt: IntelRdt & { schemata?: string[] }, id: string, host: ResctrlHost | null): RdtPlan {
  const at = 'config.json: /linux/intelRdt';
  if (host === null) {
    throw new TsruncError('host-not-ready', `${at}: this host has no resctrl filesystem (Intel RDT / AMD QoS) mounted at /sys/fs/resctrl`, {
      hint: 'remove linux.intelRdt, or mount it: mount -t resctrl resctrl /sys/fs/resctrl',
    });
  }
  if (rdt.l3CacheSchema !== undefined && rdt.l3CacheSchema !== '' && !host.l3) {
    throw new TsruncError('host-not-ready', `${at}/l3CacheSchema: this host's resctrl has no L3 cache allocation (CAT): ${join(host.root, 'info/L3')} is missing`);
  }
  if (rdt.memBwSchema !== undefined && rdt.memBwSchema !== '' && !host.mb) {
    throw new TsruncError('host-not-ready', `${at}/memBwSchema: this host's resctrl has no memory bandwidth allocation (MBA): ${join(host.root, 'info/MB')} is missing`);
  }
  for (const f of ['enableCMT', 'enableMBM'] as const) {
    if (rdt[f] === true) throw new TsruncError('not-supported', `${at}/${f}: resctrl monitoring is not supported by tsrunc yet`);
  }
  const lines = [rdt.l3CacheSchema, rdt.memBwSchema, ...(rdt.schemata ?? [])].filter((l): l is string => l !== undefined && l !== '');
  lines.forEach((l, i) => {
    if (/[\n\0]/.test(l)) throw new TsruncError('invalid-config', `${at}: schema line ${i + 1} ${JSON.stringify(l)} holds a newline or NUL`);
  });
  const closID = rdt.closID ?? '';
  return {
    dir: join(host.root, closID !== '' ? closID : id),
    schemata: lines.length > 0 ? `${lines.join('\n')}\n` : null,
    remove: closID === '',
  };
}

/** This host's resctrl, read from /proc/self/mountinfo and its info directory; null without one. */
export function readResctrlHost(): ResctrlHost | null {
  let mountinfo = '';
  try {
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return null;
  }
  const root = resctrlMount(mountinfo);
  if (root === null) return null;
  return { root, l3: existsSync(join(root, 'info/L3')), mb: existsSync(join(root, 'info/MB')) };
}

function ioError(what: string, e: unknown): TsruncError {
  return new TsruncError('init-failed', `config.json: /linux/intelRdt: ${what}: ${(e as Error).message}`, { cause: e });
}

/**
 * Makes (or joins) the group, writes its schemata and puts `pid` in it. Returns what `delete` needs;
 * on failure a group made here is removed again.
 */
export function applyRdt(plan: RdtPlan, pid: number): { dir: string; remove: boolean } {
  let made = false;
  try {
    mkdirSync(plan.dir, { mode: 0o755 });
    made = true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw ioError(`creating ${plan.dir}`, e);
  }
  try {
    if (plan.schemata !== null) {
      try {
        writeFileSync(join(plan.dir, 'schemata'), plan.schemata);
      } catch (e) {
        // The kernel says why in info/last_cmd_status (e.g. "Unknown or unsupported resource name").
        let why = '';
        try {
          why = readFileSync(join(plan.dir, '..', 'info', 'last_cmd_status'), 'utf8').trim();
        } catch {
          // older kernels have no last_cmd_status
        }
        throw ioError(`writing ${join(plan.dir, 'schemata')}${why !== '' ? ` (${why})` : ''}`, e);
      }
    }
    joinRdt(plan, pid);
  } catch (e) {
    if (made) removeRdt({ dir: plan.dir, remove: true });
    throw e;
  }
  // A group that existed before is somebody else's even without a closID: only ours is removed.
  return { dir: plan.dir, remove: plan.remove && made };
}

/** Puts a process of `exec` into the container's group (runc does the same). */
export function joinRdt(record: { dir: string } | undefined, pid: number): void {
  if (record === undefined) return;
  try {
    writeFileSync(join(record.dir, 'tasks'), String(pid));
  } catch (e) {
    throw ioError(`adding pid ${pid} to ${join(record.dir, 'tasks')}`, e);
  }
}

/** Removes the container's own group (its tasks move back to the root group); a missing one is fine. */
export function removeRdt(record: { dir: string; remove: boolean } | undefined): void {
  if (record === undefined || !record.remove) return;
  try {
    rmdirSync(record.dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new TsruncError('internal', `removing the resctrl group ${record.dir}: ${(e as Error).message}`, { cause: e });
  }
}
