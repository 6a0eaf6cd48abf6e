// linux.sysctl, linux.personality, process.scheduler, process.ioPriority, and the LSM / resctrl fields
// that need the host's support: set for real in the container, compared with runc where runc 1.1
// implements them, and a one-line error where this host cannot honour them.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { cleanup, expectDifference, expectSame, makeBundle, setNamespace, missingPrerequisites, runRuntime, stateLeftovers, SELF, uniqueId, type Spec, type BundleOptions, type RunResult } from './harness.js';
import { missingProbe, withProbe } from './confinement-helpers.js';

const sh = (script: string): string[] => ['sh', '-c', script];

async function tsrunc(opts: BundleOptions): Promise<RunResult> {
  const b = makeBundle(opts);
  return runRuntime(SELF ? 'runc' : 'tsrunc', ['run', '--bundle', b.dir, uniqueId('attr')], { cwd: b.dir });
}

function assertOneLineError(r: RunResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, r.stdout);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length <= 2 && lines[0]!.startsWith('tsrunc: '), r.stderr);
  assert.match(lines[0]!, pattern);
}

const lsms = (): string => (existsSync('/sys/kernel/security/lsm') ? readFileSync('/sys/kernel/security/lsm', 'utf8') : '');

describe('process attributes', { skip: missingPrerequisites() || missingProbe() }, () => {
  afterEach(cleanup);
  after(cleanup);

  test('sysctl: ipc keys are written in the container, as under runc', async () => {
    const { tsrunc: t } = await expectSame({
      args: sh('cat /proc/sys/kernel/msgmax /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max'),
      mutate: (c) => (c.linux!.sysctl = { 'kernel.msgmax': '12345', 'kernel/shmmni': '2048', 'fs.mqueue.msg_max': '77' }),
    });
    assert.equal(t.stdout, '12345\n2048\n77\n');
    // …and the host's are untouched.
    assert.notEqual(readFileSync('/proc/sys/kernel/msgmax', 'utf8'), '12345\n');
  });

  test('sysctl: net keys in the container\'s own network namespace', async () => {
    const { tsrunc: r } = await expectSame({
      args: sh('cat /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/ip_default_ttl'),
      mutate: (c) => {
        setNamespace(c, 'network'); // the rootless spec has none
        c.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'net.ipv4.ip_default_ttl': '42' };
      },
    });
    assert.equal(r.stdout, '1\n42\n');
  });

  test('sysctl: a key outside the container\'s namespaces, or a value the kernel refuses, is a one-line error', async (t) => {
    if (SELF) return t.skip('tsrunc wording');
    assertOneLineError(await tsrunc({ args: ['true'], mutate: (c) => (c.linux!.sysctl = { 'kernel.panic': '1' }) }), /\/linux\/sysctl\/kernel\.panic: is not in a namespace of the container/);
    assertOneLineError(
      await tsrunc({ args: ['true'], mutate: (c) => (c.linux!.sysctl = { 'kernel.msgmax': 'not-a-number' }) }),
      /\/linux\/sysctl\/kernel\.msgmax \(kernel\.msgmax\): write: Invalid argument/,
    );
    assertOneLineError(await tsrunc({ args: ['true'], mutate: (c) => (c.linux!.sysctl = { 'kernel.msgnope': '1' }) }), /\/linux\/sysctl\/kernel\.msgnope/);
  });

  test('personality: LINUX32 makes uname report a 32-bit machine; LINUX leaves it', async (t) => {
    if (SELF) return t.skip('runc 1.1 ignores linux.personality');
    const r32 = await tsrunc({ args: sh('uname -m; /bin/probe get-persona'), setup: withProbe, mutate: (c) => (c.linux!.personality = { domain: 'LINUX32' }) });
    assert.equal(r32.code, 0, r32.stderr);
    assert.equal(r32.stdout, 'i686\nget-persona: 0x8\n');
    const r64 = await tsrunc({ args: sh('uname -m; /bin/probe get-persona'), setup: withProbe, mutate: (c) => (c.linux!.personality = { domain: 'LINUX' }) });
    assert.equal(r64.code, 0, r64.stderr);
    assert.equal(r64.stdout, 'x86_64\nget-persona: 0x0\n');
  });

  test('scheduler: SCHED_BATCH with a nice value, SCHED_IDLE; SCHED_ISO refused', async (t) => {
    if (SELF) return t.skip('runc 1.1 has no process.scheduler');
    const batch = await tsrunc({
      args: sh('/bin/probe get-sched; cut -d" " -f19 /proc/self/stat'),
      setup: withProbe,
      mutate: (c: Spec) => (c.process!.scheduler = { policy: 'SCHED_BATCH', nice: 7 }),
    });
    assert.equal(batch.code, 0, batch.stderr);
    assert.equal(batch.stdout, 'get-sched: policy 3\n7\n');
    const idle = await tsrunc({ args: ['/bin/probe', 'get-sched'], setup: withProbe, mutate: (c: Spec) => (c.process!.scheduler = { policy: 'SCHED_IDLE' }) });
    assert.equal(idle.stdout, 'get-sched: policy 5\n', idle.stderr);
    assertOneLineError(await tsrunc({ args: ['true'], mutate: (c: Spec) => (c.process!.scheduler = { policy: 'SCHED_ISO' }) }), /\/process\/scheduler\/policy: SCHED_ISO/);
  });

  test('ioPriority: the class and level reach the process', async (t) => {
    if (SELF) return t.skip('runc 1.1 has no process.ioPriority');
    const r = await tsrunc({ args: ['/bin/probe', 'get-ioprio'], setup: withProbe, mutate: (c: Spec) => (c.process!.ioPriority = { class: 'IOPRIO_CLASS_BE', priority: 6 }) });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `get-ioprio: 0x${((2 << 13) | 6).toString(16)}\n`);
    const idle = await tsrunc({ args: ['/bin/probe', 'get-ioprio'], setup: withProbe, mutate: (c: Spec) => (c.process!.ioPriority = { class: 'IOPRIO_CLASS_IDLE' }) });
    assert.equal(idle.stdout, `get-ioprio: 0x${(3 << 13).toString(16)}\n`, idle.stderr);
  });

  test('timeOffsets: the container\'s monotonic and boot-time clocks are shifted, the host\'s are not', async (t) => {
    if (SELF) return t.skip('runc 1.1 has no time namespace');
    const r = await tsrunc({
      args: sh('/bin/probe monotonic boottime; cut -d. -f1 /proc/uptime'),
      setup: withProbe,
      mutate: (c: Spec) => {
        setNamespace(c, 'time');
        c.linux!.timeOffsets = { monotonic: { secs: 5_000_000 }, boottime: { secs: 7_000_000, nanosecs: 5 } };
      },
    });
    assert.equal(r.code, 0, r.stderr);
    const [mono, boot, uptime] = r.stdout.trim().split('\n').map((l) => Number(l.replace(/^\w+: /, '')));
    const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split('.')[0]);
    assert.ok(mono! >= 5_000_000 && mono! < 5_000_000 + hostUptime + 60, r.stdout);
    assert.ok(boot! >= 7_000_000 && boot! < 7_000_000 + hostUptime + 60, r.stdout);
    assert.ok(uptime! >= 7_000_000, r.stdout);
    assert.ok(hostUptime < 5_000_000, 'the host clock moved');
    // Offsets on a joined time namespace are refused.
    const joined = await tsrunc({
      args: ['true'],
      mutate: (c: Spec) => {
        setNamespace(c, 'time', '/proc/self/ns/time');
        c.linux!.timeOffsets = { monotonic: { secs: 1 } };
      },
    });
    assertOneLineError(joined, /\/linux\/timeOffsets: offsets can only be set on a new time namespace/);
  });

  test('mountLabel without SELinux is ignored, as by crun; runc 1.1 (built with SELinux support) passes context= and the mount fails', async (t) => {
    if (/selinux/.test(lsms())) return t.skip('requires a host without SELinux (CI)');
    await expectDifference(
      {
        args: sh('grep -c "context=" /proc/self/mountinfo; grep -E " /dev " /proc/self/mountinfo | cut -d" " -f5,9-'),
        mutate: (c) => (c.linux!.mountLabel = 'system_u:object_r:container_file_t:s0:c1,c2'),
      },
      {
        runc: (r) => {
          assert.equal(r.code, 1);
          assert.match(r.stderr, /context=.*invalid argument/);
        },
        tsrunc: (r) => {
          assert.equal(r.code, 0, r.stderr);
          assert.match(r.stdout, /^0\n\/dev tmpfs /);
        },
      },
    );
  });

  test('apparmorProfile, selinuxLabel, intelRdt: a one-line error on a host without them', async (t) => {
    if (SELF) return t.skip('tsrunc wording');
    if (/apparmor|selinux/.test(lsms()) || existsSync('/sys/fs/resctrl/info')) return t.skip('requires a host without AppArmor, SELinux and resctrl (CI)');
    assertOneLineError(await tsrunc({ args: ['true'], mutate: (c) => (c.process!.apparmorProfile = 'tsrunc-test') }), /\/process\/apparmorProfile: AppArmor is not enabled on this host/);
    assertOneLineError(await tsrunc({ args: ['true'], mutate: (c) => (c.process!.selinuxLabel = 'system_u:system_r:container_t:s0') }), /\/process\/selinuxLabel: SELinux is not enabled on this host/);
    const rdt = await tsrunc({ args: ['true'], mutate: (c) => (c.linux!.intelRdt = { closID: 'x', l3CacheSchema: 'L3:0=f' }) });
    assertOneLineError(rdt, /\/linux\/intelRdt: this host has no resctrl filesystem/);
    assert.deepEqual(stateLeftovers(rdt.root), []);
  });
});
