// `create`: load and check the bundle, reserve the id, clone the init through the C core, write its
// ID maps, let it build the container up to the exec barrier, and record it as created.
import { realpathSync, statSync, openSync, writeFileSync, renameSync } from 'node:fs';
import { resolve, dirname, join, basename } from 'node:path';
import { TsruncError, errnoCode } from '../errors.js';
import { loadConfig } from '../spec/load.js';
import { validateConfig, unsupportedFields } from '../spec/validate.js';
import type { Config } from '../spec/schema.js';
import type { StateFile } from '../spec/state-schema.js';
import { buildPlan, type Plan } from '../linux/build-plan.js';
import { readOr } from '../linux/host.js';
import { readRootfsFile, lookupExecUser } from '../linux/rootfs-files.js';
import { planIdMaps, writeIdMaps, type IdMapPlan, type MapFacts } from '../linux/id-maps.js';
import { readSubIds } from '../linux/subid.js';
import { readProcStat } from '../linux/proc.js';
import { compileSeccomp, type CompiledSeccomp } from '../linux/seccomp.js';
import { joinsHostNetwork } from '../linux/lsm.js';
import { applyRdt, rdtPlan, readResctrlHost, removeRdt } from '../linux/intel-rdt.js';
import * as native from '../native/index.js';
import type { SpawnRequest, Spawned } from '../native/plan.js';
import { validateId } from './state-store.js';
import type { Context } from './context.js';
import { sendSeccompListener } from './seccomp-listener.js';
import { childFailure, startOpOrigins } from './child-errors.js';
import { mappedUserNamespace, idmapTree } from './idmapped-tree.js';
import { nowTimestamp } from './time.js';
import { NeedsOwnProcess } from './call.js';
import { hooksToKeep, runCreateHooks, runHostHooksWarn } from './hooks.js';
import { handOnFds } from './listen-fds.js';
import { CONSOLE_TAG, checkConsoleOptions, sendConsole } from './terminal.js';
import { hostNotifySocket, insertBeforePivot, notifyEnv, notifyMountOp } from './notify.js';
import { ociState } from './live-status.js';
import type { ChildMessage } from '../native/index.js';
import { planCgroup, placeCgroup, releaseCgroup, closeCgroupPlan, filterDevices, type CgroupPlan } from './cgroup.js';
import { cgroupDir } from '../linux/cgroups/host.js';
import type { CgroupRecord } from '../linux/cgroups/types.js';

export interface CreateOptions {
  /** Bundle directory (default: the current directory). */
  bundle?: string;
  pidFile?: string;
  noPivot?: boolean;
  preserveFds?: number;
  /** Unix socket that receives the pty master of a terminal (process.terminal). */
  consoleSocket?: string;
  /** A foreground `run`: a terminal without --console-socket is relayed by the caller (Created.console). */
  foreground?: boolean;
  /** fds that become the container process's stdin, stdout and stderr (default: this process's own). */
  stdio?: [number, number, number];
  /** The caller starts the container right away (`run`): the state is written as running then, not
   * also as created now. */
  startNow?: boolean;
  /** Who clones the init (default: this process, native.spawn); `run -d` has its monitor do it. */
  spawner?: (req: SpawnRequest, container: { poststop: boolean; terminal: boolean }) => Spawned;
}

/** A created container, with the handles the creating process still holds on its init. */
export interface Created {
  state: StateFile;
  spawned: Spawned;
  /** fd of the container's state directory, for the start socket path. */
  dirFd: number;
  /** The pty master of a foreground container's terminal (the caller relays and closes it). */
  console?: number;
}

/** Creates container `id` and leaves its init waiting at the exec barrier. */
export async function createContainer(ctx: Context, id: string, opts: CreateOptions): Promise<Created> {
  validateId(id);
  const bundle = resolve(ctx.cwd, opts.bundle ?? '.');
  const config = loadConfig(bundle, ctx.configs);
  // Socket activation (LISTEN_FDS) and --preserve-fds: the fds from 3 on the container gets.
  const handOn = handOnFds(config.process?.env, opts.preserveFds ?? 0, ctx.env);
  if (config.process !== undefined && handOn.env !== undefined) config.process.env = handOn.env;
  checkConsoleOptions(config.process?.terminal === true, opts.consoleSocket, opts.foreground !== true);
  if (ctx.callerSpawner !== undefined && config.process?.terminal === true) {
    // The caller's own process would have to relay the terminal: the Node CLI does that.
    throw new NeedsOwnProcess('a terminal is relayed by the Node CLI');
  }
  // sd_notify passthrough: the container's NOTIFY_SOCKET is ours, relayed at start (notify.ts).
  const notify = hostNotifySocket(ctx.env);
  if (notify !== undefined && config.process !== undefined) config.process.env = notifyEnv(config.process.env);
  for (const w of validateConfig(config).warnings) ctx.logger.warn(w);
  const unsupported = unsupportedFields(config, { rootless: ctx.rootless, uid: ctx.caller.uid, gid: ctx.caller.gid });
  if (unsupported.length > 0) {
    const u = unsupported[0]!;
    throw new TsruncError('not-supported', `config.json: ${u.pointer}: ${u.reason}`);
  }
  const rootfs = resolveRootfs(bundle, config);
  const rdt = config.linux?.intelRdt !== undefined ? rdtPlan(config.linux.intelRdt, id, readResctrlHost()) : null;
  const owner = ctx.facts.owner();
  const mapFacts = newUserNamespace(config) ? hostMapFacts(ctx, owner) : null;
  const idMaps = mapFacts !== null ? planIdMaps(config.linux ?? {}, config.process!.user, mapFacts) : null;
  if (idMaps?.notice !== undefined) ctx.logger.warn(idMaps.notice);
  // The cgroup driver is chosen before anything starts: limits with no possible cgroup fail here.
  const cgPlan = await planCgroup(ctx, id, config, owner);
  ctx.logger.debug(`cgroup driver ${cgPlan.choice.driver}${cgPlan.expectedPath !== null ? `, cgroup ${cgPlan.expectedPath}` : ''}`);
  let plan: Plan;
  try {
    plan = planFor(ctx, config, bundle, rootfs, opts, idMaps, cgPlan);
    ctx.store.reserve(id);
  if (notify !== undefined) insertBeforePivot(plan.ops, notifyMountOp(ctx.store.dir(id)));
  } catch (e) {
    closeCgroupPlan(cgPlan);
    throw e;
  }
  let dirFd = -1;
  let spawned: Spawned | null = null;
  let made: StateFile | null = null;
  let master = -1;
  const joinFds: number[] = [];
  let cgroup: CgroupRecord | undefined;
  let rdtRecord: { dir: string; remove: boolean } | undefined;
  let cgWarnings: string[] = [];
  try {
    dirFd = ctx.store.openDir(id);
    native.flock(dirFd, true, true);
    const state: StateFile = {
      ociVersion: config.ociVersion,
      id,
      pid: 0,
      pidStartTime: '',
      status: 'creating',
      bundle,
      rootfs,
      created: nowTimestamp(),
      owner,
      rootless: ctx.rootless,
      ...(config.annotations !== undefined ? { annotations: config.annotations } : {}),
    };
    const keptHooks = hooksToKeep(config.hooks);
    if (keptHooks !== undefined) state.hooks = keptHooks;
    made = state;
    ctx.store.save(state);

    const joins = plan.joinNamespaces.map((j) => {
      const fd = openNamespace(j.path, j.origin.pointer);
      joinFds.push(fd);
      return { flag: j.flag, fd, origin: j.origin };
    });
    // The user namespaces whose maps idmapped mounts go through (see idmapped-tree.ts).
    const idmaps = new Map(plan.idmapTrees.map((t): [number, { tree: typeof t; userns: number }] => [plan.ops.indexOf(t.op), { tree: t, userns: -1 }]));
    for (const entry of idmaps.values()) {
      entry.userns = mappedUserNamespace(entry.tree);
      joinFds.push(entry.userns);
    }
    const container = { poststop: (config.hooks?.poststop ?? []).length > 0, terminal: config.process?.terminal === true };
    const req: native.SpawnRequest = {
      newNamespaces: plan.newNamespaces,
      joinNamespaces: joins,
      preserveFds: handOn.fds,
      startSocketPath: `/proc/self/fd/${dirFd}/${ctx.store.startSocketName()}`,
      ops: plan.ops,
      ...(opts.stdio !== undefined ? { stdio: opts.stdio } : {}),
      ...(plan.timeOffsets !== undefined ? { timeOffsets: plan.timeOffsets } : {}),
    };
    // A monitor (run -d), the caller's front end or a Runtime's spawner clones the init when there is
    // one; else this process.
    if (opts.spawner !== undefined) spawned = opts.spawner(req, container);
    else if (ctx.callerSpawner !== undefined) spawned = ctx.callerSpawner.spawn(req, { root: ctx.store.root, id });
    else spawned = ctx.spawner !== undefined ? await ctx.spawner.spawn(req) : native.spawn(req);
    if (idMaps !== null) await writeIdMaps(spawned.pid, idMaps, mapFacts?.helpers ?? null);
    // Before "go": the child unshares its cgroup namespace after it, so this cgroup becomes its root.
    const placed = await placeCgroup(cgPlan, id, spawned.pid, config);
    cgroup = placed.record;
    cgWarnings = placed.warnings;
    state.cgroup = cgroup;
    filterDevices(ctx, cgroup, config);
    // The resctrl group, like the cgroup, before "go": whatever the init forks inherits it.
    if (rdt !== null) state.intelRdt = rdtRecord = applyRdt(rdt, spawned.pid);
    const init = spawned;
    hookPointHandlers.set(init, (msg) => {
      if (msg.tag === CONSOLE_TAG) master = msg.fds?.[0] ?? -1;
      else runCreateHooks(config.hooks ?? {}, ociState({ ...state, pid: init.pid }, 'creating'), msg, rootfs, ctx.store.dir(id));
    });
    native.go(spawned);
    waitUntilReady(spawned, plan, (listenerFd) => sendSeccompListener(config, state, spawned!.pid, listenerFd, 'creating'), (index, tree) => {
      const entry = idmaps.get(index);
      if (entry === undefined) throw new TsruncError('internal', `the init sent a tree for op ${index}, which is no idmapped mount`);
      idmapTree(tree, entry.tree, entry.userns);
    });

    const stat = readProcStat(spawned.pid);
    if (stat === null) throw new TsruncError('init-failed', 'container init exited during create');
    state.pid = spawned.pid;
    state.pidStartTime = stat.startTime;
    const startOps = startOpOrigins(plan.ops);
    if (startOps.length > 0) state.startOps = startOps;
    state.status = 'created';
    if (opts.startNow !== true) ctx.store.save(state);
    if (master >= 0 && opts.consoleSocket !== undefined) {
      sendConsole(opts.consoleSocket, master);
      native.closeFd(master);
      master = -1;
    }
    if (opts.pidFile !== undefined) writePidFile(resolve(ctx.cwd, opts.pidFile), spawned.pid);
    for (const w of cgWarnings) ctx.logger.warn(w);
    return { state, spawned, dirFd, ...(master >= 0 ? { console: master } : {}) };
  } catch (e) {
    if (spawned !== null) native.abort(spawned);
    if (master >= 0) native.closeFd(master);
    closeCgroupPlan(cgPlan);
    await releaseCgroup(ctx, cgroup).catch(() => {});
    try {
      removeRdt(rdtRecord);
    } catch {
      // the first error is the one to report
    }
    if (dirFd >= 0) native.closeFd(dirFd);
    ctx.store.remove(id);
    // The container existed: it is destroyed, so its poststop hooks run (runtime.md, lifecycle 12-14).
    if (spawned !== null && made !== null) runHostHooksWarn('poststop', config.hooks ?? {}, ociState(made, 'stopped'), ctx.logger);
    throw e;
  } finally {
    for (const fd of joinFds) native.closeFd(fd);
  }
}

/** Reads child messages until READY; sync points have nothing to do yet (hooks come later). A
 * seccomp listener fd goes to `onListener` (which owns it) before the child may go on. */
function waitUntilReady(spawned: Spawned, plan: Plan, onListener: (fd: number) => void, onIdmap: (index: number, tree: number) => void): void {
  for (;;) {
    const msg = native.nextMessage(spawned);
    switch (msg.type) {
      case 'ready':
        return;
      case 'sync':
        // A hook point: prestart, createRuntime and createContainer run before the child goes on.
        if (msg.fds !== undefined) hookPointHandlers.get(spawned)?.(msg);
        native.go(spawned);
        continue;
      case 'seccomp':
        onListener(native.recvListenerFd(spawned));
        native.go(spawned);
        continue;
      case 'idmap': {
        const tree = native.recvListenerFd(spawned);
        try {
          onIdmap(msg.index, tree);
        } finally {
          native.closeFd(tree);
        }
        native.go(spawned);
        continue;
      }
      case 'error':
        throw childFailure(plan.ops, msg.index, msg.errno, msg.step);
      case 'eof':
        throw new TsruncError('init-failed', 'container init exited before it was ready');
    }
  }
}

/** What `create` does at its init's hook point, set before waitUntilReady reads the messages. */
const hookPointHandlers = new WeakMap<Spawned, (msg: Extract<ChildMessage, { type: 'sync' }>) => void>();

function planFor(ctx: Context, config: Config, bundle: string, rootfs: string, opts: CreateOptions, idMaps: IdMapPlan | null, cg: CgroupPlan): Plan {
  const uid = config.process?.user.uid ?? 0;
  const sc = config.linux?.seccomp;
  const seccomp: CompiledSeccomp | null = sc !== undefined ? compileSeccomp(sc, (m) => ctx.logger.warn(m)) : null;
  const execUser = lookupExecUser(readRootfsFile(rootfs, '/etc/passwd'), uid);
  return buildPlan(config, {
    bundle,
    rootfs,
    rootless: ctx.rootless,
    hostHasKcore: ctx.facts.hasKcore(),
    // Bound when cgroup2 cannot be mounted: the container's own cgroup when known before it exists.
    cgroup2Dir: cg.expectedPath !== null ? cgroupDir(cg.host, cg.expectedPath) : ctx.facts.ownCgroup2Dir(),
    noPivot: opts.noPivot === true,
    execUser,
    setgroupsDenied: idMaps !== null ? idMaps.denySetgroups : inheritedUserNamespaceDeniesSetgroups(config),
    idMaps,
    statHost,
    seccomp,
    security: ctx.facts.security(),
    joinsHostNetwork: joinsHostNetwork(config.linux?.namespaces),
    callerInUserNamespace: ctx.caller.inUserNamespace,
  });
}

/**
 * Whether setgroups(2) is denied in a user namespace the container does not make itself. A joined one
 * keeps the setting its creator chose; for a /proc/<pid>/ns/user path it is readable beside it (runc
 * reads its own after joining, which the C core does not do). With none in the config the container
 * stays in the caller's, which `unshare -r` leaves denied.
 */
function inheritedUserNamespaceDeniesSetgroups(config: Config): boolean {
  const userNs = (config.linux?.namespaces ?? []).find((n) => n.type === 'user');
  if (userNs === undefined) return readOr('/proc/self/setgroups', 'allow').trim() === 'deny';
  const m = /^\/proc\/(\d+)\/ns\/user$/.exec(userNs.path ?? '');
  return m !== null && readOr(`/proc/${m[1]}/setgroups`, 'allow').trim() === 'deny';
}

function newUserNamespace(config: Config): boolean {
  return (config.linux?.namespaces ?? []).some((n) => n.type === 'user' && (n.path ?? '') === '');
}

/**
 * Subordinate ranges and helpers matter only to an unprivileged caller. Root writes any map itself, and
 * so does uid 0 of a user namespace (podman runs us so for `--userns keep-id`/`auto`): it holds
 * CAP_SETUID there, the kernel checks the IDs against its namespace, and runc writes the maps itself
 * whenever its euid is 0.
 */
function hostMapFacts(ctx: Context, owner: string): MapFacts {
  const { uid, gid } = ctx.caller;
  if (!ctx.rootless || uid === 0) return { rootless: false, uid, gid, subUids: [], subGids: [], helpers: null };
  return {
    rootless: true,
    uid,
    gid,
    subUids: readSubIds('uid', owner, uid),
    subGids: readSubIds('gid', owner, uid),
    helpers: ctx.facts.mapHelpers(),
  };
}

function resolveRootfs(bundle: string, config: Config): string {
  const path = resolve(bundle, config.root?.path ?? 'rootfs');
  try {
    const real = realpathSync(path);
    if (!statSync(real).isDirectory()) throw new Error('not a directory');
    return real;
  } catch (e) {
    const why = errnoCode(e) === 'ENOENT' ? 'no such directory' : (e as Error).message;
    throw new TsruncError('invalid-config', `config.json: /root/path: ${path}: ${why}`);
  }
}

function statHost(path: string): 'dir' | 'file' | 'missing' {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

function openNamespace(path: string, pointer: string): number {
  try {
    return openSync(path, 'r');
  } catch (e) {
    throw new TsruncError('invalid-config', `config.json: ${pointer}: ${path}: ${(e as Error).message}`);
  }
}

/** Writes the pid file atomically, as runc does (engines read it as soon as create returns). */
export function writePidFile(path: string, pid: number): void {
  const abs = resolve(path);
  const tmp = join(dirname(abs), `.${basename(abs)}.tmp${process.pid}`);
  writeFileSync(tmp, String(pid));
  renameSync(tmp, abs);
}

