// `exec` against runc: the same exec flags on the same running busybox container give the same output
// and exit code; plus what only tsrunc's side can check (namespaces joined, detach, refusals).
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IS_ROOT, SELF, cleanup, makeBundle, missingPrerequisites, tempDir, waitFor, type RunResult } from './harness.js';
import { Running, bundleFor, sameExec } from './exec-helpers.js';

describe('exec', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  test('a command, its output and exit code, as runc', async () => {
    await sameExec([
      ['ID', 'sh', '-c', 'echo hello; hostname; exit 3'],
      ['ID', 'sh', '-c', 'echo "$PATH $HOME"; pwd; id'],
      ['ID', 'false'],
      ['ID', 'no-such-command'],
    ]);
  });

  test('--env, --cwd, --user, --no-new-privs, --cap, as runc', async () => {
    await sameExec(
      [
        ['-e', 'FOO=bar', '-e', 'BAZ=qux', 'ID', 'sh', '-c', 'echo $FOO $BAZ'],
        ['--cwd', '/work', 'ID', 'pwd'],
        ['-u', '65534:65534', 'ID', 'id'],
        ['--user', '1000', 'ID', 'id'],
        ['ID', 'grep', 'NoNewPrivs', '/proc/self/status'],
        ['--no-new-privs', 'ID', 'grep', 'NoNewPrivs', '/proc/self/status'],
        ['ID', 'grep', 'Cap', '/proc/self/status'],
        ['--cap', 'CAP_SYS_ADMIN', 'ID', 'grep', 'Cap', '/proc/self/status'],
        ['--cap', 'CAP_NOT_A_CAPABILITY', 'ID', 'true'],
      ],
      (c) => {
        c.process!.noNewPrivileges = false;
      },
    );
  });

  test('--process FILE, as runc', async () => {
    const dir = tempDir('execproc');
    const file = join(dir, 'process.json');
    writeFileSync(
      file,
      JSON.stringify({
        terminal: false,
        user: { uid: 0, gid: 0 },
        args: ['sh', '-c', 'echo $A $HOME; pwd; exit 5'],
        env: ['PATH=/bin', 'A=from-file'],
        cwd: '/tmp',
      }),
    );
    await sameExec([['--process', file, 'ID'], ['--process', file, '-e', 'A=flag', 'ID']]);
  });

  test('the process joins every namespace of the container and gets its pid in --pid-file with --detach', async () => {
    const c = new Running('tsrunc', bundleFor());
    const dir = tempDir('execpid');
    const pidFile = join(dir, 'pid');
    try {
      await c.start();
      const init = await c.pid();
      const r = await c.exec(['-d', '--pid-file', pidFile, c.id, 'sleep', '60']);
      assert.equal(r.code, 0, r.stderr);
      const pid = Number(readFileSync(pidFile, 'utf8'));
      assert.ok(pid > 0 && pid !== init);
      for (const ns of ['mnt', 'pid', 'uts', 'ipc', 'net', 'user', 'cgroup']) {
        assert.equal(readlinkSync(`/proc/${pid}/ns/${ns}`), readlinkSync(`/proc/${init}/ns/${ns}`), ns);
      }
      // Its root is the container's.
      assert.equal(readlinkSync(`/proc/${pid}/root`), readlinkSync(`/proc/${init}/root`));
      const ps = await c.exec([c.id, 'sh', '-c', 'cat /proc/[0-9]*/cmdline | tr "\\0" " "']);
      assert.match(ps.stdout, /sleep 60/, 'the detached process runs in the container');
    } finally {
      await c.destroy();
    }
    assert.ok(await waitFor(() => !existsSync(`/proc/${Number(readFileSync(pidFile, 'utf8'))}/ns`)), 'it dies with the container');
  });

  test('exec in a created (not yet started) container: as runc as root; rootless, a clear refusal', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    const c = new Running('tsrunc', bundle);
    const created = await c.run(['create', '--bundle', bundle.dir, c.id]);
    assert.equal(created.code, 0, created.stderr);
    try {
      const r = await c.exec([c.id, 'sh', '-c', 'echo in; exit 4']);
      if (IS_ROOT || SELF) {
        assert.equal(r.code, 4, r.stderr);
        assert.equal(r.stdout, 'in\n');
      } else {
        assert.equal(r.code, 255);
        assert.match(r.stderr, /^tsrunc: exec failed: the container's init \(pid \d+\) has not started yet: an unprivileged caller can exec only in a running container \(start it first\)\n$/);
      }
    } finally {
      await c.destroy();
    }
  });

  test('refusals: stopped, missing container, no command, bad --user; one line each', async () => {
    const c = new Running('tsrunc', makeBundle({ args: ['true'] }));
    const created = await c.run(['create', '--bundle', c.bundle.dir, c.id]);
    assert.equal(created.code, 0, created.stderr);
    try {
      assert.equal((await c.run(['start', c.id])).code, 0);
      const stopped = async (): Promise<boolean> => (JSON.parse((await c.run(['state', c.id])).stdout) as { status: string }).status === 'stopped';
      for (let i = 0; i < 200 && !(await stopped()); i++) await new Promise((res) => setTimeout(res, 25));
      let r = await c.exec([c.id, 'true']);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /^tsrunc: exec failed: container "[^"]+" is stopped: cannot exec in a container that is not running\n$/);
      r = await c.exec(['no-such-container', 'true']);
      assert.equal(r.code, 255);
      assert.match(r.stderr, /^tsrunc: exec failed: container "no-such-container" does not exist\n$/);
      r = await c.exec([c.id]);
      assert.equal(r.code, 1, 'a usage error is not an exec failure');
      assert.match(r.stderr, /^tsrunc: exec: missing the command to run/);
      r = await c.exec(['-u', 'root', c.id, 'true']);
      assert.match(r.stderr, /^tsrunc: --user: "root" is not uid\[:gid\]/);
      assert.equal(r.code, 1);
    } finally {
      await c.destroy();
    }
  });
});
