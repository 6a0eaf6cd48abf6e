// tsrunc doctor's pure checks: facts in, verdicts out; the report renderings and failure → hint mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runChecks, exitStatus, formatText, formatJson, checksForFailure, pickHint, wantsDiagnosis, type DoctorFacts, type Verdict } from '../../src/linux/doctor/index.js';
import { TsruncError } from '../../src/errors.js';
import { nextFreeSubId } from '../../src/linux/doctor/userns.js';
import { busSocketFromAddress, parseCgroupMounts } from '../../src/linux/doctor/facts.js';

/** A rootless user on a ready systemd host with cgroup v2 and everything delegated. */
function ready(): DoctorFacts {
  return {
    uid: 1000,
    user: 'alice',
    isRoot: false,
    sysctl: { maxUserNamespaces: 63000, unprivilegedUsernsClone: 1, apparmorRestrictUserns: null },
    usernsProbe: 0,
    newuidmap: { path: '/usr/bin/newuidmap', setuidRoot: true, fileCaps: 0 },
    newgidmap: { path: '/usr/bin/newgidmap', setuidRoot: true, fileCaps: 0 },
    subuid: [{ start: 100000, count: 65536 }],
    subgid: [{ start: 100000, count: 65536 }],
    nextFreeSubId: 165536,
    runtimeDir: { value: '/run/user/1000', owner: 1000, mode: 0o40700, usual: '/run/user/1000' },
    bus: { kind: 'user', address: 'unix:path=/run/user/1000/bus', socket: '/run/user/1000/bus', reachable: true, systemdVersion: '252' },
    systemdBooted: true,
    lingering: true,
    cgroup: {
      mode: 'unified',
      mountPoint: '/sys/fs/cgroup',
      ownPath: '/user.slice/user-1000.slice/user@1000.service/app.slice/x.scope',
      ownOwner: 1000,
      ownWritable: true,
      controllers: ['cpuset', 'cpu', 'io', 'memory', 'pids'],
      controllersOf: '/user.slice/user-1000.slice/user@1000.service',
    },
    kernel: { pidfd_open: 0, clone3: 0, close_range: 0, openat2: 0, mount_setattr: 0, timeNamespace: true },
    nativeLibrary: '/opt/tsrunc/helpers/build/libtsrunc.so',
    libseccomp: '2.5.4',
    nestedHints: [],
  };
}

function check(f: DoctorFacts, id: Verdict['id']): Verdict {
  const v = runChecks(f).find((x) => x.id === id);
  assert.ok(v, `no verdict ${id}`);
  return v;
}

function statuses(f: DoctorFacts): Record<string, string> {
  return Object.fromEntries(runChecks(f).map((v) => [v.id, v.status]));
}

test('a ready host: every check is ok, nothing to fix, exit status 0', () => {
  const verdicts = runChecks(ready());
  assert.equal(verdicts.length, 20);
  assert.deepEqual(verdicts.filter((v) => v.status !== 'ok'), []);
  assert.ok(verdicts.every((v) => v.fix === undefined));
  assert.equal(exitStatus(verdicts), 0);
});

test('user namespaces: each sysctl that forbids them is a problem naming its fix', () => {
  const f = ready();
  f.sysctl.maxUserNamespaces = 0;
  f.usernsProbe = -28;
  assert.equal(check(f, 'userns').status, 'problem');
  assert.match(check(f, 'userns').fix!, /sysctl -w user\.max_user_namespaces=15000/);

  const debian = ready();
  debian.sysctl.unprivilegedUsernsClone = 0;
  debian.usernsProbe = -1;
  assert.match(check(debian, 'userns').detail, /unprivileged_userns_clone is 0/);
  assert.match(check(debian, 'userns').fix!, /sysctl -w kernel\.unprivileged_userns_clone=1/);

  const ubuntu = ready();
  ubuntu.sysctl.apparmorRestrictUserns = 1;
  ubuntu.usernsProbe = -1;
  assert.equal(check(ubuntu, 'userns').status, 'problem');
  assert.match(check(ubuntu, 'userns').detail, /EPERM.*AppArmor/);
  assert.match(check(ubuntu, 'userns').fix!, /kernel\.apparmor_restrict_unprivileged_userns=0/);

  // The restriction is on but creating one works (a profile allows it): nothing to fix.
  const allowed = ready();
  allowed.sysctl.apparmorRestrictUserns = 1;
  assert.equal(check(allowed, 'userns').status, 'ok');
});

test('user namespaces refused inside another container blame the outer one', () => {
  const f = ready();
  f.usernsProbe = -1;
  f.nestedHints = ['/.dockerenv'];
  assert.equal(check(f, 'userns').status, 'problem');
  assert.match(check(f, 'userns').fix!, /seccomp=unconfined/);
  assert.equal(check(f, 'nested').status, 'warning');
  assert.equal(check(ready(), 'nested').status, 'ok');
  const fine = ready();
  fine.nestedHints = ['container=podman in /proc/1/environ'];
  assert.equal(check(fine, 'nested').status, 'ok');
  assert.match(check(fine, 'nested').detail, /container=podman/);
});

test('newuidmap/newgidmap: missing, or neither setuid nor capable, is a problem; file capabilities are enough', () => {
  const missing = ready();
  missing.newuidmap = { path: null, setuidRoot: false, fileCaps: null };
  assert.equal(check(missing, 'newuidmap').status, 'problem');
  assert.match(check(missing, 'newuidmap').fix!, /apt-get install uidmap/);
  assert.equal(check(missing, 'newgidmap').status, 'ok');

  const plain = ready();
  plain.newgidmap = { path: '/usr/bin/newgidmap', setuidRoot: false, fileCaps: 0 };
  assert.equal(check(plain, 'newgidmap').status, 'problem');
  assert.match(check(plain, 'newgidmap').fix!, /setcap cap_setgid\+ep \/usr\/bin\/newgidmap/);

  const caps = ready();
  caps.newuidmap = { path: '/usr/bin/newuidmap', setuidRoot: false, fileCaps: 1 << 7 };
  caps.newgidmap = { path: '/usr/bin/newgidmap', setuidRoot: false, fileCaps: 1 << 7 }; // cap_setuid only: wrong one
  assert.equal(check(caps, 'newuidmap').status, 'ok');
  assert.match(check(caps, 'newuidmap').detail, /cap_setuid/);
  assert.equal(check(caps, 'newgidmap').status, 'problem');

  const root = ready();
  root.isRoot = true;
  root.newuidmap = { path: null, setuidRoot: false, fileCaps: null };
  assert.equal(check(root, 'newuidmap').status, 'ok');
});

test('subordinate ranges: none is a problem, a small one a warning, the fix picks a free range', () => {
  const none = ready();
  none.subuid = [];
  none.nextFreeSubId = 231072;
  assert.equal(check(none, 'subuid').status, 'problem');
  assert.equal(check(none, 'subuid').fix, 'sudo usermod --add-subuids 231072-296607 --add-subgids 231072-296607 alice');
  assert.equal(check(none, 'subgid').status, 'ok');

  const small = ready();
  small.subgid = [{ start: 100000, count: 1000 }, { start: 300000, count: 24 }];
  assert.equal(check(small, 'subgid').status, 'warning');
  assert.match(check(small, 'subgid').detail, /^100000:1000, 300000:24: 1024 IDs/);

  const root = ready();
  root.isRoot = true;
  root.subuid = [];
  assert.equal(check(root, 'subuid').status, 'ok');

  assert.equal(nextFreeSubId('', ''), 100000);
  assert.equal(nextFreeSubId('a:100000:65536\nb:165536:65536\n', 'a:100000:65536\n# c:900000:1\nbad\n'), 231072);
});

test('XDG_RUNTIME_DIR: unset, missing, or someone else\'s is a problem; open to others a warning', () => {
  const unset = ready();
  unset.runtimeDir.value = undefined;
  assert.equal(check(unset, 'runtime-dir').status, 'problem');
  assert.equal(check(unset, 'runtime-dir').fix, 'export XDG_RUNTIME_DIR=/run/user/1000');

  const noLogin = ready();
  noLogin.runtimeDir = { value: undefined, owner: null, mode: null, usual: null };
  assert.match(check(noLogin, 'runtime-dir').fix!, /log in as alice/);

  const afterSu = ready();
  afterSu.runtimeDir = { value: '/run/user/0', owner: 0, mode: 0o40700, usual: '/run/user/1000' };
  assert.equal(check(afterSu, 'runtime-dir').status, 'problem');
  assert.match(check(afterSu, 'runtime-dir').detail, /\/run\/user\/0 is root's, not yours/);

  const gone = ready();
  gone.runtimeDir = { value: '/run/user/1000', owner: null, mode: null, usual: null };
  assert.match(check(gone, 'runtime-dir').detail, /does not exist/);

  const open = ready();
  open.runtimeDir.mode = 0o40755;
  assert.equal(check(open, 'runtime-dir').status, 'warning');
  assert.equal(check(open, 'runtime-dir').fix, 'chmod 700 /run/user/1000');
});

test('user bus: dead where one is expected is a problem; on a host without systemd a warning', () => {
  const dead = ready();
  dead.bus = { kind: 'user', address: 'unix:path=/nowhere', socket: '/nowhere', reachable: false, error: 'ENOENT', systemdVersion: null };
  assert.equal(check(dead, 'user-bus').status, 'problem');
  assert.match(check(dead, 'user-bus').detail, /^\/nowhere does not answer \(ENOENT\)/);
  assert.match(check(dead, 'user-bus').fix!, /dbus-user-session.*enable-linger alice/);

  const wrongAddress = ready();
  wrongAddress.bus = { ...dead.bus, defaultReachable: true };
  assert.equal(check(wrongAddress, 'user-bus').fix, 'unset DBUS_SESSION_BUS_ADDRESS');

  const noSystemd = ready();
  noSystemd.systemdBooted = false;
  noSystemd.bus = { kind: 'user', address: undefined, socket: '/run/user/1000/bus', reachable: false, error: 'ENOENT', systemdVersion: null };
  assert.equal(check(noSystemd, 'user-bus').status, 'warning');

  assert.match(check(ready(), 'user-bus').detail, /systemd 252/);
});

test('lingering off is a warning only where systemd runs', () => {
  const off = ready();
  off.lingering = false;
  assert.equal(check(off, 'linger').status, 'warning');
  assert.equal(check(off, 'linger').fix, 'loginctl enable-linger alice');
  off.systemdBooted = false;
  assert.equal(check(off, 'linger').status, 'ok');
});

test('cgroups: hybrid and v1 hosts, a cgroup not ours, missing controllers', () => {
  const hybrid = ready();
  hybrid.cgroup = { mode: 'hybrid', mountPoint: '/sys/fs/cgroup/unified', ownPath: '/', ownOwner: 0, ownWritable: false, controllers: ['hugetlb'], controllersOf: '/' };
  hybrid.bus.reachable = false;
  const s = statuses(hybrid);
  assert.equal(s['cgroup-mode'], 'warning');
  assert.equal(s['own-cgroup'], 'warning');
  assert.equal(s.controllers, 'warning');
  assert.equal(check(hybrid, 'controllers').detail, 'hugetlb; missing cpu, io, memory, pids: limits on those are refused');
  assert.match(check(hybrid, 'controllers').fix!, /systemd\.unified_cgroup_hierarchy=1/);
  assert.match(check(hybrid, 'own-cgroup').fix!, /systemd-run --user --scope -p Delegate=yes/);

  const partial = ready();
  partial.cgroup.controllers = ['memory', 'pids'];
  assert.match(check(partial, 'controllers').detail, /^memory pids \(in \/user\.slice\/user-1000\.slice\/user@1000\.service\); missing cpu, io/);
  assert.match(check(partial, 'controllers').fix!, /Delegate=cpu cpuset io memory pids/);

  const v1 = ready();
  v1.cgroup = { mode: 'legacy', mountPoint: null, ownPath: '/', ownOwner: null, ownWritable: false, controllers: null, controllersOf: '/' };
  assert.equal(check(v1, 'cgroup-mode').status, 'warning');
  assert.equal(check(v1, 'own-cgroup').status, 'ok');
  assert.equal(check(v1, 'controllers').status, 'ok');
});

test('kernel features: a required syscall missing is a problem, an optional one a warning, unknown without the library', () => {
  const old = ready();
  old.kernel = { pidfd_open: -38, clone3: 0, close_range: 0, openat2: 0, mount_setattr: -38, timeNamespace: false };
  const s = statuses(old);
  assert.equal(s.pidfd_open, 'problem');
  assert.equal(s.mount_setattr, 'warning');
  assert.equal(s['time-namespace'], 'warning');
  assert.match(check(old, 'pidfd_open').detail, /ENOSYS, needs Linux 5\.3/);
  assert.equal(exitStatus(runChecks(old)), 1);

  const blocked = ready();
  blocked.kernel.openat2 = -1;
  blocked.nestedHints = ['/run/.containerenv'];
  assert.match(check(blocked, 'openat2').detail, /refused \(EPERM; a seccomp profile of the outer container\?\)/);
  assert.equal(check(blocked, 'nested').status, 'warning');

  const unbuilt = ready();
  unbuilt.nativeLibrary = null;
  unbuilt.usernsProbe = null;
  unbuilt.kernel = { pidfd_open: null, clone3: null, close_range: null, openat2: null, mount_setattr: null, timeNamespace: true };
  assert.equal(check(unbuilt, 'native-library').status, 'problem');
  assert.equal(check(unbuilt, 'clone3').status, 'warning');
  assert.equal(check(unbuilt, 'userns').status, 'warning');

  const noSeccomp = ready();
  noSeccomp.libseccomp = null;
  assert.equal(check(noSeccomp, 'libseccomp').status, 'warning');
  assert.match(check(noSeccomp, 'libseccomp').fix!, /apt-get install libseccomp2/);
});

test('the text report: one aligned line per check, the fix on the same line, a summary', () => {
  const f = ready();
  f.runtimeDir.value = undefined;
  f.lingering = false;
  const text = formatText(runChecks(f));
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 21);
  assert.equal(lines[5], 'problem  XDG_RUNTIME_DIR        not set: state falls back to a temporary directory and the user bus cannot be found — fix: export XDG_RUNTIME_DIR=/run/user/1000');
  assert.equal(lines[0], 'ok       user namespaces        max_user_namespaces=63000; creating one works');
  assert.match(lines[7]!, /^warning  lingering              off: .* — fix: loginctl enable-linger alice$/);
  assert.equal(lines[20], 'not ready: 1 problem, 1 warning');
  assert.equal(formatText(runChecks(ready())).trimEnd().split('\n').at(-1), 'ready: no problem found');
});

test('the JSON report carries every verdict and the counts', () => {
  const f = ready();
  f.subuid = [];
  const doc = JSON.parse(formatJson(runChecks(f))) as { ready: boolean; problems: number; warnings: number; checks: Verdict[] };
  assert.equal(doc.ready, false);
  assert.equal(doc.problems, 1);
  assert.equal(doc.warnings, 0);
  assert.equal(doc.checks.length, 20);
  assert.deepEqual(doc.checks.find((c) => c.id === 'subuid'), {
    id: 'subuid',
    title: 'subuid',
    status: 'problem',
    detail: 'no range for alice in /etc/subuid: only your own ID can be mapped',
    fix: 'sudo usermod --add-subuids 165536-231071 --add-subgids 165536-231071 alice',
  });
});

test('a failure message leads to the checks that explain it, and to the fix of the first one failing', () => {
  assert.deepEqual(checksForFailure('cannot create a user namespace: clone3: EPERM'), ['userns', 'nested']);
  assert.deepEqual(checksForFailure('cannot create the container process: clone3: ENOSYS (Function not implemented)'),
    ['userns', 'nested', 'pidfd_open', 'clone3', 'close_range', 'openat2', 'mount_setattr', 'time-namespace']);
  assert.deepEqual(checksForFailure('newuidmap failed: exit status 1'), ['newuidmap', 'newgidmap', 'subuid', 'subgid']);
  assert.deepEqual(checksForFailure('cannot reach the systemd user bus'), ['runtime-dir', 'user-bus']);
  assert.deepEqual(checksForFailure('config.json: /linux/resources/memory: the memory controller is not delegated'), ['cgroup-mode', 'own-cgroup', 'controllers']);
  assert.deepEqual(checksForFailure('config.json: /process/args: no such file'), []);

  const f = ready();
  f.runtimeDir.value = undefined;
  f.bus = { kind: 'user', address: undefined, socket: null, reachable: false, systemdVersion: null };
  const verdicts = runChecks(f);
  assert.equal(pickHint(verdicts, checksForFailure('systemd user bus not found')),
    'not set: state falls back to a temporary directory and the user bus cannot be found; fix: export XDG_RUNTIME_DIR=/run/user/1000');
  assert.equal(pickHint(runChecks(ready()), ['userns']), undefined);
  const warned = ready();
  warned.lingering = false;
  assert.match(pickHint(runChecks(warned), ['linger'])!, /; fix: loginctl enable-linger alice$/);
  assert.equal(pickHint(runChecks(warned), ['linger'], true), undefined);
});

test('only hint-less host, init and cgroup failures are diagnosed', () => {
  assert.equal(wantsDiagnosis(new TsruncError('init-failed', 'config.json: /linux/uidMappings: writing uid_map: exit status 1')), true);
  assert.equal(wantsDiagnosis(new TsruncError('host-not-ready', 'x', { hint: 'do y' })), false);
  assert.equal(wantsDiagnosis(new TsruncError('invalid-config', 'config.json: /process/args: missing')), false);
  assert.equal(wantsDiagnosis(new Error('cgroup')), false);
});

test('bus addresses and cgroup layouts are parsed from their texts', () => {
  assert.equal(busSocketFromAddress('unix:path=/run/user/1000/bus'), '/run/user/1000/bus');
  assert.equal(busSocketFromAddress('tcp:host=x,port=1;unix:abstract=/tmp/dbus-x,guid=ab'), '\0/tmp/dbus-x');
  assert.equal(busSocketFromAddress('unix:path=/tmp/a%20b'), '/tmp/a b');
  assert.equal(busSocketFromAddress('tcp:host=localhost,port=1'), null);

  const line = (id: number, mp: string, fstype: string, root = '/') => `${id} 1 0:${id} ${root} ${mp} rw,nosuid - ${fstype} ${fstype} rw`;
  const hybrid = [line(30, '/sys/fs/cgroup', 'tmpfs'), line(31, '/sys/fs/cgroup/unified', 'cgroup2'), line(32, '/sys/fs/cgroup/memory', 'cgroup')].join('\n');
  assert.deepEqual(parseCgroupMounts(hybrid), { mode: 'hybrid', mountPoint: '/sys/fs/cgroup/unified', mountRoot: '/' });
  // cgroup2 mounted over /sys/fs/cgroup hides the v1 mounts below it (user-session.sh does this).
  assert.deepEqual(parseCgroupMounts(hybrid + '\n' + line(40, '/sys/fs/cgroup', 'cgroup2', '/user.slice')), { mode: 'unified', mountPoint: '/sys/fs/cgroup', mountRoot: '/user.slice' });
  assert.deepEqual(parseCgroupMounts(line(32, '/sys/fs/cgroup/memory', 'cgroup')), { mode: 'legacy', mountPoint: null, mountRoot: '/' });
  assert.deepEqual(parseCgroupMounts(line(30, '/sys/fs/cgroup', 'cgroup2')), { mode: 'unified', mountPoint: '/sys/fs/cgroup', mountRoot: '/' });
});

test('every warning and problem carries a fix; no ok does', () => {
  const scenarios: DoctorFacts[] = [];
  const add = (m: (f: DoctorFacts) => void) => {
    const f = ready();
    m(f);
    scenarios.push(f);
  };
  add((f) => (f.cgroup.controllers = null));
  add((f) => (f.bus = { kind: 'system', address: undefined, socket: '/run/dbus/system_bus_socket', reachable: true, systemdVersion: null }));
  add((f) => (f.bus = { kind: 'user', address: undefined, socket: '/run/user/1000/bus', reachable: true, systemdVersion: null }));
  add((f) => (f.bus = { kind: 'system', address: undefined, socket: '/run/dbus/system_bus_socket', reachable: false, error: 'ENOENT', systemdVersion: null }));
  add((f) => Object.assign(f, { usernsProbe: -1, nestedHints: ['/.dockerenv'], libseccomp: null, nativeLibrary: null, lingering: false }));
  add((f) => (f.kernel = { pidfd_open: -38, clone3: -1, close_range: null, openat2: -38, mount_setattr: -1, timeNamespace: false }));
  add((f) => Object.assign(f, { subuid: [], subgid: [{ start: 1, count: 5 }], runtimeDir: { value: '/x', owner: 0, mode: 0o40755, usual: null } }));
  add((f) => (f.cgroup = { mode: 'legacy', mountPoint: null, ownPath: '/', ownOwner: null, ownWritable: false, controllers: null, controllersOf: '/' }));
  add((f) => (f.cgroup = { ...f.cgroup, ownWritable: false, ownOwner: 0, controllers: [] }));
  add((f) => (f.bus.reachable = false));
  for (const f of scenarios) {
    for (const v of runChecks(f)) assert.equal(v.fix !== undefined, v.status !== 'ok', `${v.id} (${v.status}): ${v.detail}`);
  }
});
