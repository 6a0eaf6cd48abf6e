// The smaller linux.* and process.* settings as plan ops: sysctls, the execution domain, the scheduler,
// the I/O priority and the LSM labels; and the clear errors where the host cannot honour them. Pure:
// the host's security facts come in as data.
import { TsruncError } from '../errors.js';
import type { Config } from '../spec/schema.js';
import type { Op } from '../native/plan.js';
import type { HostSecurity } from './lsm.js';

type Process = NonNullable<Config['process']>;

/** "net.ipv4.ip_forward" → "/proc/sys/net/ipv4/ip_forward"; sysctl(8)'s "/" form is taken as is. */
export function sysctlPath(key: string): string {
  const first = key.search(/[./]/);
  const path = first !== -1 && key[first] === '/' ? key : key.replace(/\./g, '/');
  return `/proc/sys/${path.replace(/^\/+/, '')}`;
}

/**
 * linux.sysctl as writes after pivot_root. validate.ts already refused keys outside the container's
 * namespaces; what it cannot know is whether a joined network namespace is the host's own.
 */
export function sysctlOps(config: Config, joinsHostNetwork: boolean): Op[] {
  return Object.entries(config.linux?.sysctl ?? {}).map(([key, value]) => {
    const pointer = `/linux/sysctl/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    if (joinsHostNetwork && /^net[./]/.test(key)) {
      throw new TsruncError('invalid-config', `config.json: ${pointer}: the joined network namespace is the host's: setting it would change the host`);
    }
    return {
      op: 'write-file',
      path: sysctlPath(key),
      data: value,
      origin: { pointer, what: key },
    } satisfies Op;
  });
}

const PERSONA = { LINUX: 0x0000, LINUX32: 0x0008 } as const;
const POLICY: Record<string, number> = { SCHED_OTHER: 0, SCHED_FIFO: 1, SCHED_RR: 2, SCHED_BATCH: 3, SCHED_ISO: 4, SCHED_IDLE: 5, SCHED_DEADLINE: 6 };
const SCHED_FLAG: Record<string, bigint> = {
  SCHED_FLAG_RESET_ON_FORK: 0x01n,
  SCHED_FLAG_RECLAIM: 0x02n,
  SCHED_FLAG_DL_OVERRUN: 0x04n,
  SCHED_FLAG_KEEP_POLICY: 0x08n,
  SCHED_FLAG_KEEP_PARAMS: 0x10n,
  SCHED_FLAG_UTIL_CLAMP_MIN: 0x20n,
  SCHED_FLAG_UTIL_CLAMP_MAX: 0x40n,
};
const IOPRIO_CLASS: Record<string, number> = { IOPRIO_CLASS_RT: 1, IOPRIO_CLASS_BE: 2, IOPRIO_CLASS_IDLE: 3 };
const IOPRIO_CLASS_SHIFT = 13;

/** personality, scheduler and ioPriority, set while the process still has its privileges. */
export function attributeOps(config: Config): Op[] {
  const ops: Op[] = [];
  const pers = config.linux?.personality;
  if (pers !== undefined) {
    ops.push({ op: 'personality', persona: PERSONA[pers.domain as keyof typeof PERSONA] ?? 0, origin: { pointer: '/linux/personality/domain', what: pers.domain } });
  }
  const p: Process = config.process!;
  const s = p.scheduler;
  if (s !== undefined) {
    if (s.policy === 'SCHED_ISO') throw new TsruncError('not-supported', 'config.json: /process/scheduler/policy: SCHED_ISO is not implemented by Linux');
    ops.push({
      op: 'scheduler',
      policy: POLICY[s.policy] ?? 0,
      flags: (s.flags ?? []).reduce((m, f) => m | (SCHED_FLAG[f] ?? 0n), 0n),
      nice: s.nice ?? 0,
      priority: s.priority ?? 0,
      runtime: BigInt(s.runtime ?? 0),
      deadline: BigInt(s.deadline ?? 0),
      period: BigInt(s.period ?? 0),
      origin: { pointer: '/process/scheduler', what: s.policy },
    });
  }
  const io = p.ioPriority;
  if (io !== undefined) {
    ops.push({ op: 'ioprio', value: ((IOPRIO_CLASS[io.class] ?? 0) << IOPRIO_CLASS_SHIFT) | (io.priority ?? 0), origin: { pointer: '/process/ioPriority', what: io.class } });
  }
  return ops;
}

/**
 * The LSM labels of the process, written to the /proc/self/attr files the kernel applies at execve;
 * a host without the module gets a clear error instead of an unconfined container.
 */
export function labelOps(config: Config, host: HostSecurity): Op[] {
  const p: Process = config.process!;
  const ops: Op[] = [];
  if ((p.apparmorProfile ?? '') !== '') {
    if (!host.apparmor) {
      throw new TsruncError('host-not-ready', `config.json: /process/apparmorProfile: AppArmor is not enabled on this host (profile ${JSON.stringify(p.apparmorProfile)})`, {
        hint: 'remove process.apparmorProfile, or run on a host with AppArmor enabled',
      });
    }
    ops.push({ op: 'write-file', path: '/proc/self/attr/apparmor/exec', data: `exec ${p.apparmorProfile}`, origin: { pointer: '/process/apparmorProfile', what: p.apparmorProfile } });
  }
  if ((p.selinuxLabel ?? '') !== '') {
    if (!host.selinux) {
      throw new TsruncError('host-not-ready', `config.json: /process/selinuxLabel: SELinux is not enabled on this host (label ${JSON.stringify(p.selinuxLabel)})`, {
        hint: 'remove process.selinuxLabel, or run on a host with SELinux enabled',
      });
    }
    ops.push({ op: 'write-file', path: '/proc/self/attr/exec', data: p.selinuxLabel!, origin: { pointer: '/process/selinuxLabel', what: p.selinuxLabel } });
  }
  return ops;
}

/**
 * The filesystem types runc gives linux.mountLabel (as a `context="…"` mount option, go-selinux's
 * FormatMountLabel): all but proc and sysfs (SELinux cannot label them), cgroup (mounted unlabelled),
 * mqueue (runc labels its root with setxattr afterwards; tsrunc leaves it unlabelled) and binds (the
 * kernel ignores mount data for a bind).
 */
const UNLABELLED = new Set(['proc', 'sysfs', 'cgroup', 'cgroup2', 'mqueue', 'bind', '']);

/**
 * The data of a mount with linux.mountLabel applied: `context="<label>"` appended where runc adds it,
 * and only on a host with SELinux (elsewhere runc ignores the label, and so does tsrunc).
 */
export function labelMountData(fstype: string, data: string, mountLabel: string | undefined, selinux: boolean): string {
  if (!selinux || (mountLabel ?? '') === '' || UNLABELLED.has(fstype)) return data;
  const context = `context="${mountLabel}"`;
  return data === '' ? context : `${data},${context}`;
}

/** linux.mountLabel: a label the mount option cannot quote is refused (where SELinux would get it). */
export function checkHostFeatures(config: Config, host: HostSecurity): void {
  const label = config.linux?.mountLabel ?? '';
  if (host.selinux && /["\n\\]/.test(label)) {
    throw new TsruncError('invalid-config', `config.json: /linux/mountLabel: ${JSON.stringify(label)} cannot be given as a context="…" mount option (a quote, backslash or newline in it)`);
  }
}
