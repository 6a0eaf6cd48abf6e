// The pure parts of the cgroup drivers: host detection, the driver selection rules, and the
// conversions of linux.resources into cgroup v2 files and systemd unit properties.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseCgroupHost, cgroupDir, parentPath, joinPath, v1Controllers } from '../../src/linux/cgroups/host.js';
import { unavailableWarning } from '../../src/linux/cgroups/files.js';
import { toCgroupFiles, toUnitProperties, sharesToWeight, swapToV2, cpuListToMask, annotationProperties, requestedLimits, controllersNeeded, blkioWeightToIoWeight } from '../../src/linux/cgroups/resources.js';
import { parseSystemdPath, slicePath, isSystemdPath } from '../../src/linux/cgroups/systemd.js';
import { chooseDriver, cgroupfsPath, busAddressFor, type SelectFacts } from '../../src/linux/cgroups/select.js';
import { TsruncError } from '../../src/errors.js';

const MI_HYBRID = [
  '30 24 0:26 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755',
  '31 30 0:27 / /sys/fs/cgroup/unified rw,nosuid,nodev,noexec,relatime shared:10 - cgroup2 cgroup2 rw',
  '32 30 0:28 / /sys/fs/cgroup/memory rw,nosuid,nodev,noexec,relatime shared:11 - cgroup cgroup rw,memory',
].join('\n');
const MI_UNIFIED = '30 24 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate';
const MI_LEGACY = '32 30 0:28 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory';
// The user-session test environment: cgroup2 mounted over the hybrid layout.
const MI_SHADOWED = MI_HYBRID + '\n63 47 0:38 / /sys/fs/cgroup rw,relatime - cgroup2 none rw';

test('host detection: hybrid, unified, v1 only, and a cgroup2 mount over the hybrid layout', () => {
  assert.deepEqual(parseCgroupHost(MI_HYBRID, '4:memory:/x\n0::/\n'), { mode: 'hybrid', mountPoint: '/sys/fs/cgroup/unified', mountRoot: '/', ownPath: '/' });
  assert.deepEqual(parseCgroupHost(MI_UNIFIED, '0::/user.slice/u.scope\n'), { mode: 'unified', mountPoint: '/sys/fs/cgroup', mountRoot: '/', ownPath: '/user.slice/u.scope' });
  assert.equal(parseCgroupHost(MI_LEGACY, '4:memory:/\n').mode, 'legacy');
  assert.equal(parseCgroupHost(MI_LEGACY, '4:memory:/\n').mountPoint, null);
  const s = parseCgroupHost(MI_SHADOWED, '0::/a/b\n');
  assert.equal(s.mountPoint, '/sys/fs/cgroup');
  assert.equal(s.mode, 'unified');
});

test('cgroup paths map to directories under the mount (and its root)', () => {
  const h = parseCgroupHost(MI_HYBRID, '0::/\n');
  assert.equal(cgroupDir(h, '/'), '/sys/fs/cgroup/unified');
  assert.equal(cgroupDir(h, '/a/b'), '/sys/fs/cgroup/unified/a/b');
  assert.equal(cgroupDir({ ...h, mountRoot: '/a' }, '/a/b'), '/sys/fs/cgroup/unified/b');
  assert.equal(parentPath('/a/b'), '/a');
  assert.equal(parentPath('/a'), '/');
  assert.equal(joinPath('/a/', 'b//c'), '/a/b/c');
  assert.throws(() => joinPath('/a', '../b'));
});

test('resources → cgroup v2 files, with runc\'s conversions', () => {
  const { writes, ignored } = toCgroupFiles({
    memory: { limit: 100_000_000, reservation: 50_000_000, swap: 200_000_000, kernel: 1 },
    cpu: { shares: 1024, quota: 50_000, period: 100_000, cpus: '0-1', mems: '0' },
    pids: { limit: 64 },
    blockIO: { weight: 500, throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 1048576 }] },
    hugepageLimits: [{ pageSize: '2MB', limit: 2097152 }],
    unified: { 'memory.high': '90000000' },
  });
  const files = Object.fromEntries(writes.map((w) => [w.file, w.value]));
  assert.equal(files['memory.max'], '100000000');
  assert.equal(files['memory.low'], '50000000');
  assert.equal(files['memory.swap.max'], '100000000');
  assert.equal(files['cpu.weight'], '39');
  assert.equal(files['cpu.max'], '50000 100000');
  assert.equal(files['cpuset.cpus'], '0-1');
  assert.equal(files['pids.max'], '64');
  assert.equal(files['io.weight'], `default ${blkioWeightToIoWeight(500)}`);
  assert.equal(files['io.max'], '8:0 rbps=1048576');
  assert.equal(files['hugetlb.2MB.max'], '2097152');
  assert.equal(files['memory.high'], '90000000');
  assert.deepEqual(ignored, ['memory.kernel']);
  assert.equal(writes.find((w) => w.file === 'pids.max')?.pointer, '/linux/resources/pids/limit');
  assert.deepEqual(controllersNeeded(writes), ['cpuset', 'cpu', 'io', 'memory', 'hugetlb', 'pids']);
});

test('unlimited values and quota without period', () => {
  const files = Object.fromEntries(toCgroupFiles({ memory: { limit: -1 }, pids: { limit: -1 }, cpu: { quota: -1 } }).writes.map((w) => [w.file, w.value]));
  assert.deepEqual(files, { 'memory.max': 'max', 'pids.max': 'max', 'cpu.max': 'max 100000' });
  assert.deepEqual(toCgroupFiles({ cpu: { quota: 20000 } }).writes.map((w) => w.value), ['20000 100000']);
  assert.deepEqual(toCgroupFiles({ memory: {}, pids: { limit: 0 } }).writes, []);
});

test('swap conversion refuses what runc refuses', () => {
  assert.equal(swapToV2(undefined, 5), null);
  assert.equal(swapToV2(0, 5), null);
  assert.equal(swapToV2(-1, 5), 'max');
  assert.equal(swapToV2(300n, 100), 200n);
  assert.throws(() => swapToV2(50, 100), /must be >=/);
  assert.throws(() => swapToV2(50, undefined), /needs a memory limit/);
  assert.throws(() => toCgroupFiles({ memory: { limit: 100, swap: 50 } }), /\/linux\/resources\/memory\/swap/);
});

test('shares → weight is runc\'s linear map', () => {
  assert.equal(sharesToWeight(2), 1n);
  assert.equal(sharesToWeight(262144), 10000n);
  assert.equal(sharesToWeight(1024), 39n);
  assert.equal(sharesToWeight(0), 0n);
});

test('resources → systemd properties, the rest left for the cgroup files', () => {
  const { properties, rest } = toUnitProperties({
    memory: { limit: 104857600 },
    pids: { limit: 32 },
    cpu: { quota: 50_000, period: 100_000, shares: 1024, cpus: '0,2' },
    blockIO: { throttleWriteIOPSDevice: [{ major: 8, minor: 0, rate: 100 }] },
  });
  const byName = Object.fromEntries(properties.map((p) => [p.name, p]));
  assert.deepEqual(byName.MemoryMax, { name: 'MemoryMax', signature: 't', value: 104857600n });
  assert.equal(byName.TasksMax?.value, 32n);
  assert.equal(byName.CPUWeight?.value, 39n);
  assert.equal(byName.CPUQuotaPerSecUSec?.value, 500000n);
  assert.equal(byName.CPUQuotaPeriodUSec?.value, 100000n);
  assert.deepEqual(byName.AllowedCPUs, { name: 'AllowedCPUs', signature: 'ay', value: [0b101] });
  assert.deepEqual(rest.map((w) => w.file), ['io.max']);
  // systemd's granularity is 10 ms: 1234 µs per 100 ms rounds up to 20 ms per second
  assert.equal(toUnitProperties({ cpu: { quota: 1234, period: 100000 } }).properties.find((p) => p.name === 'CPUQuotaPerSecUSec')?.value, 20000n);
  assert.equal(toUnitProperties({ memory: { limit: -1 } }).properties[0]?.value, (1n << 64n) - 1n);
});

test('CPU lists become byte masks', () => {
  assert.deepEqual(cpuListToMask('0'), [1]);
  assert.deepEqual(cpuListToMask('0-3,9'), [0x0f, 0x02]);
  assert.throws(() => cpuListToMask('a-b'), /not a CPU list/);
});

test('org.systemd.property.* annotations', () => {
  const props = annotationProperties({
    'org.systemd.property.CollectMode': "'inactive-or-failed'",
    'org.systemd.property.TimeoutStopSec': '5',
    'org.systemd.property.CPUAccounting': 'true',
    'org.systemd.property.TasksMax': 'uint64 99',
    other: 'x',
  });
  assert.deepEqual(props, [
    { name: 'CollectMode', signature: 's', value: 'inactive-or-failed' },
    { name: 'TimeoutStopUSec', signature: 't', value: 5_000_000n },
    { name: 'CPUAccounting', signature: 'b', value: true },
    { name: 'TasksMax', signature: 't', value: 99n },
  ]);
  assert.throws(() => annotationProperties({ 'org.systemd.property.X': '{weird}' }), /not a value/);
});

test('requested limits: what counts (device rules do not)', () => {
  assert.deepEqual(requestedLimits(undefined), []);
  assert.deepEqual(requestedLimits({ devices: [{ allow: false, access: 'rwm' }] }), []);
  assert.deepEqual(requestedLimits({ memory: { limit: 5 }, pids: { limit: 3 }, unified: { 'cpu.idle': '1' } }), ['memory.limit', 'pids.limit', 'unified.cpu.idle']);
});

test('systemd cgroupsPath form and slice paths', () => {
  assert.deepEqual(parseSystemdPath(undefined, 'abc'), { slice: '', unit: 'tsrunc-abc.scope' });
  assert.deepEqual(parseSystemdPath('machine.slice:libpod:xyz', 'abc'), { slice: 'machine.slice', unit: 'libpod-xyz.scope' });
  assert.deepEqual(parseSystemdPath('::', 'abc'), { slice: '', unit: 'tsrunc-abc.scope' });
  assert.throws(() => parseSystemdPath('a:b', 'abc'), /slice:prefix:name/);
  assert.throws(() => parseSystemdPath('notaslice:p:n', 'abc'), /must end in .slice/);
  assert.equal(isSystemdPath('/a/b'), false);
  assert.equal(isSystemdPath('s.slice:p:n'), true);
  assert.equal(slicePath('user.slice'), '/user.slice');
  assert.equal(slicePath('a-b-c.slice'), '/a.slice/a-b.slice/a-b-c.slice');
  assert.equal(slicePath('-.slice'), '/');
});

const unified = parseCgroupHost(MI_UNIFIED, '0::/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope\n');
const facts = (over: Partial<SelectFacts> = {}): SelectFacts => ({
  host: unified,
  rootless: true,
  uid: 1000,
  user: 'u',
  busAddress: 'unix:path=/run/user/1000/bus',
  busReachable: true,
  foreignRuntimeDir: null,
  ownSubtreeWritable: false,
  ...over,
});
const req = (over: Partial<Parameters<typeof chooseDriver>[1]> = {}) => ({ id: 'c1', systemdFlag: false, cgroupsPath: undefined, resources: undefined, ...over });

test('selection: rootless with a user bus gets systemd; without, a delegated subtree gets cgroupfs', () => {
  const s = chooseDriver(facts(), req());
  assert.equal(s.driver, 'systemd');
  assert.equal(s.driver === 'systemd' && s.explicit, false);
  const f = chooseDriver(facts({ busReachable: false, ownSubtreeWritable: true }), req());
  assert.deepEqual(f, { driver: 'cgroupfs', explicit: false, path: '/user.slice/user-1000.slice/user@1000.service/app.slice/c1' });
  const d = chooseDriver(facts({ busReachable: false }), req());
  assert.equal(d.driver, 'disabled');
  assert.match(d.driver === 'disabled' ? d.hint ?? '' : '', /dbus-user-session.*loginctl enable-linger u/);
});

test('selection: root gets cgroupfs, the systemd form or --systemd-cgroup gets systemd', () => {
  const root = facts({ rootless: false, uid: 0, host: parseCgroupHost(MI_HYBRID, '0::/\n') });
  assert.deepEqual(chooseDriver(root, req()), { driver: 'cgroupfs', explicit: true, path: '/c1' });
  assert.deepEqual(chooseDriver(root, req({ cgroupsPath: '/my/c' })), { driver: 'cgroupfs', explicit: true, path: '/my/c' });
  const s = chooseDriver(root, req({ cgroupsPath: 'system.slice:x:y' }));
  assert.deepEqual(s, { driver: 'systemd', explicit: true, unit: { slice: 'system.slice', unit: 'x-y.scope' }, busAddress: 'unix:path=/run/user/1000/bus', userBus: false });
  assert.equal(chooseDriver(facts(), req({ systemdFlag: true })).driver, 'systemd');
});

test('selection: errors and hints when the host cannot do what is asked', () => {
  const noBus = facts({ busReachable: false });
  assert.throws(() => chooseDriver(noBus, req({ systemdFlag: true })), (e: unknown) => e instanceof TsruncError && e.code === 'host-not-ready' && /enable-linger/.test(e.hint ?? ''));
  const su = facts({ busReachable: false, foreignRuntimeDir: '/run/user/0' });
  assert.throws(() => chooseDriver(su, req({ systemdFlag: true })), (e: unknown) => e instanceof TsruncError && /XDG_RUNTIME_DIR=\/run\/user\/0 is not yours.*\/run\/user\/1000/.test(e.hint ?? ''));
  assert.throws(() => chooseDriver(facts(), req({ cgroupsPath: 'a:b' })), (e: unknown) => e instanceof TsruncError && e.message.startsWith('config.json: /linux/cgroupsPath:'));
  const v1 = facts({ host: parseCgroupHost(MI_LEGACY, '') });
  assert.equal(chooseDriver(v1, req()).driver, 'disabled');
  assert.throws(() => chooseDriver(v1, req({ systemdFlag: true })), /only cgroup v1/);
});

test('cgroupfs paths: relative ones sit next to the caller\'s cgroup (runc\'s rule)', () => {
  assert.equal(cgroupfsPath(undefined, 'c1', '/'), '/c1');
  assert.equal(cgroupfsPath('sub/c', 'c1', '/a/me.scope'), '/a/sub/c');
  assert.equal(cgroupfsPath('/abs/c', 'c1', '/a/me.scope'), '/abs/c');
});

test('bus addresses', () => {
  assert.equal(busAddressFor(true, { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/x' }), 'unix:path=/x');
  assert.equal(busAddressFor(true, { XDG_RUNTIME_DIR: '/run/user/7' }), 'unix:path=/run/user/7/bus');
  assert.equal(busAddressFor(false, {}), 'unix:path=/run/dbus/system_bus_socket');
});

test('controllers held by cgroup v1 (hybrid host): named apart from undelegated ones in the warning', () => {
  const mi = MI_HYBRID + '\n33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n34 30 0:30 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd';
  assert.deepEqual(v1Controllers(mi).sort(), ['cpu', 'cpuacct', 'memory']);
  assert.deepEqual(v1Controllers(MI_UNIFIED), []);
  const w = unavailableWarning(['cpu', 'io'], '/sys/fs/cgroup/unified/x', ['cpu', 'memory'])!;
  assert.match(w, /^cgroup controllers cpu, io are not available in \/sys\/fs\/cgroup\/unified\/x: those limits are not enforced \(cpu: held by cgroup v1 on this hybrid host \(cgroup v2 gets only the controllers v1 does not use\): boot with cgroup v2 .*; delegate io to users: /);
  assert.doesNotMatch(unavailableWarning(['cpu'], '/d', ['cpu'])!, /delegate/);
  assert.equal(unavailableWarning([], '/d', []), null);
});
