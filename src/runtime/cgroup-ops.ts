// The commands that act on a running container through its cgroup: pause/resume (cgroup.freeze), ps,
// kill --all (cgroup.kill), events (statistics, OOM kills) and update (new limits through the driver).
import { readdirSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import type { LinuxResources } from '../spec/schema.js';
import type { StateFile } from '../spec/state-schema.js';
import type { Context } from './context.js';
import { liveStatus } from './live-status.js';
import { assertCanKill } from './status.js';
import { containerCgroupDir, filterDevices } from './cgroup.js';
import { loadConfig } from '../spec/load.js';
import { cgroupPids, setFrozen, signalAll, readCgroupFile, cgroupExists } from '../linux/cgroups/files.js';
import { runcStats, parseFlatKeyed, type RuncStats } from '../linux/cgroups/stats.js';
import { driverFor } from '../linux/cgroups/select.js';
import { readCgroupHost } from '../linux/cgroups/host.js';

/** Freezes a running container and waits until the kernel reports it frozen. */
export async function pauseContainer(ctx: Context, id: string): Promise<void> {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status !== 'running') throw new TsruncError('invalid-state', `container "${id}" is ${status}: only a running container can be paused`);
  await setFrozen(containerCgroupDir(state, 'pause'), true);
}

/** Thaws a paused container. */
export async function resumeContainer(ctx: Context, id: string): Promise<void> {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status !== 'paused') throw new TsruncError('invalid-state', `container "${id}" is ${status}: only a paused container can be resumed`);
  await setFrozen(containerCgroupDir(state, 'resume'), false);
}

/** The pids of every process in the container's cgroup (host pid namespace). */
export function containerPids(ctx: Context, id: string): number[] {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status === 'stopped') throw new TsruncError('invalid-state', `container "${id}" is stopped`);
  return cgroupPids(containerCgroupDir(state, 'ps'));
}

/** Sends `signal` to every process of the container (kill --all). */
export function killAllContainer(ctx: Context, id: string, signal: number): void {
  const state = ctx.store.load(id);
  assertCanKill(id, liveStatus(state));
  signalAll(containerCgroupDir(state, 'kill --all'), signal);
}

/** Applies new limits through the container's driver; resolves to the warnings to print. */
export async function updateContainer(ctx: Context, id: string, resources: LinuxResources): Promise<string[]> {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status === 'stopped') throw new TsruncError('invalid-state', `container "${id}" is stopped: its limits cannot be changed`);
  const rec = state.cgroup;
  if (rec === undefined || rec.driver === 'disabled') throw new TsruncError('cgroup', `update: container "${id}" has no cgroup (it was created without one)`);
  const driver = await driverFor(rec, readCgroupHost(), ctx.rootless, ctx.env);
  let warnings: string[];
  try {
    warnings = await driver.update(rec, resources);
  } finally {
    driver.close();
  }
  // New device rules replace the filter (containerd's CRI sends the container's whole resources); the
  // devices of its config (the bundle's config.json) stay allowed.
  if (!ctx.rootless && (resources.devices ?? []).length > 0) {
    const config = loadConfig(state.bundle);
    filterDevices(ctx, rec, { ...config, linux: { ...config.linux, resources: { devices: resources.devices } } }, true);
  }
  return warnings;
}

/** The state and cgroup directory of a container that `events` may watch. */
export function eventsTarget(ctx: Context, id: string): { state: StateFile; dir: string } {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status === 'stopped') throw new TsruncError('invalid-state', `container "${id}" is stopped`);
  return { state, dir: containerCgroupDir(state, 'events') };
}

/** The statistics of a cgroup directory, as runc's `events` prints them. */
export function readStats(dir: string): RuncStats {
  return runcStats({ read: (file) => readCgroupFile(dir, file), hugepageSizes: hugetlbSizes(dir), processCount: () => cgroupPids(dir).length });
}

/** The huge page sizes the cgroup accounts ("2MB", "1GB"…), from its hugetlb.<size>.current files. */
function hugetlbSizes(dir: string): string[] {
  try {
    return readdirSync(dir)
      .map((f) => /^hugetlb\.([^.]+)\.current$/.exec(f)?.[1])
      .filter((s): s is string => s !== undefined);
  } catch {
    return [];
  }
}

/** The oom_kill counter of memory.events (0 when the memory controller is absent). */
export function oomKills(dir: string): number {
  return Number(parseFlatKeyed(readCgroupFile(dir, 'memory.events')).get('oom_kill') ?? 0n);
}

/** True while the container's cgroup still exists. */
export function cgroupAlive(dir: string): boolean {
  return cgroupExists(dir);
}
