// Issue 5, point 5, shared by the systemd (session) and cgroupfs (root) suites: many create/start/delete
// cycles, each container in a cgroup of its own. Every tenth is still running when deleted (--force);
// every tenth has no pid namespace and leaves a forked child behind when its init exits, which only the
// cgroup can find: `delete` must kill it. The suites then list what is left for their driver.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { makeBundle, runRuntime, waitFor, dropNamespace } from './harness.js';

/** The cgroup2 path of a process (its "0::" line). */
export function cgroupOf(pid: number): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
  assert.ok(line, `/proc/${pid}/cgroup has a cgroup2 line`);
  return line.slice(3);
}

const gone = (pid: number) => !existsSync(`/proc/${pid}`) || /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));

/** What the cycles saw: each container's cgroup path, and the forked children left behind. */
export interface Cycles {
  paths: Set<string>;
  orphans: number[];
}

/**
 * `count` create/start/delete cycles of containers `${tag}-<i>` in state root `root`; `dirOf` maps a
 * cgroup2 path to its directory. Asserts each step, each cgroup being new, and every process gone.
 */
export async function createStartDeleteCycles(root: string, tag: string, count: number, dirOf: (path: string) => string): Promise<Cycles> {
  const quick = makeBundle({ args: ['true'] });
  const running = makeBundle({ args: ['sleep', '1000'] });
  // No pid namespace (so the child outlives its init) and hence no /proc mount nor paths masked through it.
  const orphaning = makeBundle({
    args: ['sh', '-c', 'sleep 1000 & echo forked'],
    mutate: (c) => {
      dropNamespace(c, 'pid');
      c.mounts = (c.mounts ?? []).filter((m) => m.destination !== '/proc');
      delete c.linux!.maskedPaths;
      delete c.linux!.readonlyPaths;
    },
  });
  const tsrunc = (...args: string[]) => runRuntime('tsrunc', args, { root });
  const out: Cycles = { paths: new Set(), orphans: [] };
  for (let i = 0; i < count; i++) {
    const id = `${tag}-${i}`;
    const kind = i % 10 === 9 ? 'running' : i % 10 === 4 ? 'orphaning' : 'quick';
    const c = await tsrunc('create', '--bundle', { quick, running, orphaning }[kind].dir, id);
    assert.equal(c.code, 0, `create ${id}: ${c.stderr}`);
    const { pid } = JSON.parse(readFileSync(`${root}/${id}/state.json`, 'utf8')) as { pid: number };
    const path = cgroupOf(pid);
    assert.ok(!out.paths.has(path), `${id} has a cgroup of its own: ${path}`);
    out.paths.add(path);
    const s = await tsrunc('start', id);
    assert.equal(s.code, 0, `start ${id}: ${s.stderr}`);
    if (kind === 'orphaning') {
      assert.ok(await waitFor(() => gone(pid)), `${id}: the init exited`);
      const left = readFileSync(`${dirOf(path)}/cgroup.procs`, 'utf8').trim().split('\n').filter((l) => l !== '').map(Number);
      assert.equal(left.length, 1, `${id}: its forked sleep is still in the cgroup: ${left.join(' ')}`);
      out.orphans.push(...left);
    }
    // `true` may not have exited yet: runc refuses to delete a running container too.
    if (kind === 'quick') assert.ok(await waitFor(() => gone(pid)), `${id}: true exited`);
    const d = await tsrunc(...(kind === 'running' ? ['delete', '--force', id] : ['delete', id]));
    assert.equal(d.code, 0, `delete ${id}: ${d.stderr}`);
    assert.equal(existsSync(dirOf(path)), false, `delete ${id} removed ${dirOf(path)}`);
  }
  for (const p of out.orphans) assert.ok(await waitFor(() => gone(p)), `the forked child ${p} was killed by delete`);
  return out;
}
