import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CAPABILITIES, LAST_CAP, capMask, capName, capNames, capNumber } from '../../src/linux/capabilities.js';
import { RLIMITS, RLIM_INFINITY, isRlimitName, rlimitName, rlimitNumber } from '../../src/linux/rlimits.js';
import { namespaceFlag, namespaceFlags, namespaceProcName, namespaceTypeOfFlag, CLONE_NEWNS, CLONE_NEWUSER, CLONE_NEWNET } from '../../src/linux/namespaces.js';
import { NAMESPACE_TYPES } from '../../src/spec/schema.js';
import { TsruncError } from '../../src/errors.js';

const KNOWN: [string, number][] = [
  ['CAP_CHOWN', 0],
  ['CAP_DAC_OVERRIDE', 1],
  ['CAP_KILL', 5],
  ['CAP_SETPCAP', 8],
  ['CAP_NET_BIND_SERVICE', 10],
  ['CAP_NET_RAW', 13],
  ['CAP_SYS_CHROOT', 18],
  ['CAP_SYS_ADMIN', 21],
  ['CAP_MKNOD', 27],
  ['CAP_AUDIT_WRITE', 29],
  ['CAP_SETFCAP', 31],
  ['CAP_MAC_OVERRIDE', 32],
  ['CAP_SYSLOG', 34],
  ['CAP_AUDIT_READ', 37],
  ['CAP_PERFMON', 38],
  ['CAP_BPF', 39],
  ['CAP_CHECKPOINT_RESTORE', 40],
];

for (const [name, bit] of KNOWN) {
  test(`${name} is bit ${bit}`, () => {
    assert.equal(capNumber(name), bit);
    assert.equal(capName(bit), name);
  });
}

test('41 capabilities, 0..40, no gaps or duplicates', () => {
  assert.equal(CAPABILITIES.length, 41);
  assert.equal(LAST_CAP, 40);
  assert.equal(new Set(CAPABILITIES).size, 41);
  for (const c of CAPABILITIES) assert.match(c, /^CAP_[A-Z_]+$/);
});

test('names match exactly, as runc does', () => {
  assert.equal(capNumber('cap_kill'), undefined);
  assert.equal(capNumber('KILL'), undefined);
  assert.equal(capNumber('CAP_KILL '), undefined);
  assert.equal(capName(41), undefined);
});

test('capMask sets the bits, reports unknown names and skips them', () => {
  const unknown: string[] = [];
  const mask = capMask(['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_FLY', 'CAP_KILL'], (n) => unknown.push(n));
  assert.equal(mask, (1n << 29n) | (1n << 5n) | (1n << 10n));
  assert.deepEqual(unknown, ['CAP_FLY']);
  assert.equal(capMask([]), 0n);
  assert.equal(capMask(['CAP_CHECKPOINT_RESTORE']), 1n << 40n);
  assert.equal(capMask([...CAPABILITIES]), (1n << 41n) - 1n);
});

test('capMask: capabilities above the kernel\'s last one are unavailable, like unknown ones', () => {
  const unknown: string[] = [];
  assert.equal(capMask(['CAP_BPF', 'CAP_SYSLOG'], (n) => unknown.push(n), 37), 1n << 34n);
  assert.deepEqual(unknown, ['CAP_BPF']);
});

test('capNames inverts capMask', () => {
  assert.deepEqual(capNames((1n << 29n) | (1n << 5n)), ['CAP_KILL', 'CAP_AUDIT_WRITE']);
  assert.deepEqual(capNames(0n), []);
  assert.deepEqual(capNames(1n << 45n), ['CAP_45']);
});

test('rlimits: names and numbers', () => {
  assert.equal(rlimitNumber('RLIMIT_CPU'), 0);
  assert.equal(rlimitNumber('RLIMIT_CORE'), 4);
  assert.equal(rlimitNumber('RLIMIT_NOFILE'), 7);
  assert.equal(rlimitNumber('RLIMIT_RTTIME'), 15);
  assert.equal(Object.keys(RLIMITS).length, 16);
  assert.equal(rlimitName(7), 'RLIMIT_NOFILE');
  assert.equal(rlimitName(16), undefined);
  assert.equal(isRlimitName('RLIMIT_AS'), true);
  assert.equal(isRlimitName('RLIMIT_FOO'), false);
  assert.equal(isRlimitName('toString'), false);
  assert.throws(() => rlimitNumber('RLIMIT_FOO'), (e: unknown) => e instanceof TsruncError && e.code === 'invalid-config');
  assert.equal(RLIM_INFINITY, 18446744073709551615n);
});

test('namespaces: every type has a flag and a /proc name', () => {
  for (const t of NAMESPACE_TYPES) {
    assert.ok(namespaceFlag(t) > 0);
    assert.equal(namespaceTypeOfFlag(namespaceFlag(t)), t);
  }
  assert.equal(namespaceFlag('mount'), CLONE_NEWNS);
  assert.equal(namespaceProcName('mount'), 'mnt');
  assert.equal(namespaceProcName('network'), 'net');
  assert.equal(namespaceProcName('time'), 'time');
  assert.equal(namespaceFlags(['user', 'network']), CLONE_NEWUSER | CLONE_NEWNET);
  assert.ok(namespaceFlags([...NAMESPACE_TYPES]) > 0, 'all flags OR to a positive number');
});
