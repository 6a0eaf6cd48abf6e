// podman in a real systemd user session (issue 6, point 1, as a desktop user has it): the systemd cgroup
// manager, so podman passes `--systemd-cgroup` and a `user.slice:libpod:<id>` cgroupsPath, and the
// runtime, uid 0 of podman's user namespace, asks the user's manager for the scope over the bus (whose
// peer check sees its host uid). The caller's $XDG_RUNTIME_DIR is kept: that is where the bus is.
// Compared with runc; no scope may be left.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cleanup, missingPrerequisites, requireSession, waitFor } from './harness.js';
import { Podman, IMAGE, podmanMissing } from './podman-helpers.js';

const skip = missingPrerequisites() || podmanMissing();

/** The container's scope units of the user's manager (active or not). */
function libpodScopes(id: string): string[] {
  const r = spawnSync('systemctl', ['--user', 'list-units', '--all', '--no-legend', '--plain', `libpod-${id}*`], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/).slice(0, 3).join(' '))
    .filter((l) => l !== '');
}

describe('podman in a systemd user session, the systemd cgroup manager, tsrunc against runc', { skip }, () => {
  let pm: Podman | undefined;

  before(async () => {
    if (process.env.TSRUNC_TEST_SESSION === '1') pm = await Podman.create({ cgroupManager: 'systemd', callersRuntimeDir: true });
  });

  after(async () => {
    await pm?.finish();
    cleanup();
  });

  test('run --rm: the container in a cgroup namespace of its own, on its scope', async (t) => {
    if (!requireSession(t) || pm === undefined) return;
    await pm.sameRunRm([], ['sh', '-c', 'echo hi; cat /proc/self/cgroup | grep "^0::"'], /^hi\n0::\/\n$/);
  });

  test('run -d, then its scope, pause, unpause, exec, stop, rm: the scope is gone after', async (t) => {
    if (!requireSession(t) || pm === undefined) return;
    const p = pm;
    await p.sameWithBoth(
      async (rt) => {
        const name = `tsrunc-it-s-${rt}-${process.pid}`;
        const steps: Record<string, unknown> = {};
        const started = await p.run(['run', '-d', '--name', name, '--network', 'none', '--runtime', rt, IMAGE, 'sleep', '300']);
        assert.equal(started.code, 0, `${rt} run -d: ${started.stderr}`);
        const id = started.stdout.trim();
        steps.scope = libpodScopes(id).map((l) => l.replace(id, 'ID'));
        steps.pause = (await p.run(['pause', name])).code;
        steps.paused = (await p.run(['inspect', '--format', '{{.State.Status}}', name])).stdout.trim();
        steps.unpause = (await p.run(['unpause', name])).code;
        const ex = await p.run(['exec', name, 'sh', '-c', 'echo in exec; grep "^0::" /proc/self/cgroup']);
        steps.exec = [ex.code, ex.stdout];
        steps.stop = (await p.run(['stop', '--time', '1', name])).code;
        steps.rm = (await p.run(['rm', name])).code;
        await waitFor(() => libpodScopes(id).length === 0, 5000);
        steps.scopeAfter = libpodScopes(id);
        return steps;
      },
      (s, rt) => {
        assert.deepEqual(s.scope, ['libpod-ID.scope loaded active'], rt);
        assert.deepEqual([s.pause, s.paused, s.unpause], [0, 'paused', 0], rt);
        assert.deepEqual(s.exec, [0, 'in exec\n0::/\n'], rt);
        assert.deepEqual([s.stop, s.rm, s.scopeAfter], [0, 0, []], rt);
      },
    );
  });
});
