// A user bus that answers with no systemd behind it (a bare `dbus-daemon --session`, as a half-set-up
// login or a leftover daemon gives): each call to systemd would wait for the daemon's 25 s activation
// timeout. An automatic systemd choice must not block the container on it: it gives up after a few
// seconds and runs it without a cgroup, saying why; asked for explicitly, it fails with the reason. A
// config with limits has nothing to fall back on here (this user's cgroup is not delegated): it waits
// for the bus as an explicit choice does, so a slow manager is not taken for a missing one.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { makeBundle, runRuntime, freshStateRoot, cleanup, uniqueId, stateLeftovers, tempDir, waitFor } from './harness.js';

let daemon: ChildProcess | undefined;
let address = '';

before(async () => {
  const dir = tempDir('bare-bus');
  const socket = join(dir, 'bus');
  address = `unix:path=${socket}`;
  daemon = spawn('dbus-daemon', ['--session', '--nofork', '--nopidfile', `--address=${address}`], { stdio: 'ignore' });
  assert.ok(await waitFor(() => existsSync(socket), 5000), 'dbus-daemon came up');
});

after(() => {
  daemon?.kill('SIGTERM');
  cleanup();
});

test('an automatic systemd choice gives a bus without systemd a few seconds, then runs the container with one warning', async () => {
  const bundle = makeBundle({ args: ['echo', 'ran'] });
  const root = freshStateRoot('tsrunc');
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('barebus')], { root, env: { DBUS_SESSION_BUS_ADDRESS: address }, timeoutMs: 20_000 });
  assert.equal(r.timedOut, false, 'it did not wait for the bus daemon\'s activation timeout');
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, 'ran\n');
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^tsrunc: warning: container ".*" runs without a cgroup: systemd does not answer on the bus \(.+\)/);
  assert.deepEqual(stateLeftovers(root), []);
});

test('asked for with --systemd-cgroup, the same bus is an error, and nothing is left behind', async () => {
  const bundle = makeBundle({ args: ['true'] });
  const root = freshStateRoot('tsrunc');
  const r = await runRuntime('tsrunc', ['--systemd-cgroup', 'run', '--bundle', bundle.dir, uniqueId('barebus')], { root, env: { DBUS_SESSION_BUS_ADDRESS: address }, timeoutMs: 90_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^tsrunc: /);
  assert.deepEqual(stateLeftovers(root), []);
});

test('with limits and no other cgroup possible, a slow bus (its daemon stopped for 5 s) is waited for: the error is its answer, not a deadline', async () => {
  const bundle = makeBundle({ args: ['true'], mutate: (c) => (c.linux!.resources = { pids: { limit: 10 } }) });
  const root = freshStateRoot('tsrunc');
  daemon!.kill('SIGSTOP');
  let resumed = false;
  const resume = () => {
    if (!resumed) daemon!.kill('SIGCONT');
    resumed = true;
  };
  const timer = setTimeout(resume, 5000);
  let r;
  try {
    r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('barebus')], { root, env: { DBUS_SESSION_BUS_ADDRESS: address }, timeoutMs: 90_000 });
  } finally {
    clearTimeout(timer);
    resume();
  }
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^tsrunc: linux.resources asks for pids.limit, but the container can have no cgroup: systemd does not answer on the bus \(/);
  assert.doesNotMatch(r.stderr, /no answer in 3 s/, 'the automatic choice did not give up after a few seconds');
  assert.deepEqual(stateLeftovers(root), []);
});
