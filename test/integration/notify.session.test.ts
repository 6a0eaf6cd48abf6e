// NOTIFY_SOCKET under the REAL systemd --user (issue 6, point 3): a Type=notify unit running `tsrunc run`
// stays "activating" until the containerized process sends READY=1, is "active" after, with tsrunc as
// its MainPID and the container's STATUS= shown; `systemctl --user stop` ends the container and its
// state. Runs only in the user-session environment (../shared/testenv/user-session.sh; with
// TSRUNC_TEST_SESSION=1 a missing manager fails instead of skipping).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, freshStateRoot, makeBundle, repoRoot, runRuntime, tempDir, tsruncBin, uniqueId, waitFor, requireSession } from './harness.js';

after(cleanup);


function show(unit: string, prop: string): string {
  return spawnSync('systemctl', ['--user', 'show', '-p', prop, '--value', unit], { encoding: 'utf8' }).stdout.trim();
}

test('a Type=notify unit running tsrunc run is active only once the container says READY=1', async (t) => {
  if (!requireSession(t)) return;
  const sender = join(tempDir('sdnotify'), 'sd-notify');
  const cc = spawnSync('cc', ['-static', '-O2', '-Wall', '-o', sender, join(repoRoot(), 'test', 'integration', 'notify', 'sd-notify.c')], { encoding: 'utf8' });
  assert.equal(cc.status, 0, `cc -static (gcc, libc6-dev): ${cc.stderr}`);
  const ctl = tempDir('notifyctl', 0o777);
  const bundle = makeBundle({
    // Ready when the test says so (a file in a bound directory); a TERM handler so that stop is clean.
    args: ['sh', '-c', 'trap "exit 0" TERM; while [ ! -e /ctl/go ]; do sleep 0.1; done; sd-notify "STATUS=serving" READY=1; while true; do sleep 0.1; done'],
    mutate: (c) => {
      c.mounts = [...(c.mounts ?? []), { destination: '/ctl', type: 'bind', source: ctl, options: ['rbind', 'ro'] }];
    },
    setup: (b) => {
      copyFileSync(sender, join(b.rootfs, 'bin', 'sd-notify'));
      chmodSync(join(b.rootfs, 'bin', 'sd-notify'), 0o755);
    },
  });
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('sdunit');
  const unit = `tsrunc-it-${id}.service`;
  const started = spawnSync('systemd-run', [
    '--user', '--no-block', '--unit', unit, '-p', 'Type=notify', '-p', 'NotifyAccess=all', '-p', 'KillMode=mixed', '-p', 'TimeoutStartSec=60',
    tsruncBin(), '--root', root, 'run', '--bundle', bundle.dir, id,
  ], { encoding: 'utf8' });
  assert.equal(started.status, 0, started.stderr);
  try {
    // The container runs, and the unit waits for it.
    const status = (): string => spawnSync(tsruncBin(), ['--root', root, 'state', id], { encoding: 'utf8' }).stdout;
    assert.ok(await waitFor(() => status().includes('"running"'), 15_000), 'the container runs');
    assert.equal(show(unit, 'ActiveState'), 'activating');
    writeFileSync(join(ctl, 'go'), '');
    assert.ok(await waitFor(() => show(unit, 'ActiveState') === 'active', 15_000), `active after READY=1 (is ${show(unit, 'ActiveState')})`);
    assert.equal(show(unit, 'StatusText'), 'serving');
    const mainPid = Number(show(unit, 'MainPID'));
    const cmdline = spawnSync('cat', [`/proc/${mainPid}/cmdline`], { encoding: 'utf8' }).stdout.replace(/\0/g, ' ');
    assert.match(cmdline, new RegExp(`run --bundle \\S+ ${id}`), 'MainPID is tsrunc run');

    const stop = spawnSync('systemctl', ['--user', 'stop', unit], { encoding: 'utf8' });
    assert.equal(stop.status, 0, stop.stderr);
    assert.equal(show(unit, 'ActiveState'), 'inactive');
    assert.notEqual((await runRuntime('tsrunc', ['state', id], { root })).code, 0, 'the state is gone');
  } finally {
    spawnSync('systemctl', ['--user', 'stop', unit]);
    spawnSync('systemctl', ['--user', 'reset-failed', unit]);
    await runRuntime('tsrunc', ['delete', '--force', id], { root });
  }
});
