import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkConfig, validateConfig, unsupportedFields, cleanPath, UNSUPPORTED, type Caller } from '../../src/spec/validate.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import { toRootless } from '../../src/spec/rootless.js';
import { TsruncError } from '../../src/errors.js';
import type { Config } from '../../src/spec/schema.js';

/** The default spec changed by `edit`. */
function spec(edit: (c: Config) => void): Config {
  const c = defaultSpec();
  edit(c);
  return c;
}

const linux = (c: Config) => (c.linux ??= {});

// [what, edit, pointer, message (regexp)]
const INVALID: [string, (c: Config) => void, string, RegExp][] = [
  ['ociVersion not semver', (c) => (c.ociVersion = '1.2'), '/ociVersion', /^must be a SemVer version such as "1\.2\.0" \(got "1\.2"\)$/],
  ['ociVersion major 2', (c) => (c.ociVersion = '2.0.0'), '/ociVersion', /^version "2\.0\.0" is not supported/],
  ['ociVersion major 0', (c) => (c.ociVersion = '0.5.0-dev'), '/ociVersion', /is not supported/],
  ['root missing', (c) => delete c.root, '/root', /^is required$/],
  ['root path empty', (c) => (c.root!.path = ''), '/root/path', /^must not be empty$/],
  ['process missing', (c) => delete c.process, '/process', /^is required$/],
  ['args missing', (c) => delete c.process!.args, '/process/args', /^must be a non-empty array of strings$/],
  ['args empty', (c) => (c.process!.args = []), '/process/args', /^must be a non-empty array of strings$/],
  ['args[0] empty', (c) => (c.process!.args = ['']), '/process/args/0', /^must not be empty$/],
  ['args NUL', (c) => (c.process!.args = ['sh', 'a\0b']), '/process/args/1', /NUL/],
  ['cwd relative', (c) => (c.process!.cwd = 'tmp'), '/process/cwd', /^must be an absolute path \(got "tmp"\)$/],
  ['env without =', (c) => c.process!.env!.push('FOO'), '/process/env/2', /^must have the form NAME=value \(got "FOO"\)$/],
  ['env empty name', (c) => c.process!.env!.push('=x'), '/process/env/2', /NAME=value/],
  ['env NUL', (c) => c.process!.env!.push('A=\0'), '/process/env/2', /NUL/],
  ['rlimit unknown', (c) => c.process!.rlimits!.push({ type: 'RLIMIT_FOO', hard: 1, soft: 1 }), '/process/rlimits/1/type', /^unknown rlimit "RLIMIT_FOO" \(expected one of RLIMIT_CPU, /],
  ['rlimit duplicate', (c) => c.process!.rlimits!.push({ type: 'RLIMIT_NOFILE', hard: 1, soft: 1 }), '/process/rlimits/1/type', /^duplicate rlimit "RLIMIT_NOFILE" \(also at \/process\/rlimits\/0\)$/],
  ['rlimit soft above hard', (c) => (c.process!.rlimits = [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 18446744073709551615n }]), '/process/rlimits/0/soft', /^soft limit 18446744073709551615 is above the hard limit 1024$/],
  ['oomScoreAdj out of range', (c) => (c.process!.oomScoreAdj = 1001), '/process/oomScoreAdj', /between -1000 and 1000/],
  ['scheduler nice', (c) => (c.process!.scheduler = { policy: 'SCHED_OTHER', nice: 20 }), '/process/scheduler/nice', /between -20 and 19/],
  ['scheduler priority with OTHER', (c) => (c.process!.scheduler = { policy: 'SCHED_OTHER', priority: 5 }), '/process/scheduler/priority', /SCHED_FIFO or SCHED_RR/],
  ['scheduler runtime without DEADLINE', (c) => (c.process!.scheduler = { policy: 'SCHED_FIFO', runtime: 5 }), '/process/scheduler/runtime', /SCHED_DEADLINE/],
  ['ioPriority priority', (c) => (c.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 8 }), '/process/ioPriority/priority', /between 0 and 7/],
  ['hostname without uts', (c) => (linux(c).namespaces = [{ type: 'mount' }]), '/hostname', /^setting the hostname needs a uts namespace: add \{"type": "uts"\} to \/linux\/namespaces$/],
  ['domainname without uts', (c) => ((c.hostname = ''), (c.domainname = 'x'), (linux(c).namespaces = [{ type: 'mount' }])), '/domainname', /needs a uts namespace/],
  ['hostname too long', (c) => (c.hostname = 'h'.repeat(65)), '/hostname', /at most 64 bytes/],
  ['mount destination relative', (c) => (c.mounts![1]!.destination = 'dev'), '/mounts/1/destination', /^must be an absolute path \(got "dev"\)$/],
  ['mount destination escaping', (c) => (c.mounts![0]!.destination = '/proc/../../etc'), '/mounts/0/destination', /^must not contain "\.\." \(got "\/proc\/\.\.\/\.\.\/etc"\)$/],
  ['mount destination empty', (c) => (c.mounts![0]!.destination = ''), '/mounts/0/destination', /^must not be empty$/],
  ['mount destination NUL', (c) => (c.mounts![0]!.destination = '/a\0'), '/mounts/0/destination', /NUL/],
  ['bind mount without source', (c) => c.mounts!.push({ destination: '/data', options: ['rbind'] }), '/mounts/7/source', /^is required for a bind mount$/],
  ['mount without type', (c) => c.mounts!.push({ destination: '/data', source: 'tmpfs' }), '/mounts/7/type', /or give the "bind" or "rbind" option/],
  ['hook path relative', (c) => (c.hooks = { poststop: [{ path: 'cleanup.sh' }] }), '/hooks/poststop/0/path', /^must be an absolute path/],
  ['duplicate namespace', (c) => linux(c).namespaces!.push({ type: 'pid' }), '/linux/namespaces/5/type', /^duplicate namespace "pid" \(also at \/linux\/namespaces\/0\)$/],
  ['namespace path relative', (c) => (linux(c).namespaces![1] = { type: 'network', path: 'netns/x' }), '/linux/namespaces/1/path', /^must be an absolute path \(got "netns\/x"\)$/],
  ['uidMappings without user ns', (c) => (linux(c).uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), '/linux/uidMappings', /^needs a user namespace: add \{"type": "user"\} to \/linux\/namespaces$/],
  ['gidMappings without user ns', (c) => (linux(c).gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }]), '/linux/gidMappings', /needs a user namespace/],
  ['mapping size 0', (c) => rootless(c, [{ containerID: 0, hostID: 1000, size: 0 }]), '/linux/uidMappings/0/size', /^must be at least 1$/],
  ['mapping past 2^32', (c) => rootless(c, [{ containerID: 4294967295, hostID: 1000, size: 2 }]), '/linux/uidMappings/0/size', /past 4294967295/],
  ['mappings overlapping in the container', (c) => rootless(c, [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 5, hostID: 2000, size: 10 }]), '/linux/uidMappings/1', /^overlaps \/linux\/uidMappings\/0 in the container$/],
  ['mappings overlapping on the host', (c) => rootless(c, [{ containerID: 0, hostID: 1000, size: 10 }, { containerID: 100, hostID: 1009, size: 1 }]), '/linux/uidMappings/1', /on the host/],
  ['too many mappings', (c) => rootless(c, Array.from({ length: 341 }, (_, i) => ({ containerID: i, hostID: 1000 + i, size: 1 }))), '/linux/uidMappings', /at most 340/],
  ['timeOffsets without time ns', (c) => (linux(c).timeOffsets = { monotonic: { secs: 1 } }), '/linux/timeOffsets', /needs a time namespace/],
  ['timeOffsets unknown clock', (c) => ((linux(c).timeOffsets = { realtime: { secs: 1 } }), linux(c).namespaces!.push({ type: 'time' })), '/linux/timeOffsets/realtime', /unknown clock "realtime"/],
  ['timeOffsets nanosecs', (c) => ((linux(c).timeOffsets = { boottime: { nanosecs: 1e9 } }), linux(c).namespaces!.push({ type: 'time' })), '/linux/timeOffsets/boottime/nanosecs', /less than 1000000000/],
  ['device outside /dev', (c) => (linux(c).devices = [{ path: '/tmp/null', type: 'c', major: 1, minor: 3 }]), '/linux/devices/0/path', /^must be under \/dev \(got "\/tmp\/null"\)$/],
  ['device path relative', (c) => (linux(c).devices = [{ path: 'dev/null', type: 'c', major: 1, minor: 3 }]), '/linux/devices/0/path', /absolute/],
  ['device path escaping', (c) => (linux(c).devices = [{ path: '/dev/../etc/x', type: 'c', major: 1, minor: 3 }]), '/linux/devices/0/path', /\.\./],
  ['char device without major', (c) => (linux(c).devices = [{ path: '/dev/x', type: 'c', minor: 3 }]), '/linux/devices/0/major', /^is required for a "c" device$/],
  ['block device without minor', (c) => (linux(c).devices = [{ path: '/dev/x', type: 'b', major: 8 }]), '/linux/devices/0/minor', /"b" device/],
  ['device negative major', (c) => (linux(c).devices = [{ path: '/dev/x', type: 'u', major: -1, minor: 0 }]), '/linux/devices/0/major', /negative/],
  ['maskedPaths without mount ns', (c) => (linux(c).namespaces = [{ type: 'uts' }]), '/linux/maskedPaths', /needs a mount namespace/],
  ['maskedPath relative', (c) => linux(c).maskedPaths!.push('proc/x'), '/linux/maskedPaths/10', /absolute/],
  ['readonlyPath escaping', (c) => linux(c).readonlyPaths!.push('/proc/../x'), '/linux/readonlyPaths/5', /\.\./],
  ['sysctl ipc without ipc ns', (c) => ((linux(c).namespaces = [{ type: 'mount' }, { type: 'uts' }]), (linux(c).sysctl = { 'kernel.shmmax': '1' })), '/linux/sysctl/kernel.shmmax', /needs an ipc namespace/],
  ['sysctl net without net ns', (c) => ((linux(c).namespaces = [{ type: 'mount' }, { type: 'uts' }]), (linux(c).sysctl = { 'net/ipv4/ip_forward': '1' })), '/linux/sysctl/net~1ipv4~1ip_forward', /needs a network namespace/],
  ['sysctl not namespaced', (c) => (linux(c).sysctl = { 'vm.swappiness': '1' }), '/linux/sysctl/vm.swappiness', /would change the host/],
  ['sysctl kernel.hostname', (c) => (linux(c).sysctl = { 'kernel.hostname': 'x' }), '/linux/sysctl/kernel.hostname', /conflicts with \/hostname/],
  ['cgroup device access empty', (c) => (linux(c).resources = { devices: [{ allow: false }] }), '/linux/resources/devices/0/access', /must not be empty/],
  ['seccomp NOTIFY default', (c) => (linux(c).seccomp = { defaultAction: 'SCMP_ACT_NOTIFY', listenerPath: '/x' }), '/linux/seccomp/defaultAction', /cannot be the default action/],
  ['seccomp NOTIFY without listener', (c) => (linux(c).seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['mknod'], action: 'SCMP_ACT_NOTIFY' }] }), '/linux/seccomp/syscalls/0/action', /listenerPath/],
  ['seccomp metadata without listener', (c) => (linux(c).seccomp = { defaultAction: 'SCMP_ACT_ALLOW', listenerMetadata: 'x' }), '/linux/seccomp/listenerMetadata', /listenerPath/],
  ['seccomp errnoRet with ALLOW', (c) => (linux(c).seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ALLOW', errnoRet: 1 }] }), '/linux/seccomp/syscalls/0/errnoRet', /only with SCMP_ACT_ERRNO or SCMP_ACT_TRACE/],
  ['seccomp defaultErrnoRet with KILL', (c) => (linux(c).seccomp = { defaultAction: 'SCMP_ACT_KILL', defaultErrnoRet: 1 }), '/linux/seccomp/defaultErrnoRet', /cannot be used with SCMP_ACT_KILL/],
  ['seccomp arg index', (c) => (linux(c).seccomp = { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['x'], action: 'SCMP_ACT_ERRNO', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] }), '/linux/seccomp/syscalls/0/args/0/index', /between 0 and 5/],
  ['intelRdt closID with /', (c) => (linux(c).intelRdt = { closID: 'a/b' }), '/linux/intelRdt/closID', /invalid CLOS id/],
];

function rootless(c: Config, uidMappings: { containerID: number; hostID: number; size: number }[]): void {
  linux(c).namespaces!.push({ type: 'user' });
  linux(c).uidMappings = uidMappings;
}

for (const [what, edit, pointer, message] of INVALID) {
  test(`invalid: ${what}`, () => {
    const { errors } = checkConfig(spec(edit));
    assert.ok(errors.length > 0, 'expected an error');
    assert.equal(errors[0]!.pointer, pointer, JSON.stringify(errors));
    assert.match(errors[0]!.message, message);
  });
}

test(`at least 30 semantic errors are covered (${INVALID.length})`, () => {
  assert.ok(INVALID.length >= 30);
});

const VALID: [string, (c: Config) => void][] = [
  ['the default spec', () => {}],
  ['a user namespace without mappings (mapped automatically later)', (c) => linux(c).namespaces!.push({ type: 'user' })],
  ['a joined uts namespace with a hostname (runc only asks for the type)', (c) => (linux(c).namespaces![3] = { type: 'uts', path: '/proc/1/ns/uts' })],
  ['an empty hostname without uts', (c) => ((c.hostname = ''), (linux(c).namespaces = [{ type: 'mount' }]))],
  ['a non-normalised mount destination', (c) => (c.mounts![0]!.destination = '//proc/./')],
  ['a bind mount given by type', (c) => c.mounts!.push({ destination: '/data', type: 'bind', source: '/srv' })],
  ['a FIFO device without numbers', (c) => (linux(c).devices = [{ path: '/dev/fifo', type: 'p' }])],
  ['namespaced sysctls', (c) => (linux(c).sysctl = { 'kernel.shmmax': '1', 'fs.mqueue.msg_max': '10', 'net.ipv4.ip_forward': '1', 'kernel.domainname': 'x' })],
  ['a runc-style ociVersion', (c) => (c.ociVersion = '1.0.2-dev')],
  ['a future minor version', (c) => (c.ociVersion = '1.3.0')],
  ['RLIM_INFINITY both ways', (c) => (c.process!.rlimits = [{ type: 'RLIMIT_CORE', hard: 18446744073709551615n, soft: 18446744073709551615n }])],
  ['no process when not required', (c) => delete c.process],
];

for (const [what, edit] of VALID) {
  test(`valid: ${what}`, () => {
    const requireProcess = what !== 'no process when not required';
    assert.deepEqual(checkConfig(spec(edit), { requireProcess }).errors, []);
  });
}

test('unknown capabilities are warnings, not errors (runc warns and skips them)', () => {
  const c = spec((c) => {
    c.process!.capabilities!.bounding!.push('CAP_FLY');
    c.process!.capabilities!.ambient = ['cap_kill'];
  });
  const r = checkConfig(c);
  assert.deepEqual(r.errors, []);
  assert.deepEqual(r.warnings, [
    { pointer: '/process/capabilities/bounding/3', message: 'unknown capability "CAP_FLY" (ignored)' },
    { pointer: '/process/capabilities/ambient/0', message: 'unknown capability "cap_kill" (ignored)' },
  ]);
  assert.deepEqual(validateConfig(c).warnings, [
    'config.json: /process/capabilities/bounding/3: unknown capability "CAP_FLY" (ignored)',
    'config.json: /process/capabilities/ambient/0: unknown capability "cap_kill" (ignored)',
  ]);
});

test('validateConfig throws the first error as one invalid-config line', () => {
  const c = spec((c) => {
    c.process!.cwd = 'x';
    c.mounts![0]!.destination = 'proc';
  });
  assert.throws(
    () => validateConfig(c),
    (e: unknown) => e instanceof TsruncError && e.code === 'invalid-config' && e.message === 'config.json: /process/cwd: must be an absolute path (got "x")',
  );
  assert.equal(checkConfig(c).errors.length, 2);
});

test('cleanPath normalises container paths', () => {
  assert.equal(cleanPath('//a/./b/'), '/a/b');
  assert.equal(cleanPath('/'), '/');
  assert.equal(cleanPath('/sys/'), '/sys');
});

// ---------------------------------------------------------------------------------------------------

const ROOT = { uid: 0, gid: 0 };
const USER = { uid: 1000, gid: 1000 };
const pointers = (c: Config, caller: Caller = ROOT) => unsupportedFields(c, caller).map((u) => u.pointer);

const UNSUPPORTED_CASES: [string, (c: Config) => void, string[]][] = [
  ['device cgroup rules, limits and cgroupsPath as root (supported: nothing flagged)', (c) => {
    linux(c).resources = { devices: [{ allow: false, access: 'rwm' }], pids: { limit: 5 }, memory: {} };
    linux(c).cgroupsPath = '/a/b';
  }, []],
  ['netDevices', (c) => (linux(c).netDevices = { eth0: {} }), ['/linux/netDevices']],
  ['execCPUAffinity', (c) => (c.process!.execCPUAffinity = { final: '0' }), ['/process/execCPUAffinity']],
  ['terminal and consoleSize (supported: nothing flagged)', (c) => ((c.process!.terminal = true), (c.process!.consoleSize = { height: 1, width: 1 })), []],
  ['hooks (supported: nothing flagged)', (c) => (c.hooks = { prestart: [], poststop: [{ path: '/x' }], poststart: [{ path: '/y' }] }), []],
  ['id-mapped mounts (supported: nothing flagged)', (c) => c.mounts!.push({ destination: '/d', source: '/s', options: ['bind', 'ridmap'], uidMappings: [{ containerID: 0, hostID: 0, size: 1 }], gidMappings: [{ containerID: 0, hostID: 0, size: 1 }] }), []],
];

for (const [what, edit, expected] of UNSUPPORTED_CASES) {
  test(`unsupported: ${what}`, () => {
    assert.deepEqual(pointers(spec(edit)), expected);
  });
}

test('unsupported: device cgroup rules are accepted rootless (the user namespace forbids device nodes)', () => {
  const c = spec((c) => (linux(c).resources = { devices: [{ allow: false, access: 'rwm' }] }));
  assert.deepEqual(pointers(c, USER), []);
});

test('unsupported: empty or unset values are not flagged (Go zero values)', () => {
  const c = spec((c) => {
    linux(c).resources = {};
    linux(c).cgroupsPath = '';
    linux(c).sysctl = {};
    c.process!.apparmorProfile = '';
    c.process!.terminal = false;
    c.hooks = { prestart: [] };
  });
  assert.deepEqual(unsupportedFields(c, ROOT), []);
});

test('unsupported: ID mappings are supported (planIdMaps checks them against the caller\'s ranges)', () => {
  const maps = (uid: { hostID: number; size: number }[], gid: { hostID: number; size: number }[]) =>
    spec((c) => {
      linux(c).namespaces!.push({ type: 'user' });
      linux(c).uidMappings = uid.map((m) => ({ containerID: 0, ...m }));
      linux(c).gidMappings = gid.map((m) => ({ containerID: 0, ...m }));
    });
  assert.deepEqual(pointers(maps([{ hostID: 1000, size: 1 }], [{ hostID: 1000, size: 1 }]), USER), []);
  assert.deepEqual(pointers(maps([{ hostID: 100000, size: 65536 }], [{ hostID: 100000, size: 65536 }]), USER), []);
});

test('unsupported: the rootless default spec of the caller needs nothing unsupported', () => {
  assert.deepEqual(unsupportedFields(toRootless(defaultSpec(), USER), USER), []);
});

test('unsupported: every row has a field name and reason, and rows are distinct', () => {
  const fields = UNSUPPORTED.map((r) => r.field);
  assert.equal(new Set(fields).size, fields.length);
  for (const r of UNSUPPORTED) assert.ok(r.reason.length > 0);
});
