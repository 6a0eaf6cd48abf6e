// containerd end to end, as root: Debian's containerd, started by this file with its own root, state,
// sockets and plugin directories in a temporary directory, runs an imported busybox image through its
// runc shim twice — once with tsrunc as "runc" (a `runc` symlink first in containerd's PATH, because
// `ctr run --runc-binary` is ignored on some paths) and once with Debian's runc — and every scenario is
// compared between the two: run --rm, -t under a real pty, task exec/ps/pause/resume/kill, the systemd
// cgroup driver, a failing create whose error the shim reads from log.json, and what each leaves behind
// (state, cgroup).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { busyboxPath, runcPath, tsruncBin, SELF, waitFor, type Runtime } from './harness.js';

const TOOLS = ['containerd', 'ctr', 'containerd-shim-runc-v2', 'umoci', 'script'];

function which(name: string): string | undefined {
  for (const d of (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/usr/bin', '/sbin', '/bin'])) {
    if (d !== '' && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/**
 * Why this file cannot run here, or false. CI (CI=true) installs containerd and umoci: there a missing
 * tool fails the suite instead of skipping it.
 */
function missing(): string | false {
  const absent = TOOLS.filter((t) => which(t) === undefined);
  if (!runcPath()) absent.push('runc');
  if (!busyboxPath()) absent.push('busybox');
  if (absent.length === 0) return false;
  const why = `requires ${absent.join(', ')} (apt-get install containerd umoci runc busybox-static util-linux)`;
  if (process.env.CI === 'true') throw new Error(`the containerd suite cannot run in CI: ${why}`);
  console.log(`# skipping the containerd suite: ${why}`);
  return why;
}

const IMAGE = 'localhost/tsrunc-it-bb:latest';
// The cgroup2 hierarchy on this host: containerd asks for cgroupsPath /<namespace>/<id> there.
const CGROUP2 = existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : '/sys/fs/cgroup';

interface Daemon {
  runtime: Runtime;
  dir: string;
  socket: string;
  /** The containerd namespace of this run: the shim keeps runc state in /run/containerd/runc/<ns>. */
  ns: string;
  proc: ChildProcess;
}

interface CtrResult {
  code: number;
  stdout: string;
  stderr: string;
}

let work = '';
const daemons = new Map<Runtime, Daemon>();

/** ctr against one daemon, in its namespace. */
function ctr(d: Daemon, args: string[], timeoutMs = 60_000): CtrResult {
  const r = spawnSync('ctr', ['-a', d.socket, '-n', d.ns, ...args], { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

/**
 * `ctr …` under a real pty (util-linux script): its output with \r and NULs dropped, and the "^@" the
 * pty echoes for the end of script's (empty) input.
 */
function ctrInPty(d: Daemon, args: string[]): CtrResult {
  const cmd = ['ctr', '-a', d.socket, '-n', d.ns, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const r = spawnSync('script', ['-qec', cmd, '/dev/null'], { encoding: 'utf8', timeout: 60_000, input: '' });
  return { code: r.status ?? 128, stdout: r.stdout.replace(/[\r\0]|\^@/g, ''), stderr: r.stderr };
}

/** A busybox image as an OCI layout (umoci), as a tar for `ctr image import`. */
function buildImage(dir: string): string {
  const layout = join(dir, 'layout');
  const run = (...args: string[]) => {
    const r = spawnSync('umoci', args, { encoding: 'utf8' });
    assert.equal(r.status, 0, `umoci ${args.join(' ')}: ${r.stderr}`);
  };
  run('init', '--layout', layout);
  run('new', '--image', `${layout}:latest`);
  const bundle = join(dir, 'unpacked');
  run('unpack', '--image', `${layout}:latest`, bundle);
  const bin = join(bundle, 'rootfs', 'bin');
  mkdirSync(bin, { recursive: true });
  copyFileSync(busyboxPath()!, join(bin, 'busybox'));
  chmodSync(join(bin, 'busybox'), 0o755);
  for (const a of ['sh', 'echo', 'cat', 'sleep', 'true', 'tty', 'test', 'grep', 'sed']) symlinkSync('busybox', join(bin, a));
  run('repack', '--image', `${layout}:latest`, bundle);
  run('config', '--image', `${layout}:latest`, '--config.cmd', '/bin/sh', '--config.env', 'PATH=/bin');
  const tar = join(dir, 'image.tar');
  const t = spawnSync('tar', ['-C', layout, '-cf', tar, '.'], { encoding: 'utf8' });
  assert.equal(t.status, 0, t.stderr);
  return tar;
}

/** Starts containerd for `runtime` with everything under `dir`, and imports the image. */
async function startDaemon(runtime: Runtime, image: string): Promise<Daemon> {
  const dir = join(work, runtime);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  // tsrunc's bin/tsrunc (the C front end) finds node on containerd's PATH, which keeps ours.
  symlinkSync(runtime === 'tsrunc' && !SELF ? tsruncBin() : runcPath()!, join(bin, 'runc'));
  // The shim skips a `runc` it cannot run and takes the next one in PATH (Debian's): make sure this one
  // runs, and is what it should be, or the comparison would be runc against runc.
  const version = spawnSync(join(bin, 'runc'), ['--version'], { encoding: 'utf8' });
  assert.match(version.stdout ?? '', runtime === 'tsrunc' && !SELF ? /^tsrunc\// : /^runc version/, `${join(bin, 'runc')} --version: ${version.error?.message ?? version.stderr}`);
  const socket = join(dir, 'containerd.sock');
  const config = join(dir, 'config.toml');
  writeFileSync(
    config,
    [
      'version = 2',
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      '[grpc]',
      `  address = "${socket}"`,
      '[ttrpc]',
      `  address = "${socket}.ttrpc"`,
      '[plugins."io.containerd.internal.v1.opt"]',
      `  path = "${dir}/opt"`,
      '',
    ].join('\n'),
  );
  const log = openSync(join(dir, 'containerd.log'), 'w');
  const proc = spawn('containerd', ['--config', config], {
    env: { ...process.env, PATH: `${bin}${delimiter}${process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin'}` },
    stdio: ['ignore', log, log],
  });
  closeSync(log);
  const d: Daemon = { runtime, dir, socket, ns: `tsrunc-it-${process.pid}-${runtime}`, proc };
  const up = await waitFor(() => existsSync(socket) && ctr(d, ['version'], 5000).code === 0, 20_000, 100);
  assert.ok(up, `containerd (${runtime}) did not come up:\n${readFileSync(join(dir, 'containerd.log'), 'utf8').slice(-2000)}`);
  const imp = ctr(d, ['image', 'import', '--base-name', 'localhost/tsrunc-it-bb', image]);
  assert.equal(imp.code, 0, imp.stderr);
  return d;
}

/** Kills containerd and whatever its shims still run, unmounts what it left, removes its state. */
async function stopDaemon(d: Daemon): Promise<void> {
  for (const c of ctr(d, ['task', 'ls', '-q'], 10_000).stdout.split('\n').filter(Boolean)) {
    ctr(d, ['task', 'kill', '-s', 'KILL', c], 10_000);
    ctr(d, ['task', 'rm', '-f', c], 10_000);
  }
  for (const c of ctr(d, ['container', 'ls', '-q'], 10_000).stdout.split('\n').filter(Boolean)) ctr(d, ['container', 'rm', c], 10_000);
  if (d.proc.exitCode === null) {
    const exited = new Promise((resolve) => d.proc.once('exit', resolve));
    d.proc.kill('SIGTERM');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
    d.proc.kill('SIGKILL');
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(d.dir + '/'))
    .reverse();
  for (const m of mounts) spawnSync('umount', ['-l', m]);
  rmSync(`/run/containerd/runc/${d.ns}`, { recursive: true, force: true });
  rmSync(`${CGROUP2}/${d.ns}`, { recursive: true, force: true });
}

/** Runs `fn` against both daemons (runc first) and returns both results. */
function both<T>(fn: (d: Daemon) => T): { runc: T; tsrunc: T } {
  return { runc: fn(daemons.get('runc')!), tsrunc: fn(daemons.get('tsrunc')!) };
}

function show(r: { runc: CtrResult; tsrunc: CtrResult }): string {
  const one = (n: string, x: CtrResult) => `${n}: exit ${x.code}\n--- stdout\n${x.stdout}--- stderr\n${x.stderr}`;
  return `\n${one('runc', r.runc)}\n${one('tsrunc', r.tsrunc)}`;
}

/** What a container left behind: its task/container in containerd, its runc state, its cgroup. */
function leftovers(d: Daemon, id: string): string[] {
  const left: string[] = [];
  if (ctr(d, ['container', 'ls', '-q']).stdout.split('\n').includes(id)) left.push(`container ${id}`);
  if (existsSync(`/run/containerd/runc/${d.ns}/${id}`)) left.push(`/run/containerd/runc/${d.ns}/${id}`);
  if (existsSync(`${CGROUP2}/${d.ns}/${id}`)) left.push(`${CGROUP2}/${d.ns}/${id}`);
  return left;
}

/** The status column of `ctr task ls` for `id`. */
function taskStatus(d: Daemon, id: string): string | undefined {
  const line = ctr(d, ['task', 'ls']).stdout.split('\n').find((l) => l.split(/\s+/)[0] === id);
  return line?.trim().split(/\s+/)[2];
}

/** Starts a detached task and waits until it runs. */
async function runDetached(d: Daemon, id: string, args: string[]): Promise<void> {
  const r = ctr(d, ['run', '-d', IMAGE, id, ...args]);
  assert.equal(r.code, 0, `${d.runtime}: ${r.stderr}`);
  assert.ok(await waitFor(() => taskStatus(d, id) === 'RUNNING', 10_000), `${d.runtime}: task ${id} runs`);
}

/** Kills and removes a task and its container. */
function remove(d: Daemon, id: string): void {
  ctr(d, ['task', 'kill', '-s', 'KILL', id]);
  for (let i = 0; i < 50 && taskStatus(d, id) === 'RUNNING'; i++) spawnSync('sleep', ['0.1']);
  ctr(d, ['task', 'rm', '-f', id]);
  ctr(d, ['container', 'rm', id]);
}

describe('containerd drives tsrunc as it drives runc', { skip: missing(), timeout: 600_000 }, () => {
  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'tsrunc-it-containerd-'));
    const image = buildImage(work);
    // runc first: a failure to start tsrunc's daemon must not leave runc's running (after() stops both).
    daemons.set('runc', await startDaemon('runc', image));
    daemons.set('tsrunc', await startDaemon('tsrunc', image));
  });

  after(async () => {
    for (const d of daemons.values()) await stopDaemon(d);
    if (work !== '') rmSync(work, { recursive: true, force: true });
  });

  test('ctr run --rm: stdout, stderr (no runtime warnings in it) and the exit code; the cgroup is /<ns>/<id>; nothing left', () => {
    const id = 'rm1';
    const r = both((d) => ctr(d, ['run', '--rm', IMAGE, id, 'sh', '-c', `grep ^0:: /proc/self/cgroup | sed s/${d.ns}/NS/; echo err >&2; exit 3`]));
    assert.equal(r.tsrunc.code, 3, show(r));
    assert.equal(r.tsrunc.code, r.runc.code, show(r));
    assert.equal(r.tsrunc.stdout, r.runc.stdout, show(r));
    assert.equal(r.tsrunc.stdout, `0::/NS/${id}\n`, show(r));
    assert.equal(r.tsrunc.stderr, 'err\n', show(r));
    assert.equal(r.runc.stderr, 'err\n', show(r));
    assert.deepEqual(both((d) => leftovers(d, id)), { runc: [], tsrunc: [] });
  });

  test('ctr run --rm -t: the process has a terminal (run under a real pty); exit code', () => {
    const r = both((d) => ctrInPty(d, ['run', '--rm', '-t', IMAGE, 'tty1', 'sh', '-c', 'tty; test -t 0 && test -t 1 && echo both-tty; exit 5']));
    assert.equal(r.tsrunc.code, 5, show(r));
    assert.equal(r.tsrunc.code, r.runc.code, show(r));
    assert.equal(r.tsrunc.stdout, r.runc.stdout, show(r));
    assert.match(r.tsrunc.stdout, /^\/dev\/pts\/\d+\nboth-tty\n$/, show(r));
    assert.deepEqual(both((d) => leftovers(d, 'tty1')), { runc: [], tsrunc: [] });
  });

  test('task exec (output, exit code, detached), task ps', async () => {
    const id = 'ex1';
    for (const d of daemons.values()) await runDetached(d, id, ['sleep', '1000']);
    try {
      const ex = both((d) => ctr(d, ['task', 'exec', '--exec-id', 'e1', id, 'sh', '-c', 'echo exec-out; echo exec-err >&2; exit 4']));
      assert.equal(ex.tsrunc.code, 4, show(ex));
      assert.deepEqual([ex.tsrunc.stdout, ex.tsrunc.stderr], ['exec-out\n', 'exec-err\n'], show(ex));
      assert.deepEqual([ex.runc.code, ex.runc.stdout, ex.runc.stderr], [4, 'exec-out\n', 'exec-err\n'], show(ex));

      const det = both((d) => ctr(d, ['task', 'exec', '--detach', '--exec-id', 'e2', id, 'sleep', '999']));
      assert.equal(det.tsrunc.code, 0, show(det));
      assert.equal(det.runc.code, 0, show(det));
      // task ps: the init and the detached exec, by host pid.
      const pids = both((d) => {
        const init = ctr(d, ['task', 'ls']).stdout.split('\n').find((l) => l.startsWith(id + ' '))!.trim().split(/\s+/)[1]!;
        const listed = ctr(d, ['task', 'ps', id]).stdout.trim().split('\n').slice(1).map((l) => l.trim().split(/\s+/)[0]!);
        return { count: listed.length, hasInit: listed.includes(init), sleepers: listed.filter((p) => /^sleep\b/.test(readFileSync(`/proc/${p}/cmdline`, 'utf8').replace(/\0/g, ' '))).length };
      });
      assert.deepEqual(pids.tsrunc, { count: 2, hasInit: true, sleepers: 2 });
      assert.deepEqual(pids.tsrunc, pids.runc);
    } finally {
      for (const d of daemons.values()) remove(d, id);
    }
    assert.deepEqual(both((d) => leftovers(d, id)), { runc: [], tsrunc: [] });
  });

  test('task pause / resume: task ls says PAUSED then RUNNING; exec is refused while paused', async () => {
    const id = 'pz1';
    for (const d of daemons.values()) await runDetached(d, id, ['sleep', '1000']);
    try {
      const p = both((d) => ctr(d, ['task', 'pause', id]));
      assert.deepEqual([p.tsrunc.code, p.runc.code], [0, 0], show(p));
      assert.deepEqual(both((d) => taskStatus(d, id)), { runc: 'PAUSED', tsrunc: 'PAUSED' });
      const ex = both((d) => ctr(d, ['task', 'exec', '--exec-id', 'e1', id, 'true']));
      assert.notEqual(ex.tsrunc.code, 0, show(ex));
      assert.equal(ex.tsrunc.code, ex.runc.code, show(ex));
      assert.equal(ex.tsrunc.stderr, ex.runc.stderr, show(ex));
      const res = both((d) => ctr(d, ['task', 'resume', id]));
      assert.deepEqual([res.tsrunc.code, res.runc.code], [0, 0], show(res));
      assert.deepEqual(both((d) => taskStatus(d, id)), { runc: 'RUNNING', tsrunc: 'RUNNING' });
      const after = both((d) => ctr(d, ['task', 'exec', '--exec-id', 'e2', id, 'echo', 'thawed']));
      assert.deepEqual([after.tsrunc.code, after.tsrunc.stdout], [0, 'thawed\n'], show(after));
    } finally {
      for (const d of daemons.values()) remove(d, id);
    }
  });

  test('task kill: SIGTERM to a trapping init (exit 7), SIGKILL (137); killing a stopped task is "already finished"', async () => {
    const id = 'kl1';
    const id2 = 'kl2';
    for (const d of daemons.values()) {
      await runDetached(d, id, ['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.1; done']);
      await runDetached(d, id2, ['sleep', '1000']);
    }
    try {
      const k = both((d) => ctr(d, ['task', 'kill', id]));
      assert.deepEqual([k.tsrunc.code, k.runc.code], [0, 0], show(k));
      const k9 = both((d) => ctr(d, ['task', 'kill', '-s', 'KILL', id2]));
      assert.deepEqual([k9.tsrunc.code, k9.runc.code], [0, 0], show(k9));
      for (const d of daemons.values()) {
        assert.ok(await waitFor(() => taskStatus(d, id) === 'STOPPED' && taskStatus(d, id2) === 'STOPPED', 10_000), `${d.runtime}: both stop`);
      }
      // The shim maps runc's "container not running" to containerd's not-found.
      const again = both((d) => ctr(d, ['task', 'kill', id]));
      assert.equal(again.tsrunc.code, again.runc.code, show(again));
      assert.equal(again.tsrunc.stderr, again.runc.stderr, show(again));
      // `task rm` reports the exit status it got from the shim.
      const rm = both((d) => [ctr(d, ['task', 'rm', id]), ctr(d, ['task', 'rm', id2])].map((x) => x.stderr.replace(/^time="[^"]*" /gm, '')).join(''));
      assert.equal(rm.tsrunc, rm.runc);
      assert.match(rm.tsrunc, /exit code 7"[\s\S]*exit code 137"/);
    } finally {
      for (const d of daemons.values()) {
        remove(d, id);
        remove(d, id2);
      }
    }
    assert.deepEqual(both((d) => [...leftovers(d, id), ...leftovers(d, id2)]), { runc: [], tsrunc: [] });
  });

  test('--runc-systemd-cgroup (cgroupsPath system.slice:<prefix>:<id>): placed by systemd where it runs, else refused clearly, as by runc', () => {
    const id = 'sd1';
    const r = both((d) => ctr(d, ['run', '--rm', '--runc-systemd-cgroup', '--cgroup', `system.slice:${d.ns}:${id}`, IMAGE, id, 'sh', '-c', `grep ^0:: /proc/self/cgroup | sed s/${d.ns}/NS/`]));
    if (existsSync('/run/systemd/system')) {
      assert.equal(r.tsrunc.code, 0, show(r));
      assert.equal(r.runc.code, 0, show(r));
      assert.equal(r.tsrunc.stdout, r.runc.stdout, show(r));
    } else {
      // No systemd as the system manager (this host): both refuse the create, saying why.
      assert.equal(r.runc.code, 1, show(r));
      assert.match(r.runc.stderr, /OCI runtime create failed: .*systemd/, show(r));
      assert.equal(r.tsrunc.code, 1, show(r));
      assert.match(r.tsrunc.stderr, /^ctr: failed to create shim task: OCI runtime create failed: systemd cgroups: no system bus at \S+ \(start dbus and systemd, or drop --systemd-cgroup\): unknown\n$/, show(r));
    }
    assert.deepEqual(both((d) => leftovers(d, id)), { runc: [], tsrunc: [] });
  });

  test('a failing create reaches ctr through log.json as runc\'s does (missing binary, bad mount); nothing left', () => {
    const missingBin = both((d) => ctr(d, ['run', '--rm', IMAGE, 'bad1', '/no/such/binary']));
    assert.equal(missingBin.tsrunc.code, 1, show(missingBin));
    assert.equal(missingBin.runc.code, 1, show(missingBin));
    // "OCI runtime create failed: <msg>": the shim found the last error line of log.json (without it,
    // it would say "runc did not terminate successfully").
    assert.match(missingBin.runc.stderr, /OCI runtime create failed: runc create failed: .*\/no\/such\/binary.*: unknown\n$/, show(missingBin));
    assert.match(missingBin.tsrunc.stderr, /^ctr: failed to create shim task: OCI runtime create failed: config\.json: \/process\/args\/0 \(\/no\/such\/binary\): [^\n]*No such file or directory: unknown\n$/, show(missingBin));

    const badMount = both((d) => ctr(d, ['run', '--rm', '--mount', 'type=bind,src=/nonexistent-tsrunc-it,dst=/x,options=rbind:ro', IMAGE, 'bad2', 'true']));
    assert.equal(badMount.tsrunc.code, 1, show(badMount));
    assert.equal(badMount.runc.code, 1, show(badMount));
    assert.match(badMount.runc.stderr, /OCI runtime create failed: runc create failed: .*nonexistent-tsrunc-it.*: unknown\n$/, show(badMount));
    assert.match(badMount.tsrunc.stderr, /^ctr: failed to create shim task: OCI runtime create failed: config\.json: \/mounts\/\d+\/source: \/nonexistent-tsrunc-it: no such file or directory: unknown\n$/, show(badMount));
    assert.deepEqual(both((d) => [...leftovers(d, 'bad1'), ...leftovers(d, 'bad2')]), { runc: [], tsrunc: [] });
  });
});
