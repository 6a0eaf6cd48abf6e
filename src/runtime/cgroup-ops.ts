// The commands that act on a running container through its cgroup: pause/resume (cgroup.freeze), ps,
// kill --all (cgroup.kill), events (statistics, OOM kills) and update (new limits through the driver).
import { readdirSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import type { LinuxResources } from '../spec/schema.js';
import type { StateFile } from '../spec/state-schema.js';
import type { Context } from './context.js';
import { liveStatus } from './live-status.js';
import { assertCanKill } from './status.js';
import { containerCgroupDir } from './cgroup.js';
import { cgroupPids, setFrozen, signalAll, parseKeyed, readCgroupFile, readNumber, cgroupExists } from '../linux/cgroups/files.js';
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
  try {
    return await driver.update(rec, resources);
  } finally {
    driver.close();
  }
}

/** runc's `events` statistics (the fields cgroup v2 has), under runc's JSON names. */
export interface Stats {
  cpu: { usage: { total: number; percpu?: number[]; kernel: number; user: number }; throttling: { periods: number; throttled_periods: number; throttled_time: number } };
  memory: { usage: { usage: number; limit: number; max: number; failcnt: number }; swap_usage: { usage: number; limit: number; max: number; failcnt: number }; cache: number; raw: Record<string, number> };
  pids: { current: number; limit: number };
  blkio: Record<string, never>;
  hugetlb: Record<string, { usage: number; max: number; failcnt: number }>;
}

/** The state and cgroup directory of a container that `events` may watch. */
export function eventsTarget(ctx: Context, id: string): { state: StateFile; dir: string } {
  const state = ctx.store.load(id);
  const status = liveStatus(state);
  if (status === 'stopped') throw new TsruncError('invalid-state', `container "${id}" is stopped`);
  return { state, dir: containerCgroupDir(state, 'events') };
}

/** "max": runc prints the largest uint64 (see statsJson, which writes it exactly). */
const U64_MAX = Number.MAX_SAFE_INTEGER + 1;

/** Reads the statistics of a cgroup directory (what is missing reads 0, as in runc's JSON). */
export function readStats(dir: string): Stats {
  const cpu = parseKeyed(readCgroupFile(dir, 'cpu.stat'));
  const mem = parseKeyed(readCgroupFile(dir, 'memory.stat'));
  const memEvents = parseKeyed(readCgroupFile(dir, 'memory.events'));
  const swapEvents = parseKeyed(readCgroupFile(dir, 'memory.swap.events'));
  const limit = (f: string): number => {
    const v = readNumber(dir, f);
    return v === null || v === undefined ? U64_MAX : v;
  };
  const hugetlb: Stats['hugetlb'] = {};
  for (const size of hugetlbSizes(dir)) {
    hugetlb[size] = { usage: readNumber(dir, `hugetlb.${size}.current`) ?? 0, max: 0, failcnt: parseKeyed(readCgroupFile(dir, `hugetlb.${size}.events`)).max ?? 0 };
  }
  return {
    cpu: {
      usage: { total: (cpu.usage_usec ?? 0) * 1000, kernel: (cpu.system_usec ?? 0) * 1000, user: (cpu.user_usec ?? 0) * 1000 },
      throttling: { periods: cpu.nr_periods ?? 0, throttled_periods: cpu.nr_throttled ?? 0, throttled_time: (cpu.throttled_usec ?? 0) * 1000 },
    },
    memory: {
      usage: { usage: readNumber(dir, 'memory.current') ?? 0, limit: limit('memory.max'), max: readNumber(dir, 'memory.peak') ?? 0, failcnt: memEvents.max ?? 0 },
      swap_usage: { usage: readNumber(dir, 'memory.swap.current') ?? 0, limit: limit('memory.swap.max'), max: readNumber(dir, 'memory.swap.peak') ?? 0, failcnt: swapEvents.fail ?? 0 },
      cache: mem.file ?? 0,
      raw: mem,
    },
    pids: { current: readNumber(dir, 'pids.current') ?? cgroupPids(dir).length, limit: readNumber(dir, 'pids.max') ?? 0 },
    blkio: {},
    hugetlb,
  };
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

/** The stats as runc's JSON: an unlimited value is 18446744073709551615, written exactly. */
export function statsJson(event: { type: string; id: string; data?: Stats }): string {
  return JSON.stringify(event).replace(new RegExp(`:${U64_MAX}(?=[,}])`, 'g'), ':18446744073709551615');
}

/** The oom_kill counter of memory.events (0 when the memory controller is absent). */
export function oomKills(dir: string): number {
  return parseKeyed(readCgroupFile(dir, 'memory.events')).oom_kill ?? 0;
}

/** True while the container's cgroup still exists. */
export function cgroupAlive(dir: string): boolean {
  return cgroupExists(dir);
}
