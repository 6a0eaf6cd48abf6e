// The cgroupfs driver as root on this host's cgroup2 hierarchy (hybrid here: /sys/fs/cgroup/unified):
// the container's own cgroup (its cgroup namespace root), freeze, ps, kill --all, limits, removal.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { makeBundle, runRuntime, freshStateRoot, cleanup, uniqueId, waitFor, parseState, hasNamespace, setNamespace, stateLeftovers, type Spec } from './harness.js';
import { createStartDeleteCycles } from './cgroup-cycles.js';

afterEach(cleanup);
after(cleanup);

/** The visible cgroup2 mount point (the last one mounted wins, as the kernel shows it). */
function cgroup2Mount(): string {
  const lines = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup2 /.test(l));
  assert.ok(lines.length > 0, 'a cgroup2 hierarchy is mounted');
  return lines[lines.length - 1]!.split(' ')[4]!;
}

/** Where tsrunc puts container `id` with no cgroupsPath: next to our own cgroup (runc's rule). */
function expectedPath(id: string): string {
  const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
  const parent = own === '/' ? '' : own.slice(0, own.lastIndexOf('/'));
  return `${parent}/${id}`;
}

const withCgroupNs = (c: Spec) => {
  if (!hasNamespace(c, 'cgroup')) setNamespace(c, 'cgroup');
};

test('root: the container gets its own cgroup2 directory, the root of its cgroup namespace; delete removes it', async () => {
  const id = uniqueId('cgfs');
  const root = freshStateRoot('tsrunc');
  const bundle = makeBundle({ args: ['sh', '-c', 'cat /proc/self/cgroup | grep ^0::; ls /sys/fs/cgroup | grep -c ^cgroup.procs$; sleep 1000'], mutate: withCgroupNs });
  const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root });
  assert.equal(run.code, 0, run.stderr);
  const { pid } = parseState(await runRuntime('tsrunc', ['state', id], { root }));
  const path = expectedPath(id);
  const dir = cgroup2Mount() + path;
  assert.equal(readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::')), `0::${path}`);
  assert.ok(existsSync(`${dir}/cgroup.procs`), dir);
  const saved = JSON.parse(readFileSync(`${root}/${id}/state.json`, 'utf8')) as { cgroup?: unknown };
  assert.deepEqual(saved.cgroup, { driver: 'cgroupfs', path });
  const del = await runRuntime('tsrunc', ['delete', '--force', id], { root });
  assert.equal(del.code, 0, del.stderr);
  assert.equal(existsSync(dir), false, `${dir} is removed`);

  // Inside: its cgroup is "/" and /sys/fs/cgroup shows that cgroup.
  const fg = await runRuntime('tsrunc', ['run', '--bundle', makeBundle({ args: ['sh', '-c', 'cat /proc/self/cgroup | grep ^0::; ls /sys/fs/cgroup | grep -c ^cgroup.procs$'], mutate: withCgroupNs }).dir, uniqueId('cgfs')], { root });
  assert.equal(fg.code, 0, fg.stderr);
  assert.equal(fg.stdout, '0::/\n1\n');
});

test('root: pause/resume, ps with a forked child and kill --all through cgroupfs', async () => {
  const id = uniqueId('cgops');
  const root = freshStateRoot('tsrunc');
  const bundle = makeBundle({ args: ['sh', '-c', 'sleep 1000 & sleep 1001; true'] });
  assert.equal((await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root })).code, 0);
  const dir = cgroup2Mount() + expectedPath(id);
  const tsrunc = (...args: string[]) => runRuntime('tsrunc', args, { root });
  assert.ok(await waitFor(() => readFileSync(`${dir}/cgroup.procs`, 'utf8').trim().split('\n').length === 3));
  const ps = await tsrunc('ps', '--format', 'json', id);
  assert.equal((JSON.parse(ps.stdout) as number[]).length, 3, ps.stdout);
  assert.equal((await tsrunc('pause', id)).code, 0);
  assert.equal(parseState(await tsrunc('state', id)).status, 'paused');
  assert.match(readFileSync(`${dir}/cgroup.events`, 'utf8'), /^frozen 1$/m);
  assert.equal((await tsrunc('resume', id)).code, 0);
  assert.equal(parseState(await tsrunc('state', id)).status, 'running');
  assert.equal((await tsrunc('kill', '--all', id, 'KILL')).code, 0);
  assert.ok(await waitFor(() => /^populated 0$/m.test(readFileSync(`${dir}/cgroup.events`, 'utf8'))));
  assert.equal((await tsrunc('delete', id)).code, 0);
  assert.equal(existsSync(dir), false);
});

test('root: limits are written where the cgroup2 hierarchy has the controller, and the missing ones are named', async () => {
  const id = uniqueId('cglim');
  const root = freshStateRoot('tsrunc');
  const bundle = makeBundle({ args: ['sleep', '1000'], mutate: (c) => (c.linux!.resources = { pids: { limit: 20 }, memory: { limit: 100000000 } }) });
  const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root });
  assert.equal(run.code, 0, run.stderr);
  const mount = cgroup2Mount();
  const dir = mount + expectedPath(id);
  const offered = readFileSync(`${mount}/cgroup.controllers`, 'utf8').trim().split(/\s+/);
  try {
    for (const [c, file, value] of [['pids', 'pids.max', '20'], ['memory', 'memory.max', '100000000']] as const) {
      if (offered.includes(c)) assert.equal(readFileSync(`${dir}/${file}`, 'utf8').trim(), value);
      else assert.match(run.stderr, new RegExp(`cgroup controllers [a-z, ]*${c}[a-z, ]* are not available in ${dir}: those limits are not enforced`));
    }
    const up = await runRuntime('tsrunc', ['update', '--pids-limit', '30', id], { root });
    assert.equal(up.code, 0, up.stderr);
    if (offered.includes('pids')) assert.equal(readFileSync(`${dir}/pids.max`, 'utf8').trim(), '30');
    else assert.match(up.stderr, /pids are not available/);
  } finally {
    assert.equal((await runRuntime('tsrunc', ['delete', '--force', id], { root })).code, 0);
  }
  assert.equal(existsSync(dir), false);
});

test('root: 100 create/start/delete cycles leave no cgroup directory (nor process, nor state) behind', async () => {
  const root = freshStateRoot('tsrunc');
  const tag = uniqueId('cyc');
  const mount = cgroup2Mount();
  const { paths, orphans } = await createStartDeleteCycles(root, tag, 100, (p) => mount + p);
  assert.equal(paths.size, 100);
  assert.equal(orphans.length, 10, 'ten forked children were left behind for delete to kill');
  const parent = expectedPath(tag).slice(0, expectedPath(tag).lastIndexOf('/'));
  for (const p of paths) assert.match(p, new RegExp(`^${parent}/${tag}-\\d+$`), 'next to our own cgroup');
  assert.deepEqual(readdirSync(mount + parent).filter((n) => n.startsWith(tag)), [], `no directory of ours left in ${mount + parent}`);
  assert.deepEqual(stateLeftovers(root), [], 'no state left');
});
