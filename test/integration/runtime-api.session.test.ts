// The Runtime API under the REAL systemd --user (the user-session environment, TSRUNC_TEST_SESSION=1):
// its containers get transient scopes like the CLI's, through one bus connection kept between them
// instead of two new ones per container.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Runtime } from '../../src/index.js';
import { cleanup, makeBundle, requireSession, stateLeftovers, tempDir, uniqueId } from './harness.js';

after(cleanup);

/** The unique names this process holds on the user bus (one per connection). */
function ourBusConnections(): string[] {
  const r = spawnSync('busctl', ['--user', 'list', '--unique', '--no-legend', '--no-pager'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.split('\n').filter((l) => l.trim().split(/\s+/)[1] === String(process.pid));
}

test('a Runtime places each container in its scope over one kept bus connection', async (t) => {
  if (!requireSession(t)) return;
  const rt = new Runtime({ root: tempDir('api-session-state', 0o700) });
  const bundle = makeBundle({ args: ['sleep', '1000'] });
  const ids = Array.from({ length: 5 }, () => uniqueId('apisess'));
  const connections = new Set<string>();
  for (const id of ids) {
    await rt.create(id, { bundle: bundle.dir });
    await rt.start(id);
    const st = rt.context.store.load(id);
    assert.equal(st.cgroup?.driver, 'systemd');
    assert.equal(st.cgroup?.unit, `tsrunc-${id}.scope`);
    const active = spawnSync('systemctl', ['--user', 'is-active', `tsrunc-${id}.scope`], { encoding: 'utf8' });
    assert.equal(active.stdout.trim(), 'active');
    for (const c of ourBusConnections()) connections.add(c.trim().split(/\s+/)[0]!);
  }
  assert.equal(connections.size, 1, `one connection for ${ids.length} containers, saw ${[...connections].join(', ')}`);
  for (const id of ids) await rt.delete(id, { force: true });
  for (const id of ids) {
    const gone = spawnSync('systemctl', ['--user', 'is-active', `tsrunc-${id}.scope`], { encoding: 'utf8' });
    assert.notEqual(gone.stdout.trim(), 'active');
  }
  assert.deepEqual(stateLeftovers(rt.context.store.root), []);
  rt.close();
  // The bus daemon drops the name once it sees the socket close.
  for (let i = 0; i < 100 && ourBusConnections().length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(ourBusConnections(), [], 'close() ends the connection');
});
