// The lifecycle's side of cgroups: choose the driver before the init is cloned (a config with limits
// and no possible cgroup fails before anything starts), place the init between spawn and "go", and
// remove the cgroup on delete or on a failed create. Warnings are returned, to be printed only once
// the container exists (a failed create prints its error alone).
import type { Config } from '../spec/schema.js';
import type { StateFile } from '../spec/state-schema.js';
import type { Context } from './context.js';
import { TsruncError } from '../errors.js';
import { chooseDriver, readSelectFacts, openDriver, driverFor, limitsWithoutCgroup, requestedLimits, type Choice } from '../linux/cgroups/select.js';
import { cgroupDir, readCgroupHost, type CgroupHost } from '../linux/cgroups/host.js';
import type { CgroupDriver, CgroupRecord } from '../linux/cgroups/types.js';
import { notOwnCgroupHint } from '../linux/cgroups/hints.js';
import { existsSync } from 'node:fs';
import { hostUserName } from '../linux/host.js';
import { deviceFilterFor } from '../linux/cgroups/device-filter.js';
import { attachDeviceFilter } from '../native/index.js';

/** The driver chosen for a new container, before its init exists. */
export interface CgroupPlan {
  choice: Choice;
  host: CgroupHost;
  limits: string[];
  /** The driver, open (a systemd one holds its bus connection until placement). */
  driver: CgroupDriver;
  /** Where the container's cgroup will be, when known in advance (bound at /sys/fs/cgroup if cgroup2 cannot be mounted). */
  expectedPath: string | null;
}

/** How long an automatically chosen systemd driver may take to answer before the next rule is tried. */
const AUTO_SYSTEMD_DEADLINE_MS = 3000;

function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer in ${ms / 1000} s`)), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}

/** Chooses the driver for a new container; throws when the config has limits and no cgroup is possible. */
export async function planCgroup(ctx: Context, id: string, config: Config, user: string): Promise<CgroupPlan> {
  // The hints name the user whose session and lingering they are about: outside podman's user namespace.
  const hintUser = ctx.caller.inUserNamespace ? (hostUserName(ctx.caller.uid) ?? user) : user;
  const facts = ctx.facts.once('cgroup-select', () => readSelectFacts(ctx.rootless, ctx.caller.uid, hintUser, ctx.env));
  const request = { id, systemdFlag: ctx.systemdCgroup, cgroupsPath: config.linux?.cgroupsPath, resources: config.linux?.resources };
  const place = { id, resources: config.linux?.resources, annotations: config.annotations };
  const limits = requestedLimits(config.linux?.resources);
  let choice = chooseDriver(facts, request);
  // Learnt from an earlier container of this context: the user manager cannot place processes from
  // where we are, which does not change while we run (a Runtime asks the bus once, not per container).
  const unplaceable = ctx.facts.once('systemd-cannot-place', () => ({ reason: null as string | null }));
  if (choice.driver === 'systemd' && !choice.explicit && unplaceable.reason !== null) {
    choice = chooseDriver({ ...facts, busReachable: false }, request);
    if (choice.driver === 'disabled') choice = { driver: 'disabled', reason: unplaceable.reason, hint: notOwnCgroupHint() };
  }
  let driver = await openDriver(choice, facts.host, ctx.buses);
  let prepared: Awaited<ReturnType<CgroupDriver['prepare']>>;
  try {
    // A bus can answer with no working systemd behind it (a bare session dbus-daemon waits 25 s per
    // call to activate one): an automatic choice gives it a few seconds, then moves on. Not when the
    // config has limits and the next rule is no cgroup at all: giving up early would only turn a slow
    // manager (a loaded host, an emulated VM) into an error, so it waits as an explicit choice does.
    const hurry = choice.driver === 'systemd' && !choice.explicit && (limits.length === 0 || chooseDriver({ ...facts, busReachable: false }, request).driver !== 'disabled');
    prepared = hurry ? await withDeadline(driver.prepare(place), AUTO_SYSTEMD_DEADLINE_MS) : await driver.prepare(place);
  } catch (e) {
    driver.close();
    if (choice.driver !== 'systemd' || choice.explicit) throw e;
    const why = e instanceof Error ? e.message : String(e);
    choice = chooseDriver({ ...facts, busReachable: false }, request);
    if (choice.driver === 'disabled') choice = { driver: 'disabled', reason: `systemd does not answer on the bus (${why})`, hint: choice.hint };
    driver = await openDriver(choice, facts.host, ctx.buses);
    prepared = await driver.prepare(place);
  }
  // systemd --user can only move a process out of a cgroup below its own (a real host's system manager
  // does it for login sessions): when it cannot, an automatic choice moves on to the next rule.
  if (choice.driver === 'systemd' && !choice.explicit && prepared.managerCgroup !== undefined) {
    const under = facts.host.ownPath === prepared.managerCgroup || facts.host.ownPath.startsWith(prepared.managerCgroup.replace(/\/$/, '') + '/');
    if (!under && !existsSync('/run/dbus/system_bus_socket')) {
      driver.close();
      choice = chooseDriver({ ...facts, busReachable: false }, request);
      unplaceable.reason = `systemd --user (in ${prepared.managerCgroup}) cannot move processes out of ${facts.host.ownPath}`;
      if (choice.driver === 'disabled') choice = { driver: 'disabled', reason: unplaceable.reason, hint: notOwnCgroupHint() };
      driver = await openDriver(choice, facts.host, ctx.buses);
      prepared = await driver.prepare(place);
    }
  }
  if (choice.driver === 'disabled' && limits.length > 0) throw limitsWithoutCgroup(limits, choice.reason, choice.hint);
  return { choice, host: facts.host, limits, driver, expectedPath: prepared.path };
}

/** Releases what a plan holds (the bus connection); safe to call twice. */
export function closeCgroupPlan(plan: CgroupPlan | null): void {
  plan?.driver.close();
}

/**
 * Puts `pid` in its cgroup. When the driver was picked automatically (not asked for) and the config
 * has no limits, a failure is not fatal: the container runs without a cgroup and a warning says why.
 */
export async function placeCgroup(plan: CgroupPlan, id: string, pid: number, config: Config): Promise<{ record: CgroupRecord; warnings: string[] }> {
  const { choice } = plan;
  if (choice.driver === 'disabled') {
    return { record: { driver: 'disabled' }, warnings: [`container "${id}" runs without a cgroup: ${choice.reason}${choice.hint ? ` (${choice.hint})` : ''}`] };
  }
  const driver = plan.driver;
  try {
    return await driver.place(pid, { id, resources: config.linux?.resources, annotations: config.annotations });
  } catch (e) {
    if (choice.explicit || plan.limits.length > 0 || !(e instanceof TsruncError) || e.code === 'invalid-config') throw e;
    return {
      record: { driver: 'disabled' },
      warnings: [`container "${id}" runs without a cgroup: ${e.message}${e.hint ? ` (${e.hint})` : ''}`],
    };
  } finally {
    driver.close();
  }
}

/**
 * As root, the container's device rules (linux.resources.devices plus the devices runc always allows)
 * become an eBPF filter on its cgroup, attached before its init goes on; `replace` swaps the one there
 * (update). Rootless, the user namespace already keeps host devices out and runc ignores the rules, so
 * nothing is attached. Root without a cgroup cannot enforce rules the config asks for: refused.
 */
export function filterDevices(ctx: Context, record: CgroupRecord, config: Config, replace = false): void {
  if (ctx.rootless) return;
  if (record.driver === 'disabled' || record.path === undefined) {
    if ((config.linux?.resources?.devices ?? []).length === 0) return;
    throw new TsruncError('cgroup', 'config.json: /linux/resources/devices: device rules need a cgroup, and this container has none');
  }
  const insns = deviceFilterFor(config);
  if (insns === null) return;
  attachDeviceFilter(cgroupDir(readCgroupHost(), record.path), insns, replace);
}

/** Removes a container's cgroup (kills what is left in it first). */
export async function releaseCgroup(ctx: Context, record: CgroupRecord | undefined): Promise<void> {
  if (record === undefined || record.driver === 'disabled') return;
  const driver = await driverFor(record, readCgroupHost(), ctx.rootless, ctx.env, ctx.buses);
  try {
    await driver.destroy(record);
  } finally {
    driver.close();
  }
}

/** The directory of a container's cgroup, or a clear error when it has none. */
export function containerCgroupDir(state: StateFile, command: string): string {
  const rec = state.cgroup;
  if (rec === undefined || rec.driver === 'disabled' || rec.path === undefined) {
    throw new TsruncError('cgroup', `${command}: container "${state.id}" has no cgroup (it was created without one)`);
  }
  const host = readCgroupHost();
  if (host.mountPoint === null) throw new TsruncError('cgroup', `${command}: no cgroup2 hierarchy is mounted`);
  return cgroupDir(host, rec.path);
}

let statusHost: CgroupHost | undefined;

/** The directory of a container's cgroup, or null when it has none (for status checks: `list` asks per container). */
export function maybeCgroupDir(state: StateFile): string | null {
  const rec = state.cgroup;
  if (rec === undefined || rec.path === undefined || rec.driver === 'disabled') return null;
  const host = (statusHost ??= readCgroupHost());
  return host.mountPoint === null ? null : cgroupDir(host, rec.path);
}
