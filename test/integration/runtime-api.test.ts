// The embeddable API (`import { Runtime } from 'tsrunc'`): real containers from one process, with exit
// statuses as promises, events, per-container stdio, and many containers waited for at once without
// starving the process's other async work (one reaper, not one threadpool thread per container).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, openSync, readFileSync, readdirSync } from 'node:fs';
import { pbkdf2 } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Runtime, TsruncError } from '../../src/index.js';
import { cleanup, makeBundle, missingPrerequisites, runRuntime, stateLeftovers, tempDir, uniqueId } from './harness.js';

function runtime(root = tempDir('api-state', 0o700)): Runtime {
  return new Runtime({ root, logger: { warn: () => {}, debug: () => {} } });
}

/** A file to hand a container as its stdout/stderr, and what it holds afterwards. */
function capture(): { fd: number; text: () => string } {
  const path = join(tempDir('api-out'), 'out');
  const fd = openSync(path, 'w+');
  return { fd, text: () => readFileSync(path, 'utf8') };
}

/** The state letter of a process ("Z" for a zombie), from /proc/<pid>/status. */
function procState(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8').match(/^State:\s+(\S)/m)?.[1] ?? '';
  } catch {
    return '';
  }
}

/** The threadpool is free: four pbkdf2 rounds (each a threadpool job) and a file read complete. */
async function threadpoolWork(): Promise<void> {
  const jobs = Array.from({ length: 4 }, () => new Promise<void>((resolve, reject) => pbkdf2('x', 'y', 20_000, 32, 'sha256', (e) => (e ? reject(e) : resolve()))));
  await Promise.all([...jobs, readFile('/proc/self/status')]);
}

describe('Runtime API', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  test('run resolves to the exit status; the container is removed after', async () => {
    const rt = runtime();
    const ok = makeBundle({ args: ['true'] });
    const three = makeBundle({ args: ['sh', '-c', 'exit 3'] });
    const sleeper = makeBundle({ args: ['sleep', '1000'] });
    assert.deepEqual(await rt.run(uniqueId('api'), { bundle: ok.dir }), { code: 0, signal: null });
    assert.deepEqual(await rt.run(uniqueId('api'), { bundle: three.dir }), { code: 3, signal: null });
    // Killed from outside once it runs (an init cannot SIGKILL itself from inside its pid namespace).
    rt.once('start', (s) => void rt.kill(s.id, 'KILL'));
    assert.deepEqual(await rt.run(uniqueId('api'), { bundle: sleeper.dir }), { code: 137, signal: 9 });
    assert.deepEqual(stateLeftovers(rt.context.store.root), []);
    assert.deepEqual(await rt.list(), []);
  });

  test('stdio per container: each writes to its own fd, not the process stdout', async () => {
    const rt = runtime();
    const bundle = makeBundle({ args: ['sh', '-c', 'echo "out $0"; echo "err $0" >&2', 'x'] });
    const outs = [capture(), capture()];
    const codes = await Promise.all(outs.map((o) => rt.run(uniqueId('api'), { bundle: bundle.dir, stdio: [-1, o.fd, o.fd] })));
    for (const o of outs) closeSync(o.fd);
    assert.deepEqual(codes.map((c) => c.code), [0, 0]);
    for (const o of outs) assert.equal(o.text(), 'out x\nerr x\n');
  });

  test('bundle paths are relative to the Runtime cwd, not the process cwd', async () => {
    const bundle = makeBundle({ args: ['true'] });
    const rt = new Runtime({ root: tempDir('api-state', 0o700), cwd: bundle.dir });
    assert.notEqual(process.cwd(), bundle.dir);
    assert.equal((await rt.run(uniqueId('api'))).code, 0);
  });

  test("hooks get the Runtime's environment, not the process's", async () => {
    const out = join(tempDir('api-hook'), 'env');
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        (c as { hooks?: unknown }).hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', `echo "[$TSRUNC_API_MARK]" > ${out}`] }] };
      },
    });
    assert.equal(process.env.TSRUNC_API_MARK, undefined);
    const rt = new Runtime({ root: tempDir('api-state', 0o700), env: { ...process.env, TSRUNC_API_MARK: 'from-the-runtime' } });
    assert.equal((await rt.run(uniqueId('api'), { bundle: bundle.dir })).code, 0);
    assert.equal(readFileSync(out, 'utf8'), '[from-the-runtime]\n');
  });

  test('create, start, state, events, kill, wait, delete', async () => {
    const rt = runtime();
    const bundle = makeBundle({ args: ['sleep', '1000'] });
    const id = uniqueId('api');
    const events: string[] = [];
    rt.on('create', (s) => events.push(`create ${s.id} ${s.status}`));
    rt.on('start', (s) => events.push(`start ${s.id} ${s.status}`));
    rt.on('exit', (i, st) => events.push(`exit ${i} ${st.code}`));
    rt.on('delete', (i) => events.push(`delete ${i}`));

    const created = await rt.create(id, { bundle: bundle.dir });
    assert.equal(created.status, 'created');
    assert.ok(created.pid > 0);
    assert.equal((await rt.state(id)).status, 'created');
    await rt.start(id);
    assert.equal((await rt.state(id)).status, 'running');
    assert.deepEqual((await rt.list()).map((c) => [c.id, c.status]), [[id, 'running']]);
    const exit = rt.wait(id);
    await rt.kill(id, 'KILL');
    assert.deepEqual(await exit, { code: 137, signal: 9 });
    assert.equal((await rt.state(id)).status, 'stopped');
    await rt.delete(id);
    await assert.rejects(rt.state(id), (e: unknown) => e instanceof TsruncError && e.code === 'not-found');
    assert.deepEqual(events, [`create ${id} created`, `start ${id} running`, `exit ${id} 137`, `delete ${id}`]);
    assert.deepEqual(stateLeftovers(rt.context.store.root), []);
  });

  test('20 containers waited for at once leave the threadpool free for other async work', { timeout: 120_000 }, async () => {
    const rt = runtime();
    const bundle = makeBundle({ args: ['sleep', '1000'] });
    const ids = Array.from({ length: 20 }, () => uniqueId('api'));
    for (const id of ids) {
      await rt.create(id, { bundle: bundle.dir });
      await rt.start(id);
    }
    let exited = 0;
    const waits = ids.map((id) => rt.wait(id).then((s) => (exited++, s)));
    // With one blocked waitid per container, libuv's four threadpool threads would all be parked here
    // and this work would never finish while the containers run: the test would time out.
    await threadpoolWork();
    assert.equal(exited, 0, 'no container exited before it was killed');
    for (const id of ids) assert.equal((await rt.state(id)).status, 'running');
    for (const id of ids) await rt.kill(id, 'SIGKILL');
    const statuses = await Promise.all(waits);
    assert.deepEqual(new Set(statuses.map((s) => `${s.code}/${s.signal}`)), new Set(['137/9']));
    for (const id of ids) await rt.delete(id);
    assert.deepEqual(stateLeftovers(rt.context.store.root), []);
  });

  test('containers another process created are waited for too (exit status unknown), without a threadpool thread each', { timeout: 120_000 }, async () => {
    const root = tempDir('api-state', 0o700);
    const rt = runtime(root);
    const bundle = makeBundle({ args: ['sleep', '1000'] });
    const ids = Array.from({ length: 6 }, () => uniqueId('api'));
    for (const id of ids) {
      for (const cmd of [['create', '--bundle', bundle.dir, id], ['start', id]]) {
        const r = await runRuntime('tsrunc', cmd, { root });
        assert.equal(r.code, 0, r.stderr);
      }
    }
    let exited = 0;
    const waits = ids.map((id) => rt.wait(id).then((s) => (exited++, s)));
    await threadpoolWork();
    assert.equal(exited, 0, 'no container exited before it was killed');
    for (const id of ids) await rt.kill(id, 'KILL');
    // Not our children: their parent reaps them, we only see them end.
    assert.deepEqual(await Promise.all(waits), ids.map(() => ({ code: null, signal: null })));
    for (const id of ids) await rt.delete(id);
    assert.deepEqual(stateLeftovers(root), []);
  });

  test('100 concurrent runs from one Runtime', { timeout: 300_000 }, async () => {
    const rt = runtime();
    const bundle = makeBundle({ args: ['sh', '-c', 'exit $0', '7'] });
    const statuses = await Promise.all(Array.from({ length: 100 }, () => rt.run(uniqueId('api'), { bundle: bundle.dir })));
    assert.deepEqual(new Set(statuses.map((s) => s.code)), new Set([7]));
    assert.deepEqual(readdirSync(rt.context.store.root), []);
  });

  test("containers are cloned by the Runtime's spawner yet are this process's children", async () => {
    const rt = runtime();
    const bundle = makeBundle({ args: ['sleep', '1000'] });
    const id = uniqueId('api');
    const { pid } = await rt.create(id, { bundle: bundle.dir });
    const spawner = rt.context.spawner?.pid ?? 0;
    assert.ok(spawner > 0, 'a spawner process was started');
    assert.match(readFileSync(`/proc/${spawner}/cmdline`, 'utf8'), /tsrunc-spawner/);
    assert.equal(readFileSync(`/proc/${pid}/status`, 'utf8').match(/^PPid:\s+(\d+)$/m)?.[1], String(process.pid));
    await rt.delete(id, { force: true });
    rt.close();
    // The spawner leaves once its connection is closed.
    for (let i = 0; i < 200 && existsSync(`/proc/${spawner}/cmdline`) && !/^Z/m.test(procState(spawner)); i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(!existsSync(`/proc/${spawner}/cmdline`) || /^Z/m.test(procState(spawner)), 'the spawner exited after close()');
  });

  test('exec runs a process in a running container with its own stdio', async () => {
    const rt = runtime();
    const bundle = makeBundle({ args: ['sleep', '1000'] });
    const id = uniqueId('api');
    await rt.create(id, { bundle: bundle.dir });
    await rt.start(id);
    const out = capture();
    const code = await rt.exec(id, { args: ['sh', '-c', 'echo exec-$((6*7)); exit 5'], stdio: [-1, out.fd, out.fd] });
    closeSync(out.fd);
    assert.equal(code, 5);
    assert.equal(out.text(), 'exec-42\n');
    await rt.delete(id, { force: true });
    assert.deepEqual(stateLeftovers(rt.context.store.root), []);
  });

  test('errors are TsruncErrors and leave nothing behind', async () => {
    const rt = runtime();
    await assert.rejects(rt.run('bad/id', { bundle: '/nonexistent' }), (e: unknown) => e instanceof TsruncError && e.code === 'invalid-argument');
    await assert.rejects(rt.run(uniqueId('api'), { bundle: tempDir('empty') }), (e: unknown) => e instanceof TsruncError && e.code === 'not-found');
    const bad = makeBundle({ args: ['/no/such/binary'] });
    await assert.rejects(rt.run(uniqueId('api'), { bundle: bad.dir }), (e: unknown) => e instanceof TsruncError && /process\/args/.test(e.message));
    assert.deepEqual(stateLeftovers(rt.context.store.root), []);
    await assert.rejects(rt.wait('nothing-here'), (e: unknown) => e instanceof TsruncError && e.code === 'not-found');
  });
});
