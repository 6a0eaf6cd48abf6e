// The warm server's isolation, seen by root: another uid's server refuses root's requests (its peer
// check, not only the 0700 directory), other users cannot even reach it, and callers in different
// cgroups get different servers.
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, missingPrerequisites, repoRoot, runtimeEnv, SELF, tempDir, tsruncBin, waitFor } from './harness.js';
import { listening, servers } from './front-end-helpers.js';

const skip = SELF ? 'the front end is tsrunc\'s own' : missingPrerequisites();
afterEach(cleanup);
const mine: number[] = [];
after(() => {
  for (const pid of mine) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});



/** test/integration/front-end/client.c: a stranger that sends a request to a server's socket. */
function buildClient(): string {
  const out = join(tempDir('client'), 'client');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, join(repoRoot(), 'test', 'integration', 'front-end', 'client.c')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cc (gcc, libc6-dev): ${r.stderr}`);
  return out;
}

test('another uid\'s server answers root "direct", and other users cannot reach its socket', { skip }, async () => {
  const nobody = 65534;
  const xdg = tempDir('xdg', 0o700);
  chownSync(xdg, nobody, nobody);
  const asNobody = ['--reuid', String(nobody), '--regid', String(nobody), '--clear-groups', 'env', `XDG_RUNTIME_DIR=${xdg}`, 'TSRUNC_SERVER=1', tsruncBin()];
  const first = spawnSync('setpriv', [...asNobody, '--root', join(xdg, 'state'), 'list', '-q'], { env: runtimeEnv(), encoding: 'utf8' });
  assert.equal(first.status, 0, first.stderr);
  assert.ok(await waitFor(() => servers().some((s) => s.uid === nobody && s.socket.startsWith(xdg) && existsSync(s.socket) && listening(s.socket)), 15_000), 'nobody\'s server starts');
  const server = servers().find((s) => s.uid === nobody && s.socket.startsWith(xdg))!;
  mine.push(server.pid);
  const client = buildClient();
  const asRoot = spawnSync(client, [server.socket], { encoding: 'utf8' });
  assert.equal(asRoot.stdout, 'TSDI\n', 'root (another uid) is told to run the CLI itself');
  const asOther = spawnSync('setpriv', ['--reuid', '12345', '--regid', '12345', '--clear-groups', client, server.socket], { encoding: 'utf8' });
  assert.equal(asOther.stdout, 'connect: EACCES\n', 'the 0700 directory keeps other users out');
  const again = spawnSync('setpriv', [...asNobody, '--root', join(xdg, 'state'), 'list', '-q'], { env: runtimeEnv(), encoding: 'utf8' });
  assert.equal(again.status, 0, again.stderr);
});

test('callers in different cgroups get different servers', { skip }, async () => {
  const unified = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')).find((f) => f[f.indexOf('-') + 1] === 'cgroup2')?.[4];
  assert.ok(unified !== undefined, 'a cgroup2 hierarchy is mounted');
  // As root any place in the hierarchy will do.
  const dirs = ['a', 'b'].map((k) => join(unified, `tsrunc-fe-test-${process.pid}-${k}`));
  for (const d of dirs) mkdirSync(d);
  try {
    for (const d of dirs) {
      const r = spawnSync('sh', ['-c', `echo $$ > ${d}/cgroup.procs && exec "$0" list -q`, tsruncBin()], { env: runtimeEnv({ TSRUNC_SERVER: '1' }), encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
    }
    const inThem = (): { pid: number; cgroup: string }[] => servers().filter((s) => dirs.some((d) => s.cgroup === d.slice(unified.length)));
    assert.ok(await waitFor(() => inThem().length === 2, 15_000), 'one server in each cgroup');
    for (const s of inThem()) mine.push(s.pid);
    assert.notEqual(inThem()[0]!.cgroup, inThem()[1]!.cgroup);
  } finally {
    for (const s of servers().filter((x) => dirs.some((d) => x.cgroup === d.slice(unified.length)))) process.kill(s.pid, 'SIGKILL');
    // A killed server stays a zombie in its cgroup (rmdir: EBUSY) until whoever adopted it reaps it.
    const removed = (d: string): boolean => {
      try {
        rmdirSync(d);
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EBUSY') return false;
        throw e;
      }
    };
    assert.ok(await waitFor(() => dirs.every((d) => !existsSync(d) || removed(d)), 15_000), `${dirs.join(', ')} removed`);
  }
});
