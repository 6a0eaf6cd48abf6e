import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configSchema, configSchemas, jsonPointer, issueProblem, NAMESPACE_TYPES, type Config } from '../../src/spec/schema.js';
import { stateFileSchema, toOciState, type StateFile } from '../../src/spec/state-schema.js';

/** A config using every field of runtime-spec 1.2 at least once. */
const FULL = {
  ociVersion: '1.2.0',
  process: {
    terminal: true,
    consoleSize: { height: 25, width: 80 },
    user: { uid: 1, gid: 1, umask: 18, additionalGids: [5, 6], username: 'someone' },
    args: ['sh', '-c', 'true'],
    commandLine: 'sh -c true',
    env: ['PATH=/bin', 'TERM=xterm'],
    cwd: '/root',
    capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], inheritable: [], permitted: ['CAP_KILL'], ambient: [] },
    rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
    noNewPrivileges: true,
    apparmorProfile: 'acme',
    oomScoreAdj: 100,
    scheduler: { policy: 'SCHED_DEADLINE', nice: 0, priority: 0, flags: ['SCHED_FLAG_RESET_ON_FORK'], runtime: 1, deadline: 2, period: 3 },
    selinuxLabel: 'system_u:system_r:svirt_lxc_net_t:s0:c124,c675',
    ioPriority: { class: 'IOPRIO_CLASS_IDLE', priority: 4 },
    execCPUAffinity: { initial: '7', final: '0-3,7' },
  },
  root: { path: 'rootfs', readonly: true },
  hostname: 'slartibartfast',
  domainname: 'example.org',
  mounts: [
    { destination: '/proc', type: 'proc', source: 'proc' },
    { destination: '/data', type: 'bind', source: '/volumes/testing', options: ['rbind', 'rw'], uidMappings: [{ containerID: 0, hostID: 1000, size: 1 }], gidMappings: [] },
  ],
  hooks: {
    prestart: [{ path: '/usr/bin/fix-mounts', args: ['fix-mounts', 'arg1'], env: ['key1=value1'] }],
    createRuntime: [{ path: '/usr/bin/hook', timeout: 5 }],
    createContainer: [{ path: '/usr/bin/hook' }],
    startContainer: [{ path: '/usr/bin/hook' }],
    poststart: [{ path: '/usr/bin/notify-start', timeout: 5 }],
    poststop: [{ path: '/usr/sbin/cleanup.sh', args: ['cleanup.sh', '-f'] }],
  },
  annotations: { 'com.example.key1': 'value1' },
  linux: {
    uidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    gidMappings: [{ containerID: 0, hostID: 1000, size: 32000 }],
    sysctl: { 'net.ipv4.ip_forward': '1' },
    resources: {
      devices: [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rw' }],
      memory: { limit: 536870912, reservation: 536870912, swap: -1, kernel: -1, kernelTCP: -1, swappiness: 0, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true },
      cpu: { shares: 1024, quota: 1000000, burst: 1000000, period: 500000, realtimeRuntime: 950000, realtimePeriod: 1000000, cpus: '2-3', mems: '0-7', idle: 0 },
      pids: { limit: 32771 },
      blockIO: {
        weight: 10,
        leafWeight: 10,
        weightDevice: [{ major: 8, minor: 0, weight: 500, leafWeight: 300 }],
        throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 600 }],
        throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 300 }],
      },
      hugepageLimits: [{ pageSize: '2MB', limit: 209715200 }],
      network: { classID: 1048577, priorities: [{ name: 'eth0', priority: 500 }] },
      rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 } },
      unified: { 'io.max': '259:0 rbps=2097152' },
    },
    cgroupsPath: '/myRuntime/myContainer',
    namespaces: NAMESPACE_TYPES.map((type) => ({ type })),
    devices: [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 438, uid: 0, gid: 0 }],
    seccomp: {
      defaultAction: 'SCMP_ACT_ALLOW',
      defaultErrnoRet: 1,
      architectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
      flags: ['SECCOMP_FILTER_FLAG_LOG'],
      listenerPath: '/run/seccomp-agent.socket',
      listenerMetadata: 'metadata',
      syscalls: [{ names: ['getcwd', 'chmod'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 1, value: 2, valueTwo: 3, op: 'SCMP_CMP_MASKED_EQ' }] }],
    },
    rootfsPropagation: 'slave',
    maskedPaths: ['/proc/kcore'],
    readonlyPaths: ['/proc/sys'],
    mountLabel: 'system_u:object_r:svirt_sandbox_file_t:s0:c715,c811',
    intelRdt: { closID: 'guaranteed_group', l3CacheSchema: 'L3:0=7f0;1=1f', memBwSchema: 'MB:0=20;1=70', enableCMT: true, enableMBM: true },
    personality: { domain: 'LINUX32', flags: [] },
    timeOffsets: { monotonic: { secs: 1, nanosecs: 2 }, boottime: { secs: -1 } },
    netDevices: { eth0: { name: 'ctr0' } },
  },
  solaris: { cappedCPU: { ncpus: '8' } },
  windows: { layerFolders: ['C:\\layers'] },
  vm: { hypervisor: { path: '/usr/bin/qemu' } },
  zos: { namespaces: [] },
};

const parse = (v: unknown) => configSchema().safeParse(v);
const firstProblem = (v: unknown) => {
  const r = parse(v);
  assert.equal(r.success, false, 'expected a failure');
  return issueProblem(r.error!.issues[0]!);
};

test('a config using every 1.2 field parses to itself', () => {
  const r = parse(structuredClone(FULL));
  assert.ok(r.success, JSON.stringify(r.error?.issues));
  assert.deepEqual(r.data, FULL);
});

test('the minimal config is just ociVersion', () => {
  assert.deepEqual(parse({ ociVersion: '1.0.0' }).data, { ociVersion: '1.0.0' });
  assert.deepEqual(firstProblem({}), { pointer: '/ociVersion', message: 'is required' });
});

test('unknown properties are ignored at every level, not rejected', () => {
  const r = parse({
    ociVersion: '1.2.0',
    future: { x: 1 },
    process: { cwd: '/', args: ['a'], newThing: true, user: { uid: 1, gid: 2, sid: 'S-1' } },
    mounts: [{ destination: '/x', type: 'tmpfs', extra: 1 }],
    linux: { namespaces: [{ type: 'pid', flags: 3 }], notYetSpecified: [] },
  });
  assert.ok(r.success);
  assert.deepEqual(r.data, {
    ociVersion: '1.2.0',
    process: { cwd: '/', args: ['a'], user: { uid: 1, gid: 2 } },
    mounts: [{ destination: '/x', type: 'tmpfs' }],
    linux: { namespaces: [{ type: 'pid' }] },
  });
});

test('process.user and its uid/gid default to 0, as Go zero values', () => {
  assert.deepEqual(parse({ ociVersion: '1.2.0', process: { cwd: '/' } }).data?.process?.user, { uid: 0, gid: 0 });
  assert.deepEqual(parse({ ociVersion: '1.2.0', process: { cwd: '/', user: { uid: 5 } } }).data?.process?.user, { uid: 5, gid: 0 });
});

test('64-bit fields take bigints across the whole range, and refuse what is out of range', () => {
  const rl = (hard: unknown, soft: unknown = 1) => ({ ociVersion: '1.2.0', process: { cwd: '/', rlimits: [{ type: 'RLIMIT_CORE', hard, soft }] } });
  assert.ok(parse(rl(18446744073709551615n)).success);
  assert.ok(parse(rl(0n, 0)).success);
  assert.equal(parse(rl(18446744073709551615n)).data?.process?.rlimits?.[0]?.hard, 18446744073709551615n);
  assert.deepEqual(firstProblem(rl(18446744073709551616n)), {
    pointer: '/process/rlimits/0/hard',
    message: 'must be an integer between 0 and 18446744073709551615',
  });
  assert.equal(firstProblem(rl(-1)).pointer, '/process/rlimits/0/hard');
  assert.equal(firstProblem(rl(1.5)).pointer, '/process/rlimits/0/hard');
  // A double beyond 2^53 cannot be trusted: the lossless parser would have made it a bigint.
  assert.equal(firstProblem(rl(2 ** 60)).pointer, '/process/rlimits/0/hard');
  const mem = (limit: unknown) => ({ ociVersion: '1.2.0', linux: { resources: { memory: { limit } } } });
  assert.ok(parse(mem(-1)).success);
  assert.ok(parse(mem(-9223372036854775808n)).success);
  assert.ok(parse(mem(9223372036854775807n)).success);
  assert.equal(firstProblem(mem(9223372036854775808n)).message, 'must be an integer between -9223372036854775808 and 9223372036854775807');
});

test('32-bit fields are plain numbers with their limits', () => {
  const user = (uid: unknown) => ({ ociVersion: '1.2.0', process: { cwd: '/', user: { uid, gid: 0 } } });
  assert.ok(parse(user(4294967295)).success);
  assert.deepEqual(firstProblem(user(4294967296)), { pointer: '/process/user/uid', message: 'must be an integer between 0 and 4294967295' });
  assert.equal(firstProblem(user(1n)).pointer, '/process/user/uid');
  assert.equal(firstProblem(user('0')).pointer, '/process/user/uid');
});

test('enums name the field kind and list the accepted values', () => {
  assert.deepEqual(firstProblem({ ociVersion: '1', linux: { namespaces: [{ type: 'pid' }, { type: 'net' }] } }), {
    pointer: '/linux/namespaces/1/type',
    message: 'unknown namespace type "net" (expected one of pid, network, mount, ipc, uts, user, cgroup, time)',
  });
  assert.match(firstProblem({ ociVersion: '1', linux: { rootfsPropagation: 'recursive' } }).message, /^unknown rootfs propagation "recursive" \(expected one of private, rprivate/);
  assert.match(firstProblem({ ociVersion: '1', linux: { namespaces: [{ type: 7 }] } }).message, /^must be a string \(one of pid, /);
});

test('pointers escape ~ and / (RFC 6901)', () => {
  assert.equal(jsonPointer(['linux', 'sysctl', 'net/ipv4~x']), '/linux/sysctl/net~1ipv4~0x');
  assert.equal(jsonPointer([]), '');
  assert.deepEqual(firstProblem({ ociVersion: '1', annotations: { 'a/b': 1 } }), { pointer: '/annotations/a~1b', message: 'must be a string' });
});

test('the schemas are built once, on first use', () => {
  assert.equal(configSchemas(), configSchemas());
  assert.equal(configSchema(), configSchemas().config);
});

test('Config type accepts a literal config (compile-time check)', () => {
  const c: Config = { ociVersion: '1.2.0', process: { cwd: '/', user: { uid: 0, gid: 0 } } };
  assert.ok(c);
});

const STATE: StateFile = {
  ociVersion: '1.2.0',
  id: 'abc',
  pid: 4242,
  pidStartTime: '123456',
  status: 'running',
  bundle: '/b',
  rootfs: '/b/rootfs',
  created: '2026-11-23T20:22:02.699457405Z',
  owner: '',
  rootless: true,
};

test('state file: round trip, unknown fields kept, bad fields named', () => {
  const s = stateFileSchema();
  assert.deepEqual(s.parse(STATE), STATE);
  assert.deepEqual(s.parse({ ...STATE, futureField: 1 }), { ...STATE, futureField: 1 });
  assert.ok(s.safeParse({ ...STATE, exitStatus: { code: null, signal: 9, at: '2026-01-01T00:00:00Z' } }).success);
  const bad = s.safeParse({ ...STATE, status: 'paused' });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error!.issues.map((i) => i.path), [['status']]);
  assert.equal(s.safeParse({ ...STATE, created: 'yesterday' }).success, false);
  assert.equal(s.safeParse({ ...STATE, pid: -1 }).success, false);
});

test('OCI state: runc field order, pid 0 once stopped, annotations only when present', () => {
  assert.deepEqual(Object.keys(toOciState(STATE)), ['ociVersion', 'id', 'pid', 'status', 'bundle', 'rootfs', 'created', 'owner']);
  assert.equal(toOciState(STATE, 'stopped').pid, 0);
  assert.equal(toOciState(STATE).pid, 4242);
  assert.deepEqual(Object.keys(toOciState({ ...STATE, annotations: { a: 'b' } })).at(-1), 'annotations');
  assert.equal(toOciState({ ...STATE, annotations: {} }).annotations, undefined);
});
