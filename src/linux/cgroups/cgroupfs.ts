// The cgroupfs driver: makes the container's cgroup2 directory itself (as root, or in a subtree already
// delegated to the caller), enables the controllers it needs in the ancestors we own, writes the limits
// and moves the init in; on delete it empties and removes the directory.
import { mkdirSync } from 'node:fs';
import { TsruncError, errnoCode } from '../../errors.js';
import type { LinuxResources } from '../../spec/schema.js';
import type { CgroupDriver, CgroupRecord, Placement, PlaceRequest } from './types.js';
import { cgroupDir, parentPath, type CgroupHost } from './host.js';
import { toCgroupFiles, controllersNeeded } from './resources.js';
import { enableControllers, writeLimits, moveProcess, emptyCgroup, removeCgroupTree, unavailableWarning, cgroupExists, cgroupPids } from './files.js';
import { procsEaccesHint } from './hints.js';

/** Warnings for settings cgroup v2 has no file for. */
export function ignoredWarning(ignored: string[]): string | null {
  if (ignored.length === 0) return null;
  return `linux.resources: ${ignored.join(', ')} ${ignored.length === 1 ? 'has' : 'have'} no cgroup v2 equivalent (ignored)`;
}

export class CgroupfsDriver implements CgroupDriver {
  readonly name = 'cgroupfs' as const;

  /** `path`: the container's cgroup in the hierarchy (used by place; records carry their own). */
  constructor(
    private readonly host: CgroupHost,
    private readonly path: string,
  ) {}

  async prepare(): Promise<{ path: string }> {
    return { path: this.path };
  }

  async place(pid: number, req: PlaceRequest): Promise<Placement> {
    const { writes, ignored } = filesFor(req.resources);
    const dir = cgroupDir(this.host, this.path);
    const warnings: string[] = [];
    const created = this.makeDirs();
    try {
      enableControllers(this.host, this.path, controllersNeeded(writes));
      const { unavailable } = writeLimits(dir, writes);
      const w = unavailableWarning(unavailable, dir);
      if (w !== null) warnings.push(w);
      moveProcess(dir, pid);
    } catch (e) {
      for (const d of created.reverse()) {
        try {
          removeCgroupTree(d);
        } catch {
          // best effort; the first error is what matters
        }
      }
      throw e;
    }
    const iw = ignoredWarning(ignored);
    if (iw !== null) warnings.push(iw);
    return { record: { driver: 'cgroupfs', path: this.path }, warnings };
  }

  /** mkdir -p of the container's cgroup; returns the directories it made, outermost first. */
  private makeDirs(): string[] {
    const dir = cgroupDir(this.host, this.path);
    if (cgroupExists(dir) && cgroupPids(dir).length > 0) {
      throw new TsruncError('cgroup', `cgroup ${dir} already exists and holds processes`);
    }
    const missing: string[] = [];
    for (let p = this.path; p !== '/' && !cgroupExists(cgroupDir(this.host, p)); p = parentPath(p)) missing.unshift(cgroupDir(this.host, p));
    for (const d of missing) {
      try {
        mkdirSync(d);
      } catch (e) {
        const code = errnoCode(e);
        if (code === 'EEXIST') continue;
        throw new TsruncError('cgroup', `cannot create cgroup ${d}: ${code === 'EACCES' ? 'Permission denied' : (e as Error).message}`, {
          cause: e,
          hint: code === 'EACCES' || code === 'EROFS' ? procsEaccesHint() : undefined,
        });
      }
    }
    return missing;
  }

  async update(record: CgroupRecord, resources: LinuxResources): Promise<string[]> {
    const path = record.path ?? this.path;
    const { writes, ignored } = filesFor(resources);
    const dir = cgroupDir(this.host, path);
    enableControllers(this.host, path, controllersNeeded(writes));
    const { unavailable } = writeLimits(dir, writes);
    return [unavailableWarning(unavailable, dir), ignoredWarning(ignored)].filter((w): w is string => w !== null);
  }

  async destroy(record: CgroupRecord): Promise<void> {
    if (record.path === undefined) return;
    const dir = cgroupDir(this.host, record.path);
    await emptyCgroup(dir);
    removeCgroupTree(dir);
  }

  close(): void {}
}

/** The files for `resources`, with conversion errors reported as config errors. */
export function filesFor(resources: LinuxResources | undefined): ReturnType<typeof toCgroupFiles> {
  try {
    return toCgroupFiles(resources);
  } catch (e) {
    throw new TsruncError('invalid-config', `config.json: ${(e as Error).message}`);
  }
}
