// cgroup v2 through the REAL systemd --user over the REAL user bus (issue 5, points 1, 2 and 5). Runs
// only in the user-session environment (../shared/testenv/user-session.sh; .ci/run starts it and runs
// this suite there with TSRUNC_TEST_SESSION=1): no mock bus, no fake systemd.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { makeBundle, runRuntime, freshStateRoot, cleanup, uniqueId, waitFor, parseState, stateLeftovers, type Spec, requireSession } from './harness.js';

afterEach(cleanup);
after(cleanup);


/** `systemctl --user show UNIT -p …` as a record. */
function unitProps(unit: string, ...props: string[]): Record<string, string> {
  const r = spawnSync('systemctl', ['--user', 'show', unit, ...props.flatMap((p) => ['-p', p])], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function listUnits(pattern: string, ...extra: string[]): string[] {
  const r = spawnSync('systemctl', ['--user', 'list-units', '--all', '--plain', '--no-legend', ...extra, pattern], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

function cgroupOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  assert.ok(line, `/proc/${pid}/cgroup has a cgroup2 line`);
  return line.slice(3);
}

/** The directory of a cgroup2 path (this environment mounts the hierarchy at /sys/fs/cgroup). */
const cgDir = (path: string) => `/sys/fs/cgroup${path}`;

const LIMITS = (c: Spec) => {
  c.linux!.resources = { memory: { limit: 104857600 }, pids: { limit: 64 }, cpu: { quota: 50000, period: 100000 } };
};

test('run puts the container in tsrunc-<id>.scope, Delegate=yes with the limits as properties; delete removes the unit', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('scope');
  const unit = `tsrunc-${id}.scope`;
  const root = freshStateRoot('tsrunc');
  const bundle = makeBundle({ args: ['sleep', '1000'], mutate: LIMITS });
  const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root });
  assert.equal(run.code, 0, run.stderr);
  // This host keeps memory, pids and cpu in cgroup v1: systemd records the limits, tsrunc says they are not enforced.
  assert.match(run.stderr, /cgroup controllers .*memory.* are not available .*not enforced.*Delegate=cpu cpuset io memory pids/);
  const state = parseState(await runRuntime('tsrunc', ['state', id], { root }));
  const path = cgroupOf(state.pid);
  assert.ok(path.endsWith(`/${unit}`), `init in ${path}`);
  const props = unitProps(unit, 'Delegate', 'MemoryMax', 'TasksMax', 'CPUQuotaPerSecUSec', 'ControlGroup', 'ActiveState', 'Description');
  assert.equal(props.Delegate, 'yes');
  assert.equal(props.MemoryMax, '104857600');
  assert.equal(props.TasksMax, '64');
  assert.equal(props.CPUQuotaPerSecUSec, '500ms');
  assert.equal(props.ControlGroup, path);
  assert.equal(props.ActiveState, 'active');
  assert.equal(props.Description, `tsrunc container ${id}`);
  const saved = JSON.parse(readFileSync(`${root}/${id}/state.json`, 'utf8')) as { cgroup?: unknown };
  assert.deepEqual(saved.cgroup, { driver: 'systemd', unit, path });

  const del = await runRuntime('tsrunc', ['delete', '--force', id], { root });
  assert.equal(del.code, 0, del.stderr);
  assert.equal(unitProps(unit, 'LoadState').LoadState, 'not-found');
  assert.equal(existsSync(cgDir(path)), false, `${cgDir(path)} is gone`);
  assert.deepEqual(listUnits(unit, '--failed'), []);
});

test('the container sees its scope at /sys/fs/cgroup, as its cgroup namespace root when it has one', async (t) => {
  if (!requireSession(t)) return;
  const probe = 'sed -n "s/^0:://p" /proc/self/cgroup; ls /sys/fs/cgroup | grep -c -e "\\.slice$" -e "\\.scope$"; test -e /sys/fs/cgroup/cgroup.freeze && echo own';
  for (const cgroupns of [false, true]) {
    const id = uniqueId(cgroupns ? 'cgns' : 'nocgns');
    const bundle = makeBundle({
      args: ['sh', '-c', probe],
      mutate: (c) => {
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'cgroup');
        if (cgroupns) c.linux!.namespaces.push({ type: 'cgroup' });
      },
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, id]);
    assert.equal(r.code, 0, r.stderr);
    const [path, nested, own] = r.stdout.trim().split('\n');
    if (cgroupns) assert.equal(path, '/', r.stdout);
    else assert.match(path!, new RegExp(`/tsrunc-${id}\\.scope$`), r.stdout);
    assert.equal(nested, '0', `no other cgroup is visible: ${r.stdout}`);
    assert.equal(own, 'own', r.stdout);
  }
});

test('pause freezes (state says paused), resume thaws, ps lists a forked child, events --stats, kill --all', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('ops');
  const root = freshStateRoot('tsrunc');
  // The trailing `true` keeps sh from exec'ing the last sleep: three processes, two of them forked.
  const bundle = makeBundle({ args: ['sh', '-c', 'sleep 1000 & sleep 1001; true'] });
  const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root });
  assert.equal(run.code, 0, run.stderr);
  const { pid } = parseState(await runRuntime('tsrunc', ['state', id], { root }));
  const dir = cgDir(cgroupOf(pid));
  const events = () => readFileSync(`${dir}/cgroup.events`, 'utf8');
  const tsrunc = (...args: string[]) => runRuntime('tsrunc', args, { root });
  assert.ok(await waitFor(() => readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n').length >= 3), 'sh and its two sleeps are in the cgroup');

  const ps = await tsrunc('ps', '--format', 'json', id);
  assert.equal(ps.code, 0, ps.stderr);
  const pids = JSON.parse(ps.stdout) as number[];
  assert.ok(pids.includes(pid), `ps has the init ${pid}: ${ps.stdout}`);
  assert.ok(pids.length >= 3, `ps has the forked children: ${ps.stdout}`);
  const table = await tsrunc('ps', id, '-o', 'pid,args');
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /^\s*PID\s+COMMAND\n/);
  assert.match(table.stdout, /sleep 1000/);
  assert.match(table.stdout, /sleep 1001/);
  assert.equal(table.stdout.trim().split('\n').length, pids.length + 1, table.stdout);

  const pause = await tsrunc('pause', id);
  assert.equal(pause.code, 0, pause.stderr);
  assert.equal(parseState(await tsrunc('state', id)).status, 'paused');
  assert.match(events(), /^frozen 1$/m);
  const listed = await tsrunc('list', '--format', 'json');
  assert.equal((JSON.parse(listed.stdout) as { id: string; status: string }[]).find((c) => c.id === id)?.status, 'paused');
  assert.notEqual((await tsrunc('pause', id)).code, 0, 'pausing a paused container fails');
  const resume = await tsrunc('resume', id);
  assert.equal(resume.code, 0, resume.stderr);
  assert.equal(parseState(await tsrunc('state', id)).status, 'running');
  assert.match(events(), /^frozen 0$/m);

  const stats = await tsrunc('events', '--stats', id);
  assert.equal(stats.code, 0, stats.stderr);
  const ev = JSON.parse(stats.stdout) as { type: string; id: string; data: { cpu: { usage: { total: number } }; pids: { current: number }; memory: { usage: { limit: number } } } };
  assert.equal(ev.type, 'stats');
  assert.equal(ev.id, id);
  assert.equal(typeof ev.data.cpu.usage.total, 'number');
  assert.ok(ev.data.pids.current >= 3, stats.stdout);
  assert.match(stats.stdout, /"limit":18446744073709551615/, 'no limit reads as the largest uint64, as runc prints it');

  const kill = await tsrunc('kill', '--all', id, 'KILL');
  assert.equal(kill.code, 0, kill.stderr);
  // systemd removes the scope once it is empty: a read may race with that (ENOENT, ENODEV).
  const emptied = () => {
    try {
      return /^populated 0$/m.test(events());
    } catch {
      return true;
    }
  };
  assert.ok(await waitFor(emptied), 'every process of the cgroup is gone');
  for (const p of pids) assert.ok(await waitFor(() => !existsSync(`/proc/${p}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8'))), `pid ${p} is dead`);
  assert.equal(parseState(await tsrunc('state', id)).status, 'stopped');
  const del = await tsrunc('delete', id);
  assert.equal(del.code, 0, del.stderr);
  assert.deepEqual(listUnits(`tsrunc-${id}.scope`), []);
});

test('update changes the unit\'s properties (SetUnitProperties) and a stopped container cannot be updated', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('upd');
  const root = freshStateRoot('tsrunc');
  const bundle = makeBundle({ args: ['sleep', '1000'], mutate: LIMITS });
  assert.equal((await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root })).code, 0);
  const up = await runRuntime('tsrunc', ['update', '--memory', '200m', '--pids-limit', '70', id], { root });
  assert.equal(up.code, 0, up.stderr);
  const props = unitProps(`tsrunc-${id}.scope`, 'MemoryMax', 'TasksMax');
  assert.deepEqual(props, { MemoryMax: String(200 * 1024 * 1024), TasksMax: '70' });
  const json = await runRuntime('tsrunc', ['update', '--resources', '-', id], { root, input: '{"cpu": {"quota": 20000, "period": 100000}}' });
  assert.equal(json.code, 0, json.stderr);
  assert.equal(unitProps(`tsrunc-${id}.scope`, 'CPUQuotaPerSecUSec').CPUQuotaPerSecUSec, '200ms');
  assert.equal((await runRuntime('tsrunc', ['kill', id, 'KILL'], { root })).code, 0);
  assert.ok(await waitFor(() => listUnits(`tsrunc-${id}.scope`).length === 0 || unitProps(`tsrunc-${id}.scope`, 'ActiveState').ActiveState !== 'active'));
  const late = await runRuntime('tsrunc', ['update', '--pids-limit', '5', id], { root });
  assert.notEqual(late.code, 0);
  assert.match(late.stderr, /is stopped/);
  assert.equal((await runRuntime('tsrunc', ['delete', id], { root })).code, 0);
});

test('a failed unit of the same name left behind is reset and the start retried', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('stale');
  const unit = `tsrunc-${id}.scope`;
  // A scope that systemd stops for running too long ends up failed, and stays loaded.
  spawnSync('systemd-run', ['--user', '--scope', '--quiet', '-p', 'RuntimeMaxSec=1', `--unit=${unit}`, 'sleep', '10']);
  assert.equal(unitProps(unit, 'ActiveState').ActiveState, 'failed');
  const r = await runRuntime('tsrunc', ['run', '--bundle', makeBundle({ args: ['true'] }).dir, id]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(listUnits(unit), []);
});

test('100 create/start/delete cycles leave no scope, no cgroup directory and no failed unit', async (t) => {
  if (!requireSession(t)) return;
  const root = freshStateRoot('tsrunc');
  const tag = uniqueId('cyc');
  const quick = makeBundle({ args: ['true'] });
  const slow = makeBundle({ args: ['sleep', '1000'] });
  const paths = new Set<string>();
  for (let i = 0; i < 100; i++) {
    const id = `${tag}-${i}`;
    // Every tenth container is still running when deleted: its scope is stopped, not merely gone.
    const running = i % 10 === 9;
    const c = await runRuntime('tsrunc', ['create', '--bundle', (running ? slow : quick).dir, id], { root });
    assert.equal(c.code, 0, `create ${id}: ${c.stderr}`);
    const { pid } = JSON.parse(readFileSync(`${root}/${id}/state.json`, 'utf8')) as { pid: number };
    paths.add(cgroupOf(pid));
    const s = await runRuntime('tsrunc', ['start', id], { root });
    assert.equal(s.code, 0, `start ${id}: ${s.stderr}`);
    const d = await runRuntime('tsrunc', running ? ['delete', '--force', id] : ['delete', id], { root });
    if (d.code !== 0 && !running) {
      // `true` may not have exited yet: runc refuses to delete a running container too.
      assert.ok(await waitFor(() => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))));
      const again = await runRuntime('tsrunc', ['delete', id], { root });
      assert.equal(again.code, 0, `delete ${id}: ${again.stderr}`);
    } else {
      assert.equal(d.code, 0, `delete ${id}: ${d.stderr}`);
    }
  }
  assert.equal(paths.size, 100, 'every container had a scope of its own');
  for (const p of paths) assert.ok(p.includes(`/tsrunc-${tag}-`), p);
  assert.deepEqual(listUnits(`tsrunc-${tag}-*`), [], 'no unit left, loaded or failed');
  assert.deepEqual(listUnits('tsrunc-*.scope', '--failed'), [], 'no failed tsrunc scope');
  assert.deepEqual([...paths].filter((p) => existsSync(cgDir(p))), [], 'no cgroup directory left');
  assert.deepEqual(stateLeftovers(root), [], 'no state left');
});
