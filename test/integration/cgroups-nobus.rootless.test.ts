// cgroups on a host with no user bus and no delegated cgroup (the plain machine, rootless): the
// disabled driver (issue 5, point 3) and the hints that tell the user what to do.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { accessSync, constants, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { makeBundle, runRuntime, freshStateRoot, cleanup, uniqueId, stateLeftovers } from './harness.js';

afterEach(cleanup);
after(cleanup);

const NO_BUS = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };

/** This suite needs a caller whose cgroup subtree is not its own (else tsrunc would use cgroupfs). */
function requireUndelegated(t: TestContext): boolean {
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))?.slice(3) ?? '/';
  const parent = own === '/' ? '/' : own.slice(0, own.lastIndexOf('/')) || '/';
  for (const mount of ['/sys/fs/cgroup/unified', '/sys/fs/cgroup']) {
    try {
      accessSync(`${mount}${parent === '/' ? '' : parent}/cgroup.procs`, constants.W_OK);
      t.skip(`requires a caller whose cgroup is not delegated to it (${mount}${parent} is writable)`);
      return false;
    } catch {
      // not writable there: good
    }
  }
  return true;
}

const lines = (s: string) => s.split('\n').filter((l) => l !== '');

test('no user bus: a config without limits runs, with one warning that says what to do', async (t) => {
  if (!requireUndelegated(t)) return;
  const bundle = makeBundle({ args: ['echo', 'ran'] });
  const id = uniqueId('nobus');
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, id], { env: NO_BUS });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ran\n');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^tsrunc: warning: container ".*" runs without a cgroup: no user bus at unix:path=\/nonexistent\/bus .*apt-get install dbus-user-session && loginctl enable-linger \S+/);
});

test('no user bus: a config with limits fails before starting, naming the limits, with the hint', async (t) => {
  if (!requireUndelegated(t)) return;
  const bundle = makeBundle({
    args: ['echo', 'ran'],
    mutate: (c) => {
      c.linux!.resources = { memory: { limit: 100000000 }, pids: { limit: 10 } };
    },
  });
  const root = freshStateRoot('tsrunc');
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('limits')], { root, env: NO_BUS });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '', 'the container never ran');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^tsrunc: linux\.resources asks for memory\.limit, pids\.limit, but the container can have no cgroup: .*\(start a systemd user session with its bus: apt-get install dbus-user-session && loginctl enable-linger /);
  assert.deepEqual(stateLeftovers(root), []);
});

test('--systemd-cgroup with no user bus is an error with the hint', async (t) => {
  if (!requireUndelegated(t)) return;
  const bundle = makeBundle({ args: ['echo', 'ran'] });
  const root = freshStateRoot('tsrunc');
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('sd')], { root, env: NO_BUS, globalArgs: ['--systemd-cgroup'] });
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(lines(r.stderr).length, 1, r.stderr);
  assert.match(r.stderr, /^tsrunc: systemd cgroups: no user bus at unix:path=\/nonexistent\/bus \(.*loginctl enable-linger/);
  assert.deepEqual(stateLeftovers(root), []);
});

test('after su: an XDG_RUNTIME_DIR that belongs to someone else gets its own hint', async (t) => {
  if (!requireUndelegated(t)) return;
  const bundle = makeBundle({ args: ['echo', 'ran'] });
  // /tmp is root's, as /run/user/0 is after `su user` from root.
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('su')], {
    env: { XDG_RUNTIME_DIR: '/tmp', DBUS_SESSION_BUS_ADDRESS: '' },
    globalArgs: ['--systemd-cgroup'],
  });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /XDG_RUNTIME_DIR=\/tmp is not yours \(left by su or sudo\?\): .*export XDG_RUNTIME_DIR=\/run\/user\/\d+/);
});

test('a systemd cgroupsPath that is not slice:prefix:name is a config error', async () => {
  const bundle = makeBundle({ args: ['true'], mutate: (c) => (c.linux!.cgroupsPath = 'user.slice:only-two') });
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('badpath')], { env: NO_BUS });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tsrunc: config\.json: \/linux\/cgroupsPath: "user\.slice:only-two" is not of the form slice:prefix:name/);
});

test('pause, ps and kill --all on a container without a cgroup say so', async (t) => {
  if (!requireUndelegated(t)) return;
  const bundle = makeBundle({ args: ['sleep', '1000'] });
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('nocg');
  const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root, env: NO_BUS });
  assert.equal(run.code, 0, run.stderr);
  try {
    for (const args of [['pause', id], ['ps', id], ['kill', '--all', id, 'KILL'], ['update', '--pids-limit', '5', id]]) {
      const r = await runRuntime('tsrunc', args, { root });
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`container "${id}" has no cgroup \\(it was created without one\\)`), args.join(' '));
    }
  } finally {
    const d = await runRuntime('tsrunc', ['delete', '--force', id], { root });
    assert.equal(d.code, 0, d.stderr);
  }
});
