// tsrunc's systemd units under the REAL systemd --user (issue 8, point 2): `generate systemd --install`
// and the tsrunc@.service template start a bundle, restart it when it crashes, and stop it leaving no
// state. Runs only in the user-session environment (../shared/testenv/user-session.sh; with
// TSRUNC_TEST_SESSION=1 a missing manager fails instead of skipping).
// Both run as Type=notify: the unit is active only once the container sends READY=1 through tsrunc's
// NOTIFY_SOCKET passthrough (test/integration/notify/sd-notify.c, built static, stands in for
// systemd-notify in the busybox rootfs).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { cleanup, makeBundle, repoRoot, runtimeEnv, tempDir, tsruncBin, uniqueId, waitFor, requireSession } from './harness.js';
import { cgroupOf } from './cgroup-cycles.js';

const unitDir = join(process.env.XDG_CONFIG_HOME || join(homedir(), '.config'), 'systemd', 'user');
const removeAfter: string[] = [];

after(() => {
  for (const p of removeAfter) rmSync(p, { recursive: true, force: true });
  if (removeAfter.length > 0) systemctl('daemon-reload');
  cleanup();
});


function systemctl(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('systemctl', ['--user', ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function props(unit: string, ...names: string[]): Record<string, string> {
  const r = systemctl('show', unit, ...names.flatMap((n) => ['-p', n]));
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function tsrunc(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsruncBin(), args, { env: runtimeEnv(), encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function containerPid(id: string): number | null {
  const r = tsrunc('state', id);
  if (r.status !== 0) return null;
  const s = JSON.parse(r.stdout) as { pid: number; status: string };
  return s.status === 'running' ? s.pid : null;
}

let sdNotify: string | undefined;

/**
 * A container that says READY=1 once the test creates `go` in `ctl` (bound at /ctl), then idles until
 * SIGTERM, on which it exits 0 (a clean stop).
 */
function notifyBundle(): { bundle: ReturnType<typeof makeBundle>; ctl: string } {
  if (sdNotify === undefined) {
    sdNotify = join(tempDir('sdnotify'), 'sd-notify');
    const cc = spawnSync('cc', ['-static', '-O2', '-Wall', '-o', sdNotify, join(repoRoot(), 'test', 'integration', 'notify', 'sd-notify.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, `cc -static (gcc, libc6-dev): ${cc.stderr}`);
  }
  const ctl = tempDir('unitctl', 0o777);
  const bundle = makeBundle({
    args: ['sh', '-c', 'trap "exit 0" TERM; while [ ! -e /ctl/go ]; do sleep 0.1; done; sd-notify READY=1; while :; do sleep 0.2; done'],
    mutate: (c) => {
      c.mounts = [...(c.mounts ?? []), { destination: '/ctl', type: 'bind', source: ctl, options: ['rbind', 'ro'] }];
    },
    setup: (b) => {
      copyFileSync(sdNotify!, join(b.rootfs, 'bin', 'sd-notify'));
      chmodSync(join(b.rootfs, 'bin', 'sd-notify'), 0o755);
    },
  });
  return { bundle, ctl };
}

/**
 * Start without waiting: activating while the container runs but has not said READY=1, active after.
 * Then crash it (SIGKILL), wait for the restart, stop, and check nothing is left.
 */
async function startCrashRestartStop(unit: string, id: string, ctl: string): Promise<void> {
  const start = systemctl('start', '--no-block', unit);
  assert.equal(start.status, 0, start.stderr);
  assert.ok(await waitFor(() => containerPid(id) !== null, 15_000), `${id} runs`);
  assert.equal(props(unit, 'ActiveState').ActiveState, 'activating');
  writeFileSync(join(ctl, 'go'), '');
  assert.ok(await waitFor(() => props(unit, 'ActiveState').ActiveState === 'active', 15_000), 'active after READY=1');
  const first = containerPid(id)!;
  const firstLeft = containerTraces(id, first);
  process.kill(first, 'SIGKILL');
  assert.ok(await waitFor(() => firstLeft().length === 0, 15_000), `the crashed container left nothing: ${firstLeft().join('; ')}`);
  assert.ok(await waitFor(() => props(unit, 'NRestarts').NRestarts === '1', 15_000), 'restarted once after the crash');
  assert.ok(await waitFor(() => containerPid(id) !== null && containerPid(id) !== first, 10_000), 'a new container runs');

  const second = containerTraces(id, containerPid(id)!);
  const stop = systemctl('stop', unit);
  assert.equal(stop.status, 0, stop.stderr);
  const after = props(unit, 'ActiveState', 'Result');
  assert.deepEqual(after, { ActiveState: 'inactive', Result: 'success' });
  assert.equal(tsrunc('state', id).status, 1, `${id} left no state`);
  assert.deepEqual(second(), [], 'the stop left no process, scope or cgroup of the container');
}

/**
 * What a running container `id` (init `pid`) would leave behind if it were not cleaned up: a function
 * listing its init still alive, its systemd scope still loaded, its cgroup directory still there.
 */
function containerTraces(id: string, pid: number): () => string[] {
  const path = cgroupOf(pid);
  const unit = path.slice(path.lastIndexOf('/') + 1);
  // The container's own scope (the systemd driver puts it beside the service, not inside it).
  assert.equal(unit, `tsrunc-${id}.scope`, `the container's cgroup ${path}`);
  return () => [
    ...(existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')) ? [`init ${pid} alive`] : []),
    ...(props(unit, 'LoadState').LoadState !== 'not-found' ? [`${unit} loaded`] : []),
    ...(existsSync(`/sys/fs/cgroup${path}`) ? [`/sys/fs/cgroup${path} exists`] : []),
  ];
}

test('generate systemd --install: a unit that runs the bundle, restarts it on a crash, stops it cleanly', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('unit');
  const { bundle, ctl } = notifyBundle();
  const unit = `tsrunc-${id}.service`;
  removeAfter.push(join(unitDir, unit));
  const gen = tsrunc('generate', 'systemd', '--bundle', bundle.dir, id, '--install');
  assert.equal(gen.status, 0, gen.stderr);
  assert.equal(gen.stderr, `tsrunc: installed ${join(unitDir, unit)}; start it with: systemctl --user start ${unit}\n`);
  const text = readFileSync(join(unitDir, unit), 'utf8');
  assert.match(text, new RegExp(`ExecStart=${process.execPath} \\S+/dist/tsrunc.js run --bundle \\S+ ${id}\\n`));
  assert.match(text, /\nType=notify\n/);
  await startCrashRestartStop(unit, id, ctl);
});

test('the tsrunc@.service template runs ~/.local/share/tsrunc/bundles/NAME', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('tmpl');
  const { bundle, ctl } = notifyBundle();
  const bundles = join(homedir(), '.local', 'share', 'tsrunc', 'bundles');
  mkdirSync(bundles, { recursive: true });
  symlinkSync(bundle.dir, join(bundles, id));
  removeAfter.push(join(bundles, id));
  const template = join(unitDir, 'tsrunc@.service');
  const hadTemplate = existsSync(template);
  mkdirSync(unitDir, { recursive: true });
  if (!hadTemplate) {
    writeFileSync(template, readFileSync(join(repoRoot(), 'systemd', 'tsrunc@.service')));
    removeAfter.push(template);
  }
  // The template finds `tsrunc` in systemd's search path; this checkout is not installed there, so a
  // drop-in for this one instance points the commands at it (everything else is the template's).
  const dropIn = join(unitDir, `tsrunc@${id}.service.d`);
  removeAfter.push(dropIn);
  mkdirSync(dropIn, { recursive: true });
  const bin = tsruncBin();
  writeFileSync(join(dropIn, 'here.conf'), [
    '[Service]',
    'ExecStartPre=',
    `ExecStartPre=-${bin} delete --force %i`,
    'ExecStart=',
    `ExecStart=${bin} run --bundle %h/.local/share/tsrunc/bundles/%i %i`,
    'ExecStopPost=',
    `ExecStopPost=-${bin} delete --force %i`,
    '',
  ].join('\n'));
  assert.equal(systemctl('daemon-reload').status, 0);
  const unit = `tsrunc@${id}.service`;
  const p = props(unit, 'Type', 'KillMode', 'Restart');
  assert.deepEqual(p, { Type: 'notify', KillMode: 'mixed', Restart: 'on-failure' });
  await startCrashRestartStop(unit, id, ctl);
});

test('without its bundle, a tsrunc@ instance does not start', (t) => {
  if (!requireSession(t)) return;
  const template = join(unitDir, 'tsrunc@.service');
  if (!existsSync(template)) {
    mkdirSync(unitDir, { recursive: true });
    writeFileSync(template, readFileSync(join(repoRoot(), 'systemd', 'tsrunc@.service')));
    removeAfter.push(template);
    assert.equal(systemctl('daemon-reload').status, 0);
  }
  const unit = `tsrunc@${uniqueId('none')}.service`;
  assert.notEqual(systemctl('start', unit).status, 0);
  assert.equal(props(unit, 'AssertResult').AssertResult, 'no');
  systemctl('reset-failed', unit);
});

test('a container that ignores SIGTERM, or whose tsrunc run is SIGKILLed, is still removed by the unit (ExecStopPost), scope and all', async (t) => {
  if (!requireSession(t)) return;
  const id = uniqueId('stubborn');
  // sleep as PID 1 of its namespace: SIGTERM has no handler there and does nothing.
  const bundle = makeBundle({ args: ['sleep', '1000'] });
  const unit = `tsrunc-${id}.service`;
  removeAfter.push(join(unitDir, unit), join(unitDir, `${unit}.d`));
  assert.equal(tsrunc('generate', 'systemd', '--bundle', bundle.dir, id, '--type', 'exec', '--restart', 'no', '--install').status, 0);
  mkdirSync(join(unitDir, `${unit}.d`), { recursive: true });
  writeFileSync(join(unitDir, `${unit}.d`, 'quick.conf'), '[Service]\nTimeoutStopSec=2s\n');
  assert.equal(systemctl('daemon-reload').status, 0);
  try {
    // 1. systemctl stop: SIGTERM reaches the container and is ignored; at the timeout SIGKILL hits the
    //    service's cgroup, which holds tsrunc run but not the container's scope: ExecStopPost removes it.
    assert.equal(systemctl('start', unit).status, 0);
    assert.ok(await waitFor(() => containerPid(id) !== null, 15_000), `${id} runs`);
    const left = containerTraces(id, containerPid(id)!);
    assert.equal(systemctl('stop', unit).status, 0);
    assert.deepEqual(props(unit, 'ActiveState', 'Result'), { ActiveState: 'failed', Result: 'timeout' });
    assert.deepEqual(left(), [], 'nothing of the container is left');
    assert.equal(tsrunc('state', id).status, 1, 'no state is left');
    systemctl('reset-failed', unit);

    // 2. tsrunc run itself SIGKILLed: the container outlives it in its scope until ExecStopPost runs.
    assert.equal(systemctl('start', unit).status, 0);
    assert.ok(await waitFor(() => containerPid(id) !== null, 15_000), `${id} runs again`);
    const again = containerTraces(id, containerPid(id)!);
    assert.equal(systemctl('kill', '--kill-whom=main', '--signal=SIGKILL', unit).status, 0);
    assert.ok(await waitFor(() => props(unit, 'ActiveState').ActiveState === 'failed', 15_000), 'the unit failed');
    assert.ok(await waitFor(() => again().length === 0, 15_000), `nothing of the container is left: ${again().join('; ')}`);
    assert.equal(tsrunc('state', id).status, 1, 'no state is left');
  } finally {
    systemctl('stop', unit);
    systemctl('reset-failed', unit);
  }
});
