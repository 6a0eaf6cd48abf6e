// Zod schemas of the whole OCI runtime-spec 1.2 config (config.md, config-linux.md), built on first use
// so that importing this module (for its types or constants) costs nothing.
//
// Policy:
// - Unknown properties are ignored, as the spec requires: objects strip them, they never fail.
// - Numbers follow the spec's JSON types. 32-bit and smaller fields are plain `number`s. 64-bit fields
//   (uint64/int64: rlimits, memory limits, seccomp argument values…) are `number | bigint`: loadConfig
//   parses integer literals that a double cannot hold exactly into bigints, so 18446744073709551615
//   (RLIM_INFINITY) survives intact; any value in range is accepted, values a JSON writer could not have
//   meant (fractions, out of range) are refused. Consumers that need the exact value use BigInt(v).
//   Device major/minor numbers (int64 in the spec, 12/20 bits in the kernel) are plain numbers.
// - Every leaf carries its own one-line message ("must be …", "is required"), so an issue's path and
//   message are all loadConfig needs to print `config.json: /json/pointer: reason`.
// - Fields Go's runtime-spec bindings treat as zero values when absent (process.user, its uid/gid) get
//   those defaults here, as runc sees them.
import * as z from 'zod';

/** The runtime-spec version tsrunc implements (what `tsrunc spec` writes and `tsrunc state` reports). */
export const OCI_SPEC_VERSION = '1.2.0';

export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup', 'time'] as const;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

/** linux.devices[].type: character, block, unbuffered character, FIFO. */
export const DEVICE_TYPES = ['c', 'b', 'u', 'p'] as const;
/** linux.resources.devices[].type: all, character, block. */
export const CGROUP_DEVICE_TYPES = ['a', 'c', 'b'] as const;

/** The spec lists shared/slave/private/unbindable; runc also takes the recursive forms (and "" for unset). */
export const ROOTFS_PROPAGATIONS = ['', 'private', 'rprivate', 'shared', 'rshared', 'slave', 'rslave', 'unbindable', 'runbindable'] as const;

export const SECCOMP_ACTIONS = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
] as const;
export const SECCOMP_OPERATORS = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'] as const;
/** The spec's list (libseccomp 2.5) plus the architectures libseccomp added since, which runc accepts. */
export const SECCOMP_ARCHES = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
] as const;
export const SECCOMP_FLAGS = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
] as const;
export const SCHEDULER_POLICIES = ['SCHED_OTHER', 'SCHED_FIFO', 'SCHED_RR', 'SCHED_BATCH', 'SCHED_ISO', 'SCHED_IDLE', 'SCHED_DEADLINE'] as const;
export const SCHEDULER_FLAGS = [
  'SCHED_FLAG_RESET_ON_FORK',
  'SCHED_FLAG_RECLAIM',
  'SCHED_FLAG_DL_OVERRUN',
  'SCHED_FLAG_KEEP_POLICY',
  'SCHED_FLAG_KEEP_PARAMS',
  'SCHED_FLAG_UTIL_CLAMP_MIN',
  'SCHED_FLAG_UTIL_CLAMP_MAX',
] as const;
export const IOPRIO_CLASSES = ['IOPRIO_CLASS_RT', 'IOPRIO_CLASS_BE', 'IOPRIO_CLASS_IDLE'] as const;
export const PERSONALITY_DOMAINS = ['LINUX', 'LINUX32'] as const;
/** The six hook kinds, in the order they run. */
export const HOOK_KINDS = ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop'] as const;
export type HookKind = (typeof HOOK_KINDS)[number];

export const RLIMIT_TYPE_PATTERN = /^RLIMIT_[A-Z]+$/;
const CPU_LIST_PATTERN = /^[0-9, -]*$/;

// ---------------------------------------------------------------------------------------------------
// Leaf builders: each sets the one-line message a user sees.

type Iss = { input?: unknown };
const msg = (reason: string) => (iss: Iss) => (iss.input === undefined ? 'is required' : reason);

const str = () => z.string({ error: msg('must be a string') });
const bool = () => z.boolean({ error: msg('must be true or false') });
const strings = (what = 'must be an array of strings') => z.array(z.string({ error: msg('must be a string') }), { error: msg(what) });
const obj = <S extends z.ZodRawShape>(shape: S) => z.object(shape, { error: msg('must be an object') });
const arr = <T extends z.ZodType>(item: T, what = 'must be an array') => z.array(item, { error: msg(what) });
const map = <T extends z.ZodType>(value: T) => z.record(z.string(), value, { error: msg('must be an object') });
const stringMap = () => map(z.string({ error: msg('must be a string') }));
/** Free-form objects the spec defines for other platforms; tsrunc only checks they are objects. */
const opaque = () => z.record(z.string(), z.unknown(), { error: msg('must be an object') });

function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string) {
  const list = values.filter((v) => v !== '').join(', ');
  return z.enum(values, {
    error: (iss) =>
      iss.input === undefined
        ? 'is required'
        : typeof iss.input === 'string'
          ? `unknown ${what} ${JSON.stringify(iss.input)} (expected one of ${list})`
          : `must be a string (one of ${list})`,
  });
}

/** An integer in [min, max] that a double holds exactly: the spec's int8…uint32 and JSON "integer". */
function intIn(min: number, max: number) {
  const reason = `must be an integer between ${min} and ${max}`;
  return z.custom<number>((v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max, { error: msg(reason) });
}
/** A 64-bit integer in [min, max]: a safe-integer number, or a bigint from the lossless parser. */
function int64In(min: bigint, max: bigint) {
  const reason = `must be an integer between ${min} and ${max}`;
  return z.custom<number | bigint>((v) => {
    if (typeof v === 'number') return Number.isSafeInteger(v) && v >= min && v <= max;
    return typeof v === 'bigint' && v >= min && v <= max;
  }, { error: msg(reason) });
}

const u16 = () => intIn(0, 0xffff);
const i32 = () => intIn(-0x80000000, 0x7fffffff);
const u32 = () => intIn(0, 0xffffffff);
/** JSON "integer" with no stated width (Go int): any integer a double holds exactly. */
const int = () => intIn(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);
const I64_MAX = (1n << 63n) - 1n;
const u64 = () => int64In(0n, U64_MAX);
const i64 = () => int64In(I64_MIN, I64_MAX);
/**
 * Device major/minor numbers are int64 in the spec, but the kernel's are 12 and 20 bits (and -1 means
 * "any" in cgroup rules): a plain number, any a double holds exactly.
 */
const devNum = () => int();

// ---------------------------------------------------------------------------------------------------

function resourcesSchema() {
  const blockIODevice = { major: devNum(), minor: devNum() };
  const throttle = arr(obj({ ...blockIODevice, rate: u64() }));
  return obj({
    devices: arr(
      obj({
        allow: bool(),
        type: oneOf(CGROUP_DEVICE_TYPES, 'cgroup device type').optional(),
        major: devNum().optional(),
        minor: devNum().optional(),
        access: str().regex(/^[rwm]*$/, { error: 'must be a combination of r, w and m' }).optional(),
      }),
    ).optional(),
    memory: obj({
      limit: i64().optional(),
      reservation: i64().optional(),
      swap: i64().optional(),
      kernel: i64().optional(),
      kernelTCP: i64().optional(),
      swappiness: intIn(0, 100).optional(),
      disableOOMKiller: bool().optional(),
      useHierarchy: bool().optional(),
      checkBeforeUpdate: bool().optional(),
    }).optional(),
    cpu: obj({
      shares: u64().optional(),
      quota: i64().optional(),
      burst: u64().optional(),
      period: u64().optional(),
      realtimeRuntime: i64().optional(),
      realtimePeriod: u64().optional(),
      cpus: str().optional(),
      mems: str().optional(),
      idle: i64().optional(),
    }).optional(),
    pids: obj({ limit: i64() }).optional(),
    blockIO: obj({
      weight: u16().optional(),
      leafWeight: u16().optional(),
      weightDevice: arr(obj({ ...blockIODevice, weight: u16().optional(), leafWeight: u16().optional() })).optional(),
      throttleReadBpsDevice: throttle.optional(),
      throttleWriteBpsDevice: throttle.optional(),
      throttleReadIOPSDevice: throttle.optional(),
      throttleWriteIOPSDevice: throttle.optional(),
    }).optional(),
    hugepageLimits: arr(obj({ pageSize: str(), limit: u64() })).optional(),
    network: obj({
      classID: u32().optional(),
      priorities: arr(obj({ name: str(), priority: u32() })).optional(),
    }).optional(),
    rdma: map(obj({ hcaHandles: u32().optional(), hcaObjects: u32().optional() })).optional(),
    unified: stringMap().optional(),
  });
}

function seccompSchema() {
  return obj({
    defaultAction: oneOf(SECCOMP_ACTIONS, 'seccomp action'),
    defaultErrnoRet: u32().optional(),
    architectures: arr(oneOf(SECCOMP_ARCHES, 'seccomp architecture')).optional(),
    flags: arr(oneOf(SECCOMP_FLAGS, 'seccomp flag')).optional(),
    listenerPath: str().optional(),
    listenerMetadata: str().optional(),
    syscalls: arr(
      obj({
        names: strings().min(1, { error: 'must name at least one system call' }),
        action: oneOf(SECCOMP_ACTIONS, 'seccomp action'),
        errnoRet: u32().optional(),
        args: arr(obj({ index: u32(), value: u64(), valueTwo: u64().optional(), op: oneOf(SECCOMP_OPERATORS, 'seccomp operator') })).optional(),
      }),
    ).optional(),
  });
}

function build() {
  const idMapping = obj({ containerID: u32(), hostID: u32(), size: u32() });
  const idMappings = arr(idMapping);

  const mount = obj({
    destination: str(),
    type: str().optional(),
    source: str().optional(),
    options: strings().optional(),
    uidMappings: idMappings.optional(),
    gidMappings: idMappings.optional(),
  });

  const rlimit = obj({
    type: str().regex(RLIMIT_TYPE_PATTERN, { error: 'must match RLIMIT_[A-Z]+, e.g. "RLIMIT_NOFILE"' }),
    hard: u64(),
    soft: u64(),
  });

  const capabilities = obj({
    bounding: strings().optional(),
    effective: strings().optional(),
    inheritable: strings().optional(),
    permitted: strings().optional(),
    ambient: strings().optional(),
  });

  const user = obj({
    uid: u32().default(0),
    gid: u32().default(0),
    umask: u32().optional(),
    additionalGids: arr(u32(), 'must be an array of group ids').optional(),
    username: str().optional(),
  });

  const scheduler = obj({
    policy: oneOf(SCHEDULER_POLICIES, 'scheduler policy'),
    nice: i32().optional(),
    priority: i32().optional(),
    flags: arr(oneOf(SCHEDULER_FLAGS, 'scheduler flag')).optional(),
    runtime: u64().optional(),
    deadline: u64().optional(),
    period: u64().optional(),
  });

  const cpuList = () => str().regex(CPU_LIST_PATTERN, { error: 'must be a CPU list such as "0-3,7"' });

  const process = obj({
    terminal: bool().optional(),
    consoleSize: obj({ height: u64(), width: u64() }).optional(),
    user: user.default({ uid: 0, gid: 0 }),
    args: strings('must be a non-empty array of strings').optional(),
    commandLine: str().optional(),
    env: strings().optional(),
    cwd: str(),
    capabilities: capabilities.optional(),
    rlimits: arr(rlimit).optional(),
    noNewPrivileges: bool().optional(),
    apparmorProfile: str().optional(),
    oomScoreAdj: int().optional(),
    scheduler: scheduler.optional(),
    selinuxLabel: str().optional(),
    ioPriority: obj({ class: oneOf(IOPRIO_CLASSES, 'I/O priority class'), priority: i32().optional() }).optional(),
    execCPUAffinity: obj({ initial: cpuList().optional(), final: cpuList().optional() }).optional(),
  });

  const hook = obj({
    path: str(),
    args: strings().optional(),
    env: strings().optional(),
    timeout: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  });
  const hookList = arr(hook);
  const hooks = obj({
    prestart: hookList.optional(),
    createRuntime: hookList.optional(),
    createContainer: hookList.optional(),
    startContainer: hookList.optional(),
    poststart: hookList.optional(),
    poststop: hookList.optional(),
  });

  const namespace = obj({ type: oneOf(NAMESPACE_TYPES, 'namespace type'), path: str().optional() });

  const device = obj({
    path: str(),
    type: oneOf(DEVICE_TYPES, 'device type'),
    major: devNum().optional(),
    minor: devNum().optional(),
    fileMode: u32().optional(),
    uid: u32().optional(),
    gid: u32().optional(),
  });

  // Rarely present subtrees are built when a config first has them (z.lazy): most configs never pay.
  const resources = z.lazy(resourcesSchema);
  const seccomp = z.lazy(seccompSchema);

  // Keys in the order of Go's specs-go structs, so a parsed config serialises the way runc writes it.
  const linux = obj({
    uidMappings: idMappings.optional(),
    gidMappings: idMappings.optional(),
    sysctl: stringMap().optional(),
    resources: resources.optional(),
    cgroupsPath: str().optional(),
    namespaces: arr(namespace).optional(),
    devices: arr(device).optional(),
    seccomp: seccomp.optional(),
    rootfsPropagation: oneOf(ROOTFS_PROPAGATIONS, 'rootfs propagation').optional(),
    maskedPaths: strings().optional(),
    readonlyPaths: strings().optional(),
    mountLabel: str().optional(),
    intelRdt: obj({
      closID: str().optional(),
      l3CacheSchema: str().optional(),
      memBwSchema: str().optional(),
      schemata: strings().optional(),
      enableCMT: bool().optional(),
      enableMBM: bool().optional(),
    }).optional(),
    personality: obj({ domain: oneOf(PERSONALITY_DOMAINS, 'personality domain'), flags: strings().optional() }).optional(),
    timeOffsets: map(obj({ secs: i64().optional(), nanosecs: u32().optional() })).optional(),
    netDevices: map(obj({ name: str().optional() })).optional(),
  });

  const config = obj({
    ociVersion: str(),
    process: process.optional(),
    root: obj({ path: str(), readonly: bool().optional() }).optional(),
    hostname: str().optional(),
    domainname: str().optional(),
    mounts: arr(mount).optional(),
    hooks: hooks.optional(),
    annotations: stringMap().optional(),
    linux: linux.optional(),
    solaris: opaque().optional(),
    windows: opaque().optional(),
    vm: opaque().optional(),
    zos: opaque().optional(),
  });

  return { config, process, user, mount, idMapping, rlimit, capabilities, hook, hooks, linux, namespace, device, resources, seccomp };
}

type Schemas = ReturnType<typeof build>;
let cached: Schemas | undefined;

/** The config schemas, built on the first call and cached. */
export function configSchemas(): Schemas {
  return (cached ??= build());
}

/** The schema of a whole config.json (after loadConfig's lossless JSON parse). */
export function configSchema(): Schemas['config'] {
  return configSchemas().config;
}

export type Config = z.output<Schemas['config']>;
export type Process = z.output<Schemas['process']>;
export type User = z.output<Schemas['user']>;
export type Mount = z.output<Schemas['mount']>;
export type IDMapping = z.output<Schemas['idMapping']>;
export type Rlimit = z.output<Schemas['rlimit']>;
export type Capabilities = z.output<Schemas['capabilities']>;
export type Hook = z.output<Schemas['hook']>;
export type Hooks = z.output<Schemas['hooks']>;
export type Linux = z.output<Schemas['linux']>;
export type LinuxNamespace = z.output<Schemas['namespace']>;
export type LinuxDevice = z.output<Schemas['device']>;
export type LinuxResources = z.output<Schemas['resources']>;
export type LinuxSeccomp = z.output<Schemas['seccomp']>;
export type Root = NonNullable<Config['root']>;

/** A problem found in a document, located by a JSON pointer (RFC 6901) such as "/mounts/3/destination". */
export interface Problem {
  pointer: string;
  message: string;
}

/** The JSON pointer of a path: "" for the document itself, "~" and "/" escaped. */
export function jsonPointer(path: readonly PropertyKey[]): string {
  return path.map((p) => '/' + String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('');
}

/** The problem a zod issue describes (pointer + the leaf's message). */
export function issueProblem(issue: { path: readonly PropertyKey[]; message: string }): Problem {
  return { pointer: jsonPointer(issue.path), message: issue.message };
}
