// The pure parts of hooks, terminals and sd_notify: what a state file keeps of the hooks, runc's
// console-socket rules, the container's NOTIFY_SOCKET and where its mount goes in the plan.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hooksOf, hooksToKeep } from '../../src/runtime/hooks.js';
import { checkConsoleOptions } from '../../src/runtime/terminal.js';
import { insertBeforePivot, notifyEnv, hostNotifySocket } from '../../src/runtime/notify.js';
import type { Op } from '../../src/native/plan.js';

test('hooksToKeep: only the kinds that run after create, none when empty', () => {
  const h = { path: '/bin/true' };
  assert.deepEqual(hooksToKeep({ prestart: [h], createRuntime: [h], createContainer: [h], startContainer: [h], poststart: [], poststop: [h] }), {
    startContainer: [h],
    poststop: [h],
  });
  assert.equal(hooksToKeep({ prestart: [h] }), undefined);
  assert.equal(hooksToKeep(undefined), undefined);
});

test('hooksOf: a state file\'s hooks read back defensively', () => {
  assert.deepEqual(hooksOf(undefined), {});
  assert.deepEqual(hooksOf({ poststop: [{ path: '/a', args: ['a'] }, { nopath: 1 }, 'x'], bogus: [{ path: '/b' }], poststart: 'no' }), {
    poststop: [{ path: '/a', args: ['a'] }],
  });
});

test("checkConsoleOptions: runc's rules", () => {
  assert.doesNotThrow(() => checkConsoleOptions(true, '/s', true));
  assert.doesNotThrow(() => checkConsoleOptions(true, undefined, false));
  assert.doesNotThrow(() => checkConsoleOptions(false, undefined, true));
  assert.throws(() => checkConsoleOptions(true, undefined, true), /without --console-socket/);
  assert.throws(() => checkConsoleOptions(false, '/s', true), /--console-socket: only for a detached container with a terminal/);
  assert.throws(() => checkConsoleOptions(true, '/s', false), /--console-socket/);
});

test('notify: the container\'s NOTIFY_SOCKET replaces its own; the mount goes before pivot_root', () => {
  assert.equal(hostNotifySocket({ NOTIFY_SOCKET: '' }), undefined);
  assert.equal(hostNotifySocket({ NOTIFY_SOCKET: '@sd' }), '@sd');
  assert.deepEqual(notifyEnv(['A=1', 'NOTIFY_SOCKET=/x']), ['A=1', 'NOTIFY_SOCKET=/run/notify/notify.sock']);
  const o = { pointer: '/x' };
  const ops: Op[] = [{ op: 'mkdir', path: '/a', mode: 0o755, origin: o }, { op: 'pivot-root', origin: o }, { op: 'chdir', path: '/', origin: o }];
  insertBeforePivot(ops, { op: 'mask', path: '/m', origin: o });
  assert.deepEqual(ops.map((x) => x.op), ['mkdir', 'mask', 'pivot-root', 'chdir']);
});
