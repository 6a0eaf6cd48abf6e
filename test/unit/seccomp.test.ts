// linux.seccomp → libseccomp: the action and argument-group mapping (runc's), the seccomp op's
// encoding, and the plan positions of the op. compileSeccomp itself calls the host's libseccomp.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { archName, compileSeccomp, conditionGroups, enosysRange, seccompAction, wantsEnosys } from '../../src/linux/seccomp.js';
import { decodePlan, encodePlan } from '../../src/native/encode.js';
import { buildPlan, type PlanContext } from '../../src/linux/build-plan.js';
import { planContext } from './plan-context.js';
import { defaultSpec } from '../../src/spec/default-spec.js';
import type { Config } from '../../src/spec/schema.js';
import { existsSync, readFileSync } from 'node:fs';

test('actions map as runc maps them', () => {
  assert.equal(seccompAction('SCMP_ACT_KILL', undefined), 0);
  assert.equal(seccompAction('SCMP_ACT_KILL_THREAD', undefined), 0);
  assert.equal(seccompAction('SCMP_ACT_KILL_PROCESS', undefined), 0x80000000);
  assert.equal(seccompAction('SCMP_ACT_TRAP', undefined), 0x00030000);
  assert.equal(seccompAction('SCMP_ACT_ERRNO', undefined), 0x00050001);
  assert.equal(seccompAction('SCMP_ACT_ERRNO', 38), 0x00050026);
  assert.equal(seccompAction('SCMP_ACT_TRACE', undefined), 0x7ff00001);
  assert.equal(seccompAction('SCMP_ACT_TRACE', 0x10005), 0x7ff00005);
  assert.equal(seccompAction('SCMP_ACT_LOG', undefined), 0x7ffc0000);
  assert.equal(seccompAction('SCMP_ACT_ALLOW', undefined), 0x7fff0000);
  assert.equal(seccompAction('SCMP_ACT_NOTIFY', undefined), 0x7fc00000);
});

test('architecture names are libseccomp\'s', () => {
  assert.equal(archName('SCMP_ARCH_X86_64'), 'x86_64');
  assert.equal(archName('SCMP_ARCH_MIPSEL64N32'), 'mipsel64n32');
});

test('argument conditions: one AND rule, or one rule per condition when an index repeats', () => {
  assert.deepEqual(conditionGroups([]), [[]]);
  const a = { index: 0, v: 1 };
  const b = { index: 1, v: 2 };
  const c = { index: 0, v: 3 };
  assert.deepEqual(conditionGroups([a, b]), [[a, b]]);
  assert.deepEqual(conditionGroups([a, b, c]), [[a], [b], [c]]);
});

test('the seccomp op survives encoding', () => {
  const program = new Uint8Array(24).map((_, i) => i);
  const req = {
    newNamespaces: 0,
    joinNamespaces: [],
    preserveFds: 0,
    startSocketPath: '',
    ops: [
      { op: 'seccomp' as const, program, flags: 8, when: 'now' as const, origin: { pointer: '/linux/seccomp' } },
      { op: 'seccomp' as const, program, flags: 2, when: 'defer' as const, origin: { pointer: '/linux/seccomp' } },
    ],
  };
  assert.deepEqual(decodePlan(encodePlan(req)).ops, [
    { op: 'seccomp', program, flags: 8, when: 'now' },
    { op: 'seccomp', program, flags: 2, when: 'defer' },
  ]);
  assert.throws(() => encodePlan({ ...req, ops: [{ ...req.ops[0]!, program: new Uint8Array(7) }] }), /whole number of 8-byte/);
});

const ctx = (seccomp: PlanContext['seccomp']): PlanContext => planContext({ seccomp });

function kinds(config: Config, notify: boolean): string[] {
  const ops = buildPlan(config, ctx({ program: new Uint8Array(8), flags: notify ? 8 : 0, notify })).ops;
  return ops.map((o) => (o.op === 'seccomp' ? `seccomp:${o.when}` : o.op)).filter((k) => ['seccomp:now', 'seccomp:defer', 'cap-bounding', 'no-new-privs', 'wait-start', 'exec', 'resolve-exec'].includes(k));
}

test('plan position: with no_new_privs right before execve, or before the barrier with a listener', () => {
  const c = defaultSpec();
  c.process!.noNewPrivileges = true;
  assert.deepEqual(kinds(c, false), ['no-new-privs', 'cap-bounding', 'resolve-exec', 'wait-start', 'seccomp:defer', 'exec']);
  assert.deepEqual(kinds(c, true), ['no-new-privs', 'cap-bounding', 'resolve-exec', 'seccomp:now', 'wait-start', 'exec']);
});

test('plan position: without no_new_privs before the capabilities are dropped (needs CAP_SYS_ADMIN)', () => {
  const c = defaultSpec();
  c.process!.noNewPrivileges = false;
  assert.deepEqual(kinds(c, false), ['seccomp:now', 'cap-bounding', 'resolve-exec', 'wait-start', 'exec']);
});

test('compileSeccomp: a program of whole instructions; NOTIFY asks for a listener; unknown names warned', (t) => {
  if (!existsSync('/usr/lib/x86_64-linux-gnu/libseccomp.so.2') && !existsSync('/lib/x86_64-linux-gnu/libseccomp.so.2')) return t.skip('requires libseccomp2');
  const warnings: string[] = [];
  const r = compileSeccomp(
    {
      defaultAction: 'SCMP_ACT_ALLOW',
      syscalls: [
        { names: ['mkdir', 'not_a_syscall'], action: 'SCMP_ACT_NOTIFY' },
        { names: ['getpid'], action: 'SCMP_ACT_ALLOW' }, // the default action: skipped, as runc does
        { names: ['personality'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
      ],
    },
    (w) => warnings.push(w),
  );
  assert.ok(r.program.length > 0 && r.program.length % 8 === 0);
  assert.equal(r.notify, true);
  assert.equal(r.flags, 8);
  assert.deepEqual(warnings, ['config.json: /linux/seccomp/syscalls/0/names/1: unknown system call "not_a_syscall" (skipped)']);
  assert.throws(
    () => compileSeccomp({ defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }),
    /flags\/0: SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV needs an SCMP_ACT_NOTIFY rule/,
  );
});

test('ENOSYS for syscalls newer than the profile: which profiles, which numbers (runc\'s stub)', () => {
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_ERRNO' }), true);
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1 }), true);
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38 }), false);
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_KILL_PROCESS' }), true);
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_NOTIFY' }), true);
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_ALLOW' }), false);
  assert.equal(wantsEnosys({ defaultAction: 'SCMP_ACT_LOG' }), false);
  assert.deepEqual(enosysRange(448), { from: 449, to: 511 });
  assert.deepEqual(enosysRange(511), { from: 512, to: 511 }); // nothing left in the block
  assert.deepEqual(enosysRange(600), { from: 601, to: 1023 });
});

test('compileSeccomp: the ENOSYS rules fit (podman\'s profile denying with EPERM, three architectures)', (t) => {
  if (!existsSync('/usr/share/containers/seccomp.json')) return t.skip('requires /usr/share/containers/seccomp.json');
  const p = JSON.parse(readFileSync('/usr/share/containers/seccomp.json', 'utf8')) as { syscalls: { names: string[]; action: string }[] };
  const syscalls = p.syscalls.filter((r) => r.action === 'SCMP_ACT_ALLOW').map((r) => ({ names: r.names, action: 'SCMP_ACT_ALLOW' as const }));
  const architectures = ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'] as const;
  const eperm = compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: [...architectures], syscalls });
  const enosys = compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, architectures: [...architectures], syscalls });
  const native = compileSeccomp({ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls });
  // More rules, not a different program: ENOSYS-by-default profiles are left alone.
  assert.ok(eperm.program.length > enosys.program.length, `${eperm.program.length / 8} vs ${enosys.program.length / 8} instructions`);
  assert.ok(eperm.program.length / 8 < 4096);
  console.log(`podman's allow list denying with EPERM: ${eperm.program.length / 8} instructions (x86_64 alone ${native.program.length / 8}); with ENOSYS: ${enosys.program.length / 8}`);
  assert.ok(native.program.length < eperm.program.length);
});

test('compileSeccomp: a profile naming the newest syscall this libseccomp knows (only raw ENOSYS numbers left) still merges', () => {
  const r = compileSeccomp({
    defaultAction: 'SCMP_ACT_ERRNO',
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['futex_requeue', 'getpid'], action: 'SCMP_ACT_ALLOW' }],
  });
  assert.ok(r.program.length > 0 && r.program.length % 8 === 0);
});
