// linux.sysctl / personality, process.scheduler / ioPriority and the LSM fields as plan ops, and the
// errors for hosts without AppArmor, SELinux or resctrl. Pure.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeOps, checkHostFeatures, labelMountData, labelOps, sysctlOps, sysctlPath } from '../../src/linux/process-attrs.js';
import { buildPlan } from '../../src/linux/build-plan.js';
import { planContext } from './plan-context.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Config } from '../../src/spec/schema.js';
import { isTsruncError } from '../../src/errors.js';

const NONE = { apparmor: false, selinux: false, resctrl: false };
const ALL = { apparmor: true, selinux: true, resctrl: true };
const spec = (edit: (c: Config) => void): Config => {
  const c = defaultSpec();
  edit(c);
  return c;
};
const strip = (ops: { origin: unknown }[]) => ops.map(({ origin: _o, ...rest }) => rest);

test('sysctl keys become /proc/sys paths, dotted or slashed', () => {
  assert.equal(sysctlPath('net.ipv4.ip_forward'), '/proc/sys/net/ipv4/ip_forward');
  assert.equal(sysctlPath('net/ipv4/conf/eth0.100/forwarding'), '/proc/sys/net/ipv4/conf/eth0.100/forwarding');
  assert.equal(sysctlPath('kernel.shmmax'), '/proc/sys/kernel/shmmax');
});

test('sysctl ops carry the key as a JSON pointer; net keys refused in the host network namespace', () => {
  const c = spec((c) => (c.linux!.sysctl = { 'net.ipv4.ip_forward': '1', 'a/b': 'x' }));
  const ops = sysctlOps(c, false);
  assert.deepEqual(ops.map((o) => o.origin.pointer), ['/linux/sysctl/net.ipv4.ip_forward', '/linux/sysctl/a~1b']);
  assert.deepEqual(strip(ops)[0], { op: 'write-file', path: '/proc/sys/net/ipv4/ip_forward', data: '1' });
  assert.throws(() => sysctlOps(c, true), /the joined network namespace is the host's/);
});

test('personality, scheduler and ioPriority as the kernel numbers them', () => {
  const c = spec((c) => {
    c.linux!.personality = { domain: 'LINUX32' };
    c.process!.scheduler = { policy: 'SCHED_DEADLINE', flags: ['SCHED_FLAG_RESET_ON_FORK', 'SCHED_FLAG_DL_OVERRUN'], runtime: 10, deadline: 20, period: 30n as unknown as number };
    c.process!.ioPriority = { class: 'IOPRIO_CLASS_RT', priority: 3 };
  });
  assert.deepEqual(strip(attributeOps(c)), [
    { op: 'personality', persona: 8 },
    { op: 'scheduler', policy: 6, flags: 5n, nice: 0, priority: 0, runtime: 10n, deadline: 20n, period: 30n },
    { op: 'ioprio', value: (1 << 13) | 3 },
  ]);
  assert.deepEqual(attributeOps(defaultSpec()), []);
});

test('LSM labels: written for exec where the host has the module, a host-not-ready error where not', () => {
  const c = spec((c) => {
    c.process!.apparmorProfile = 'p';
    c.process!.selinuxLabel = 'l';
  });
  assert.deepEqual(strip(labelOps(c, ALL)), [
    { op: 'write-file', path: '/proc/self/attr/apparmor/exec', data: 'exec p' },
    { op: 'write-file', path: '/proc/self/attr/exec', data: 'l' },
  ]);
  assert.throws(() => labelOps(c, NONE), (e) => isTsruncError(e, 'host-not-ready') && /\/process\/apparmorProfile: AppArmor is not enabled/.test(e.message));
  assert.deepEqual(labelOps(spec((c) => (c.process!.apparmorProfile = '')), NONE), []);
});

test('mountLabel: context="…" on the data of the mounts runc labels, only with SELinux; an unquotable label refused', () => {
  const label = 'system_u:object_r:container_file_t:s0:c1,c2';
  assert.equal(labelMountData('tmpfs', 'mode=755,size=65536k', label, true), `mode=755,size=65536k,context="${label}"`);
  assert.equal(labelMountData('devpts', '', label, true), `context="${label}"`);
  for (const t of ['proc', 'sysfs', 'cgroup', 'cgroup2', 'mqueue', 'bind']) assert.equal(labelMountData(t, 'x', label, true), 'x', t);
  assert.equal(labelMountData('tmpfs', 'mode=755', label, false), 'mode=755'); // runc ignores it without SELinux
  assert.equal(labelMountData('tmpfs', 'mode=755', '', true), 'mode=755');
  const quoted = spec((c) => (c.linux!.mountLabel = 'a"b'));
  assert.throws(() => checkHostFeatures(quoted, ALL), (e) => isTsruncError(e, 'invalid-config') && /\/linux\/mountLabel: /.test(e.message));
  checkHostFeatures(quoted, NONE);
  checkHostFeatures(spec((c) => (c.linux!.mountLabel = label)), ALL);
});

test('the plan labels the default spec\'s tmpfs, devpts and mqueue-less mounts where SELinux is enabled, proc/sysfs never', () => {
  const c = spec((c) => (c.linux!.mountLabel = 'l'));
  const mounts = (selinux: boolean) =>
    buildPlan(c, planContext({ security: { apparmor: false, selinux, resctrl: false } })).ops.flatMap((o) => (o.op === 'mount' ? [{ fstype: o.fstype, data: o.data }] : []));
  const labelled = mounts(true).filter((m) => m.data.endsWith('context="l"')).map((m) => m.fstype);
  assert.ok(labelled.includes('tmpfs') && labelled.includes('devpts'), JSON.stringify(mounts(true)));
  assert.ok(!labelled.some((t) => ['proc', 'sysfs', 'mqueue', 'cgroup2'].includes(t)), JSON.stringify(labelled));
  assert.ok(mounts(false).every((m) => !m.data.includes('context=')));
});

test('a failure of the child\'s own setup names the config field behind the step', async () => {
  const { childFailure } = await import('../../src/runtime/child-errors.js');
  assert.match(childFailure([], -1, 13, 'timens_offsets').message, /^config\.json: \/linux\/timeOffsets: timens_offsets: /);
  assert.match(childFailure([], -1, 1, 'unshare').message, /^config\.json: \/linux\/namespaces: unshare: /);
  assert.match(childFailure([], -1, 5, 'dup2').message, /^config\.json: container setup: dup2: /);
  assert.match(childFailure([], -3, 1, 'setns').message, /^config\.json: \/linux\/namespaces: setns: /);
});
