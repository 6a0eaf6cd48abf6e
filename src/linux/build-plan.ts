// specconv: the one place where config.json becomes the plan the C core runs. Pure: the few host facts
// it needs arrive in `PlanContext`, and it returns plain data.
import { isAbsolute, resolve as resolvePath } from 'node:path';
import { TsruncError } from '../errors.js';
import type { Config } from '../spec/schema.js';
import type { Op, Origin } from '../native/plan.js';
import type { IdMapping } from './id-maps.js';
import {
  parseMountOptions,
  MS_BIND, MS_REC, MS_REMOUNT, MS_SLAVE, MS_PRIVATE, MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC,
  MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC,
} from './mount-options.js';
import { capMask } from './capabilities.js';
import { rlimitNumber } from './rlimits.js';
import { namespaceFlag } from './namespaces.js';
import { DEFAULT_DEVICES, devSymlinks, deviceModeBits, type DeviceSpec } from './devices.js';
import type { CompiledSeccomp } from './seccomp.js';
import { hostSecurity, type HostSecurity } from './lsm.js';
import { attributeOps, checkHostFeatures, labelMountData, labelOps, sysctlOps } from './process-attrs.js';

/** Host facts the conversion needs. */
export interface PlanContext {
  /** Absolute bundle directory (relative bind sources are relative to it). */
  bundle: string;
  /** Absolute, symlink-free rootfs path. */
  rootfs: string;
  /** The caller is not real root: devices are bound, not mknod'ed, and so on. */
  rootless: boolean;
  /** /proc/kcore exists on the host. */
  hostHasKcore: boolean;
  /** The caller's own cgroup2 directory, bound when a cgroup2 mount is not permitted. */
  cgroup2Dir: string | null;
  /** --no-pivot. */
  noPivot: boolean;
  /** HOME of process.user (from the rootfs' /etc/passwd). */
  execUser: { home: string };
  /** setgroups(2) will be denied in the container's user namespace (single-ID map written directly). */
  setgroupsDenied: boolean;
  /** The maps of a new user namespace, as they will be written. */
  idMaps: { uid: IdMapping[]; gid: IdMapping[] } | null;
  /** What a host path is, for bind mounts and devices. */
  statHost(path: string): 'dir' | 'file' | 'missing';
  /** linux.seccomp compiled by libseccomp (src/linux/seccomp.ts), when the config has it. */
  seccomp?: CompiledSeccomp | null;
  /** AppArmor/SELinux/resctrl on this host (read from /sys when absent). */
  security?: HostSecurity;
  /** linux.namespaces joins the host's own network namespace (net.* sysctls are refused then). */
  joinsHostNetwork?: boolean;
  /**
   * The runtime itself runs in a user namespace (uid 0 in podman's, a nested container): the container
   * is in one even when its config asks for none, so devices are bound and sysfs/cgroup2 fall back.
   */
  callerInUserNamespace?: boolean;
}

/** A namespace to join: the runtime opens `path` and hands the fd to the C core. */
export interface NamespaceJoin {
  flag: number;
  path: string;
  origin: Origin;
}

/**
 * What the parent needs for an idmap-mount op (the child may not idmap a host filesystem itself): the
 * maps of the user namespace to idmap through, and the attributes to set.
 */
export interface IdmapTree {
  /** The op this belongs to: the child's 'idmap' message names it. */
  op: Extract<Op, { op: 'idmap-mount' }>;
  recursive: boolean;
  /** MOUNT_ATTR_* bits to set and clear on it. */
  attrSet: number;
  attrClr: number;
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

export interface Plan {
  /** linux.timeOffsets for SpawnRequest.timeOffsets. */
  timeOffsets?: string;
  newNamespaces: number;
  joinNamespaces: NamespaceJoin[];
  /** What the parent does when an idmap-mount op hands it its tree. */
  idmapTrees: IdmapTree[];
  /** The container gets a user namespace of its own (the parent must write its id maps). */
  newUserNamespace: boolean;
  ops: Op[];
}

const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWNET = 0x40000000;
const CLONE_NEWCGROUP = 0x02000000;
const CLONE_NEWNS = 0x00020000;
const RLIM_INFINITY = (1n << 64n) - 1n;

/** Compiles a validated config into the plan. Throws TsruncError('invalid-config') on what it cannot do. */
export function buildPlan(config: Config, ctx: PlanContext): Plan {
  const linux = config.linux ?? {};
  const process = config.process;
  if (process === undefined) throw new TsruncError('invalid-config', 'config.json: /process: required to create a container');

  let newNamespaces = 0;
  const joinNamespaces: NamespaceJoin[] = [];
  (linux.namespaces ?? []).forEach((ns, i) => {
    const flag = namespaceFlag(ns.type);
    if (ns.path !== undefined && ns.path !== '') {
      joinNamespaces.push({ flag, path: ns.path, origin: { pointer: `/linux/namespaces/${i}/path`, what: ns.path } });
    } else {
      newNamespaces |= flag;
    }
  });
  // The user namespace is joined first: the others are then owned by (and permitted in) it.
  joinNamespaces.sort((a, b) => Number(b.flag === CLONE_NEWUSER) - Number(a.flag === CLONE_NEWUSER));
  const newUserNamespace = (newNamespaces & CLONE_NEWUSER) !== 0;
  const inUserNamespace = newUserNamespace || joinNamespaces.some((j) => j.flag === CLONE_NEWUSER) || ctx.callerInUserNamespace === true;
  // Every mount op and pivot_root act on the mount namespace the child is in: without one of its own
  // (or a joined one) that would be the caller's, i.e. the host's for root.
  if ((newNamespaces & CLONE_NEWNS) === 0 && !joinNamespaces.some((j) => j.flag === CLONE_NEWNS)) {
    throw new TsruncError('not-supported', 'config.json: /linux/namespaces: tsrunc needs a mount namespace for the container: add {"type": "mount"} to /linux/namespaces');
  }

  const ops: Op[] = [];
  const at = (pointer: string, what?: string): Origin => (what === undefined ? { pointer } : { pointer, what });

  if (newUserNamespace && ctx.idMaps !== null && mapsRoot(ctx.idMaps.uid) && mapsRoot(ctx.idMaps.gid)) {
    // Become root of the new namespace proper (the caller may not be the ID mapped to 0).
    ops.push({ op: 'setresgid', gid: 0, origin: at('/linux/gidMappings') });
    ops.push({ op: 'setresuid', uid: 0, origin: at('/linux/uidMappings') });
  }
  if (process.oomScoreAdj !== undefined) ops.push({ op: 'oom-score-adj', value: process.oomScoreAdj, origin: at('/process/oomScoreAdj') });
  if (newNamespaces & CLONE_NEWNET) ops.push({ op: 'loopback-up', origin: at('/linux/namespaces') });

  const idmapTrees: IdmapTree[] = [];
  ops.push(...mountOps(config, ctx, inUserNamespace, (newNamespaces & CLONE_NEWNET) !== 0, (newNamespaces & CLONE_NEWCGROUP) !== 0, (t) => idmapTrees.push(t)));
  // prestart, createRuntime and createContainer run here: mounts done, the old root still visible.
  const hooks = config.hooks ?? {};
  if ([hooks.prestart, hooks.createRuntime, hooks.createContainer].some((l) => (l ?? []).length > 0)) {
    ops.push({ op: 'hook-point', tag: HOOK_TAG.create, origin: at('/hooks') });
  }
  ops.push(ctx.noPivot ? { op: 'chroot', origin: at('/root/path') } : { op: 'pivot-root', origin: at('/root/path') });
  if (linux.rootfsPropagation !== undefined) {
    ops.push({ op: 'root-propagation', propagation: propagationFlags(linux.rootfsPropagation), origin: at('/linux/rootfsPropagation') });
  }
  const cwd = process.cwd;
  ops.push({ op: 'mkdir', path: cwd, mode: 0o755, origin: at('/process/cwd', cwd) });
  if (config.root?.readonly === true) ops.push({ op: 'readonly-root', origin: at('/root/readonly') });
  if (config.hostname !== undefined && config.hostname !== '') ops.push({ op: 'sethostname', name: config.hostname, origin: at('/hostname') });
  if (config.domainname !== undefined && config.domainname !== '') ops.push({ op: 'setdomainname', name: config.domainname, origin: at('/domainname') });
  // runc's order: sysctls after the hostname, before the read-only and masked paths (/proc/sys is one).
  checkHostFeatures(config, ctx.security ?? hostSecurity());
  ops.push(...sysctlOps(config, ctx.joinsHostNetwork === true));
  (linux.readonlyPaths ?? []).forEach((p, i) => ops.push({ op: 'readonly', path: p, origin: at(`/linux/readonlyPaths/${i}`, p) }));
  (linux.maskedPaths ?? []).forEach((p, i) => ops.push({ op: 'mask', path: p, origin: at(`/linux/maskedPaths/${i}`, p) }));

  // runc drops every capability when the config has no capabilities object (exec differs: it falls
  // back to the container's own, which is the exec path's business).
  ops.push(...processOps({ ...config, process: { ...process, capabilities: process.capabilities ?? {} } }, ctx));
  return { newNamespaces, joinNamespaces, idmapTrees, newUserNamespace, ops, ...timeOffsets(config, newNamespaces) };
}

const CLONE_NEWTIME = 0x00000080;

/** linux.timeOffsets in the form of /proc/self/timens_offsets; only for a time namespace of our own. */
function timeOffsets(config: Config, newNamespaces: number): { timeOffsets?: string } {
  const offsets = Object.entries(config.linux?.timeOffsets ?? {});
  if (offsets.length === 0) return {};
  if ((newNamespaces & CLONE_NEWTIME) === 0) {
    throw new TsruncError('invalid-config', 'config.json: /linux/timeOffsets: offsets can only be set on a new time namespace, not a joined one');
  }
  return { timeOffsets: offsets.map(([clock, o]) => `${clock} ${BigInt(o.secs ?? 0)} ${BigInt(o.nanosecs ?? 0)}\n`).join('') };
}

function mapsRoot(maps: { containerID: number; size: number }[]): boolean {
  return maps.some((m) => m.containerID === 0 && m.size > 0);
}

/** The mounts, devices and /dev symlinks, in runc's order, up to (not including) pivot_root. */
function mountOps(
  config: Config,
  ctx: PlanContext,
  inUserNamespace: boolean,
  newNet: boolean,
  newCgroupNs: boolean,
  addIdmap: (tree: IdmapTree) => void,
): Op[] {
  const linux = config.linux ?? {};
  const ops: Op[] = [];
  const prep = linux.rootfsPropagation === 'private' || linux.rootfsPropagation === 'rprivate' ? MS_PRIVATE : MS_SLAVE;
  ops.push({ op: 'prepare-root', rootfs: ctx.rootfs, propagation: prep | MS_REC, origin: { pointer: '/root/path', what: ctx.rootfs } });

  let devFromHost = false;
  const selinux = (ctx.security ?? hostSecurity()).selinux;
  (config.mounts ?? []).forEach((m, i) => {
    const origin: Origin = { pointer: `/mounts/${i}`, what: m.destination };
    const o = parseMountOptions(m.options ?? []);
    const type = m.type ?? '';
    const bind = o.bind || type === 'bind';
    if (o.tmpcopyup && (bind || type !== 'tmpfs')) {
      throw new TsruncError('invalid-config', `config.json: /mounts/${i}/options: "tmpcopyup" only applies to a tmpfs mount`);
    }
    if (bind) {
      const src = m.source ?? '';
      const source = isAbsolute(src) ? src : resolvePath(ctx.bundle, src);
      const kind = ctx.statHost(source);
      if (kind === 'missing') {
        throw new TsruncError('invalid-config', `config.json: /mounts/${i}/source: ${source}: no such file or directory`);
      }
      if (m.destination === '/dev') devFromHost = true;
      if (o.idmap !== null || m.uidMappings !== undefined || m.gidMappings !== undefined) {
        ops.push(idmapMountOp(m, i, source, kind, o, ctx, addIdmap));
        return;
      }
      const extra = o.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
      ops.push({
        op: 'mount', source, target: m.destination, fstype: '', data: o.data,
        flags: MS_BIND | (o.recursive ? MS_REC : 0),
        create: kind === 'dir' ? 'dir' : 'file',
        remountFlags: extra !== 0 ? extra : null,
        propagation: o.propagation, attrSet: o.attrSet, attrClr: o.attrClr, fallbackBind: null, origin,
      });
      return;
    }
    const fstype = type === 'cgroup' ? 'cgroup2' : type;
    let fallbackBind: string | null = null;
    // Without namespaces the user namespace owns, the kernel refuses these: bind the host's instead
    // (crun does the same for sysfs; runc does it for cgroup2).
    if (fstype === 'sysfs' && inUserNamespace && !newNet) fallbackBind = '/sys';
    if (fstype === 'cgroup2' && (inUserNamespace || !newCgroupNs)) fallbackBind = ctx.cgroup2Dir;
    const flags = o.flags & ~MS_REMOUNT;
    // runc mounts a tmpfs read-write and remounts it read-only after it got the covered directory's mode
    // (and, with tmpcopyup, its tree).
    const roTmpfs = fstype === 'tmpfs' && (flags & MS_RDONLY) !== 0;
    ops.push({
      op: 'mount', source: m.source ?? fstype, target: m.destination, fstype,
      data: fallbackBind !== null ? o.data : labelMountData(fstype, o.data, linux.mountLabel, selinux),
      flags: roTmpfs ? flags & ~MS_RDONLY : flags, create: 'dir', remountFlags: roTmpfs ? flags : null,
      propagation: o.propagation, attrSet: o.attrSet, attrClr: o.attrClr, fallbackBind, origin,
      ...(o.tmpcopyup ? { copyUp: true } : {}),
    });
  });

  if (!devFromHost) {
    const configured = linux.devices ?? [];
    const devices: { d: DeviceSpec; origin: Origin }[] = DEFAULT_DEVICES.filter((d) => !configured.some((c) => c.path === d.path)).map((d) => ({
      d,
      origin: { pointer: '/linux/devices', what: d.path },
    }));
    configured.forEach((c, i) => {
      devices.push({
        d: { path: c.path, type: c.type, major: c.major ?? 0, minor: c.minor ?? 0, fileMode: c.fileMode ?? 0o666, uid: c.uid ?? 0, gid: c.gid ?? 0 },
        origin: { pointer: `/linux/devices/${i}`, what: c.path },
      });
    });
    for (const { d, origin } of devices) {
      if (inUserNamespace && ctx.statHost(d.path) === 'missing') {
        throw new TsruncError('invalid-config', `config.json: ${origin.pointer}: ${d.path} does not exist on the host (devices are bind-mounted from the host in a user namespace)`);
      }
      ops.push({
        op: 'device', target: d.path, how: inUserNamespace ? 'bind' : 'mknod', source: d.path,
        mode: deviceModeBits(d.type, d.fileMode), major: d.major, minor: d.minor, uid: d.uid, gid: d.gid, origin,
      });
    }
    for (const l of devSymlinks(ctx.hostHasKcore)) ops.push({ op: 'symlink', target: l.target, linkTo: l.linkTo, origin: { pointer: '/mounts', what: l.target } });
    ops.push({ op: 'symlink', target: '/dev/ptmx', linkTo: 'pts/ptmx', origin: { pointer: '/mounts', what: '/dev/ptmx' } });
  }
  return ops;
}

/**
 * An idmapped bind mount. The spec pairs the mount's uidMappings/gidMappings with the idmap (or, for
 * rbind, ridmap) option; without mappings on the mount, the container's own maps are used.
 */
function idmapMountOp(
  m: NonNullable<Config['mounts']>[number],
  i: number,
  source: string,
  kind: 'dir' | 'file',
  o: ReturnType<typeof parseMountOptions>,
  ctx: PlanContext,
  addIdmap: (tree: IdmapTree) => void,
): Op {
  const at = `config.json: /mounts/${i}`;
  if (ctx.rootless) {
    throw new TsruncError('not-supported', `${at}/options: idmapped mounts need root: the kernel lets only the owner of a filesystem (here the host's root) idmap it`);
  }
  if (o.idmap === null) throw new TsruncError('invalid-config', `${at}/options: uidMappings/gidMappings on a mount need the "idmap" or "ridmap" option`);
  if ((m.uidMappings === undefined) !== (m.gidMappings === undefined)) {
    throw new TsruncError('invalid-config', `${at}: uidMappings and gidMappings go together: give both or neither`);
  }
  const uidMappings = m.uidMappings ?? ctx.idMaps?.uid;
  const gidMappings = m.gidMappings ?? ctx.idMaps?.gid;
  if (uidMappings === undefined || gidMappings === undefined) {
    throw new TsruncError('invalid-config', `${at}/uidMappings: an idmapped mount without mappings needs the container's own user namespace`);
  }
  const recursive = o.idmap.recursive || o.recursive;
  const op: Extract<Op, { op: 'idmap-mount' }> = {
    op: 'idmap-mount',
    source,
    target: m.destination,
    create: kind === 'dir' ? 'dir' : 'file',
    recursive,
    origin: { pointer: `/mounts/${i}`, what: m.destination },
  };
  addIdmap({ op, recursive, attrSet: o.attrSet | mountAttrs(o.flags), attrClr: o.attrClr, uidMappings, gidMappings });
  return op;
}

/** The MOUNT_ATTR_* bits of the per-mount flags an idmapped bind takes (it is never remounted). */
function mountAttrs(flags: number): number {
  let a = 0;
  if (flags & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (flags & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (flags & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (flags & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  return a;
}

/** The tags of the hook points: before pivot_root (create), after the start barrier (start). */
export const HOOK_TAG = { create: 1, start: 2 } as const;

/**
 * rlimits, privileges, user, capabilities, cwd, umask, then the exec barrier and exec. `exec` uses it
 * too, without the barrier (`startBarrier: false`): the process of `tsrunc exec` gets the same ops.
 */
export function processOps(config: Config, ctx: PlanContext, opts: { startBarrier?: boolean } = {}): Op[] {
  const process = config.process!;
  const ops: Op[] = [];
  if (process.terminal === true) {
    // In the container's devpts, while still root there (runc's setupConsole); /dev/console for the init only.
    const size = process.consoleSize;
    ops.push({
      op: 'console',
      rows: Number(size?.height ?? 0),
      cols: Number(size?.width ?? 0),
      mountConsole: opts.startBarrier !== false,
      uid: process.user.uid,
      origin: { pointer: '/process/terminal' },
    });
  }
  (process.rlimits ?? []).forEach((r, i) => {
    ops.push({ op: 'rlimit', resource: rlimitNumber(r.type), soft: toRlim(r.soft), hard: toRlim(r.hard), origin: { pointer: `/process/rlimits/${i}`, what: r.type } });
  });
  // Execution domain, scheduler, I/O priority and LSM labels while the privileges are still there (runc).
  ops.push(...attributeOps(config), ...labelOps(config, ctx.security ?? hostSecurity()));
  if (process.noNewPrivileges === true) ops.push({ op: 'no-new-privs', origin: { pointer: '/process/noNewPrivileges' } });

  // runc tries cwd before dropping privileges, so a directory only the runtime user can reach works.
  ops.push({ op: 'chdir', path: process.cwd, origin: { pointer: '/process/cwd', what: process.cwd } });

  const user = process.user;
  const caps = process.capabilities;
  const capOrigin = { pointer: '/process/capabilities' };
  // seccomp: without no_new_privs loading needs CAP_SYS_ADMIN, so before the caps go (runc's order);
  // with it, as late as possible: right before execve, or before the barrier when a listener fd must
  // still reach the parent over the sync socket.
  const sc = ctx.seccomp ?? null;
  const seccompOp = (when: 'now' | 'defer'): Op => ({ op: 'seccomp', program: sc!.program, flags: sc!.flags, when, origin: { pointer: '/linux/seccomp' } });
  if (sc !== null && process.noNewPrivileges !== true) ops.push(seccompOp('now'));
  if (caps !== undefined) ops.push({ op: 'cap-bounding', keep: capMask(caps.bounding ?? []), origin: { pointer: '/process/capabilities/bounding' } });
  if (caps !== undefined) ops.push({ op: 'keep-caps', on: true, origin: capOrigin });
  if (!ctx.setgroupsDenied) {
    const gids = [...new Set(user.additionalGids ?? [])];
    ops.push({ op: 'setgroups', gids, origin: { pointer: '/process/user/additionalGids' } });
  }
  ops.push({ op: 'setresgid', gid: user.gid, origin: { pointer: '/process/user/gid' } });
  ops.push({ op: 'setresuid', uid: user.uid, origin: { pointer: '/process/user/uid' } });
  if (caps !== undefined) {
    ops.push({ op: 'keep-caps', on: false, origin: capOrigin });
    const effective = capMask(caps.effective ?? []);
    const permitted = capMask(caps.permitted ?? []);
    const inheritable = capMask(caps.inheritable ?? []);
    ops.push({ op: 'capset', effective, permitted, inheritable, origin: capOrigin });
    // The kernel only allows ambient capabilities that are permitted and inheritable; runc skips the rest.
    ops.push({ op: 'ambient', raise: capMask(caps.ambient ?? []) & permitted & inheritable, origin: { pointer: '/process/capabilities/ambient' } });
  }
  ops.push({ op: 'umask', mask: user.umask ?? 0o022, origin: { pointer: '/process/user/umask' } });

  const env = containerEnv(process.env ?? [], ctx.execUser.home);
  const args = process.args ?? [];
  const file = args[0] ?? '';
  ops.push({ op: 'resolve-exec', file, searchPath: envValue(env, 'PATH') ?? '', origin: { pointer: '/process/args/0', what: file } });
  if (sc !== null && process.noNewPrivileges === true && sc.notify) ops.push(seccompOp('now'));
  if (opts.startBarrier !== false) {
    ops.push({ op: 'wait-start', origin: { pointer: '/process' } });
    if ((config.hooks?.startContainer ?? []).length > 0) ops.push({ op: 'hook-point', tag: HOOK_TAG.start, origin: { pointer: '/hooks/startContainer' } });
  }
  if (sc !== null && process.noNewPrivileges === true && !sc.notify) ops.push(seccompOp('defer'));
  ops.push({ op: 'exec', argv: args, envp: env, origin: { pointer: '/process/args', what: file } });
  return ops;
}

/** The process environment, with HOME added from /etc/passwd when the config does not set it (runc). */
export function containerEnv(env: string[], home: string): string[] {
  return envValue(env, 'HOME') === undefined ? [...env, `HOME=${home}`] : [...env];
}

function envValue(env: string[], name: string): string | undefined {
  for (let i = env.length - 1; i >= 0; i--) {
    const e = env[i]!;
    if (e.startsWith(name + '=')) return e.slice(name.length + 1);
  }
  return undefined;
}

function toRlim(v: number | bigint): bigint {
  const b = BigInt(v);
  return b < 0n || b > RLIM_INFINITY ? RLIM_INFINITY : b;
}

/** MS_* flags of a rootfsPropagation value. */
export function propagationFlags(value: string): number {
  const o = parseMountOptions([value]);
  return o.propagation;
}
