// The monitor of detached containers (`run -d`) under the REAL systemd --user, where the container gets
// its own transient scope from the systemd cgroup driver and the monitor stays outside it (in the
// caller's cgroup): the exit is recorded, and neither --rm nor delete --force leaves a unit or a monitor.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, freshStateRoot, makeBundle, processesMentioning, requireSession, runRuntime, sharedLockHeld, stateLeftovers, uniqueId, waitFor, type RunResult } from './harness.js';

afterEach(cleanup);
after(cleanup);

function units(id: string): string[] {
  const r = spawnSync('systemctl', ['--user', 'list-units', '--all', '--plain', '--no-legend', `tsrunc-${id}.scope`], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function cgroupOf(pid: number): string {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim();
}

test('run -d under the systemd driver: the init in its scope, the monitor outside it; wait, then --rm leaves no unit', async (t) => {
  if (!requireSession(t)) return;
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('msess');
  const b = makeBundle({ args: ['sh', '-c', 'while [ ! -e /tmp/go ]; do sleep 0.05; done; exit 6'] });
  const run = (args: string[]) => runRuntime('tsrunc', args, { root });
  try {
    ok(await run(['run', '-d', '--rm', '--bundle', b.dir, id]), 'run -d --rm');
    const st = JSON.parse(readFileSync(join(root, id, 'state.json'), 'utf8')) as { pid: number; cgroup: { driver: string; unit: string }; monitor: { pid: number } };
    assert.deepEqual([st.cgroup.driver, st.cgroup.unit], ['systemd', `tsrunc-${id}.scope`]);
    assert.match(cgroupOf(st.pid), new RegExp(`/tsrunc-${id}\\.scope$`));
    assert.doesNotMatch(cgroupOf(st.monitor.pid), /tsrunc-.*\.scope/, 'the monitor is not in the container\'s scope');
    const waiting = run(['wait', id]);
    assert.ok(await sharedLockHeld(join(root, id, 'wait.lock')), 'wait holds its shared lock');
    writeFileSync(join(b.rootfs, 'tmp', 'go'), '');
    assert.equal(ok(await waiting, 'wait').stdout, '6\n');
    assert.ok(await waitFor(() => stateLeftovers(root).length === 0 && units(id).length === 0, 20_000), `no state, no unit: ${units(id).join('; ')}`);
    assert.ok(await waitFor(() => processesMentioning(root).length === 0), `no monitor left: ${processesMentioning(root).join('; ')}`);
  } finally {
    await run(['delete', '--force', id]);
  }
});

test('delete --force of a running monitored container under the systemd driver: no unit, no state, no monitor', async (t) => {
  if (!requireSession(t)) return;
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('msess');
  const b = makeBundle({ args: ['sleep', '600'] });
  const run = (args: string[]) => runRuntime('tsrunc', args, { root });
  try {
    ok(await run(['run', '-d', '--bundle', b.dir, id]), 'run -d');
    assert.equal(units(id).length, 1, 'the scope exists');
    ok(await run(['delete', '--force', id]), 'delete --force');
    assert.deepEqual(stateLeftovers(root), []);
    assert.ok(await waitFor(() => units(id).length === 0, 20_000), `no unit: ${units(id).join('; ')}`);
    assert.ok(await waitFor(() => processesMentioning(root).length === 0), `no monitor left: ${processesMentioning(root).join('; ')}`);
  } finally {
    await run(['delete', '--force', id]);
  }
});
