// exec cases that only root can run here: supplementary groups need setgroups(2), which a single-ID user
// namespace (the rootless suite's bundles) denies; pausing needs a cgroup, which the rootless suite
// has no manager to make on these hosts.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cleanup, makeBundle, missingPrerequisites, runtimeCommand, runtimeEnv } from './harness.js';
import { Running, sameExec } from './exec-helpers.js';

describe('exec (root)', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  test('--additional-gids, as runc', async () => {
    await sameExec([['--additional-gids', '10', '--additional-gids', '20', 'ID', 'id', '-G'], ['-u', '1:1', '-g', '5', 'ID', 'id']]);
  });

  test('a paused container: refused without --ignore-paused; with it, the process runs once resumed', async () => {
    const c = new Running('tsrunc', makeBundle({ args: ['sleep', '300'] }));
    try {
      await c.start();
      const p = await c.run(['pause', c.id]);
      assert.equal(p.code, 0, p.stderr);
      const refused = await c.exec([c.id, 'true']);
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /^tsrunc: exec failed: container "[^"]+" is paused: cannot exec in a paused container \(use --ignore-paused to override\)\n$/);
      // The exec'd process joins the frozen cgroup: it runs when the container is resumed.
      const [cmd, pre] = runtimeCommand('tsrunc');
      const child = spawn(cmd, [...pre, '--root', c.root, 'exec', '--ignore-paused', c.id, 'sh', '-c', 'echo resumed'], { env: runtimeEnv() });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await c.run(['resume', c.id])).code, 0);
      assert.equal(await exited, 0);
      assert.equal(out, 'resumed\n');
    } finally {
      await c.run(['resume', c.id]);
      await c.destroy();
    }
  });
});
