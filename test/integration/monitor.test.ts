// The monitor of detached containers (issue 8): `run -d` leaves a small native process with the container
// that is its parent and subreaper, records how it ended (`wait`, `state`, `list`), captures its output
// (`--output`, `logs`), runs the poststop hooks once, removes it with `--rm`, and survives the caller's
// terminal session. `create`/`start` get no monitor. Real containers, in the rootless and the root suite.
import { describe, test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  parseState,
  processesMentioning,
  runRuntime,
  runtimeCommand,
  runtimeEnv,
  stateLeftovers,
  stderrBesidesCgroupWarning,
  tempDir,
  uniqueId,
  waitFor,
  sharedLockHeld,
  type Bundle,
  type RunResult,
} from './harness.js';

afterEach(cleanup);
after(cleanup);

/** One state root and the commands against it. */
class Session {
  readonly root = freshStateRoot('tsrunc');
  run(args: string[], timeoutMs = 30_000): Promise<RunResult> {
    return runRuntime('tsrunc', args, { root: this.root, timeoutMs });
  }
  stateFile(id: string): { pid: number; monitor?: { pid: number; startTime: string; output?: string }; poststopRan?: boolean } {
    return JSON.parse(readFileSync(join(this.root, id, 'state.json'), 'utf8'));
  }
  /** Monitors (or anything else) still running with this state root on their command line. */
  leftovers(): string[] {
    return processesMentioning(this.root);
  }
  async destroy(id: string): Promise<void> {
    await this.run(['delete', '--force', id]);
  }
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  return r;
}

function status(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}

function field(pid: number, name: string): string | undefined {
  return new RegExp(`^${name}:\\s+(.*)$`, 'm').exec(status(pid))?.[1];
}

function alive(pid: number): boolean {
  const state = field(pid, 'State');
  return state !== undefined && !state.startsWith('Z');
}

/** Session id of a process (field 6 of /proc/<pid>/stat). */
function sessionOf(pid: number): number {
  let stat = '';
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return -1;
  }
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

function pids(): number[] {
  return readdirSync('/proc').filter((n) => /^\d+$/.test(n)).map(Number).filter((p) => p !== process.pid && alive(p));
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/** A bundle whose process waits for rootfs/tmp/go from the host, then runs `then`. */
function gatedBundle(then: string, mutate?: (c: Bundle['config']) => void): Bundle {
  return makeBundle({ args: ['sh', '-c', `while [ ! -e /tmp/go ]; do sleep 0.05; done; ${then}`], mutate: (c) => mutate?.(c) });
}

function release(b: Bundle): void {
  writeFileSync(join(b.rootfs, 'tmp', 'go'), '');
}

describe('monitor of detached containers', { skip: missingPrerequisites() }, () => {
  test('run -d of a process that prints and exits 3: wait prints 3, state and list say stopped with it, logs show the output', async () => {
    const s = new Session();
    const b = makeBundle({ args: ['sh', '-c', 'echo out one; echo err one >&2; printf "no newline"; exit 3'] });
    const id = uniqueId('mon');
    const log = join(tempDir('log'), 'c.log');
    try {
      const r = ok(await s.run(['run', '-d', '--output', log, '--bundle', b.dir, id]), 'run -d');
      assert.equal(r.stdout, '', 'the container output went to the log, not to the caller');
      assert.equal(ok(await s.run(['wait', id]), 'wait').stdout, '3\n');
      const st = parseState(ok(await s.run(['state', id]), 'state'));
      assert.equal(st.status, 'stopped');
      assert.equal(st.pid, 0);
      const exit = st.exitStatus as { code: number; signal: number | null; at: string };
      assert.equal(exit.code, 3);
      assert.equal(exit.signal, null);
      assert.match(exit.at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
      const listed = JSON.parse(ok(await s.run(['list', '--format', 'json']), 'list').stdout) as { id: string; status: string; exitStatus?: { code: number } }[];
      assert.deepEqual(listed.map((c) => [c.id, c.status, c.exitStatus?.code]), [[id, 'stopped', 3]]);
      const logs = ok(await s.run(['logs', id]), 'logs');
      assert.equal(logs.stdout, 'out one\nno newline');
      assert.equal(stderrBesidesCgroupWarning(logs), 'err one\n');
      // The log itself: CRI's format, one timestamped record per line.
      const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => l.replace(/^\S+ /, ''));
      assert.deepEqual(lines.sort(), ['stderr F err one', 'stdout F out one', 'stdout P no newline']);
      assert.deepEqual(s.leftovers(), [], 'the monitor is gone once the container ended');
      ok(await s.run(['delete', id]), 'delete');
      assert.deepEqual(stateLeftovers(s.root), []);
    } finally {
      await s.destroy(id);
    }
  });

  test('the monitor is the init\'s parent and a subreaper, in a session of its own, with a resident set of at most 2 MiB', async () => {
    const s = new Session();
    const b = gatedBundle('exit 0');
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--output', join(tempDir('log'), 'l'), '--bundle', b.dir, id]), 'run -d');
      const st = s.stateFile(id);
      const monitor = st.monitor!;
      assert.ok(monitor !== undefined && monitor.pid > 0, 'the state names the monitor');
      assert.equal(Number(field(st.pid, 'PPid')), monitor.pid, 'the monitor is the parent of the init');
      assert.match(readFileSync(`/proc/${monitor.pid}/cmdline`, 'utf8'), /tsrunc-monitor/);
      assert.equal(sessionOf(monitor.pid), monitor.pid, 'the monitor leads a session of its own');
      assert.notEqual(sessionOf(monitor.pid), sessionOf(process.pid));
      const rss = Number(/^(\d+) kB$/.exec(field(monitor.pid, 'VmRSS') ?? '')?.[1]);
      assert.ok(rss > 0 && rss <= 2048, `monitor VmRSS ${rss} kB is at most 2 MiB`);
      console.log(`# monitor VmRSS ${rss} kB`);
      release(b);
      assert.equal(ok(await s.run(['wait', id]), 'wait').stdout, '0\n');
    } finally {
      await s.destroy(id);
    }
  });

  test('an orphan of the container is reaped by the monitor (subreaper), not left a zombie', async () => {
    const s = new Session();
    // Without a PID namespace, the init's child outlives it and is reparented: to the monitor.
    const b = gatedBundle('sleep 30 & echo $! > /tmp/orphan; exit 0', (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'pid');
      // Without a PID namespace of its own a rootless container may not mount a proc.
      c.mounts = c.mounts!.filter((m) => m.destination !== '/proc');
      c.linux!.maskedPaths = [];
      c.linux!.readonlyPaths = [];
      c.root!.readonly = false;
    });
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--bundle', b.dir, id]), 'run -d');
      const monitor = s.stateFile(id).monitor!.pid;
      release(b);
      assert.ok(await waitFor(() => existsSync(join(b.rootfs, 'tmp', 'orphan')) && readFileSync(join(b.rootfs, 'tmp', 'orphan'), 'utf8').endsWith('\n')));
      const orphan = Number(readFileSync(join(b.rootfs, 'tmp', 'orphan'), 'utf8'));
      assert.equal(ok(await s.run(['wait', id]), 'wait').stdout, '0\n');
      // A host pid: the container had no PID namespace.
      assert.ok(await waitFor(() => Number(field(orphan, 'PPid')) === monitor || !alive(orphan)), `the orphan ${orphan} went to the monitor ${monitor}: ${status(orphan)}`);
      process.kill(orphan, 'SIGKILL');
      assert.ok(await waitFor(() => status(orphan) === ''), 'the monitor reaped the orphan (no zombie left)');
      assert.ok(await waitFor(() => !alive(monitor)), 'and then, childless, ended');
    } finally {
      await s.destroy(id);
    }
  });

  test('killing the caller\'s terminal session (setsid script …) kills neither the container nor its monitor', async () => {
    const s = new Session();
    const b = gatedBundle('exit 4');
    const id = uniqueId('mon');
    const [cmd, pre] = runtimeCommand('tsrunc');
    const marker = join(tempDir('sess'), 'started');
    const line = [cmd, ...pre, '--root', s.root, 'run', '-d', '--output', join(tempDir('log'), 'l'), '--bundle', b.dir, id].map((a) => `'${a}'`).join(' ');
    // A terminal session like a user's: script (in a session of its own: detached) gives the shell a
    // pty and a session of its own too; run -d is a command in it.
    const term = spawn('script', ['-qfec', `${line} && touch '${marker}' && exec sleep 600`, '/dev/null'], {
      env: runtimeEnv(),
      stdio: 'ignore',
      detached: true,
    });
    try {
      assert.ok(await waitFor(() => existsSync(marker), 20_000), 'run -d in the terminal session returned');
      const st = s.stateFile(id);
      const shells = pids().filter((p) => Number(field(p, 'PPid')) === term.pid);
      const sessions = new Set([term.pid!, ...shells.map(sessionOf)]);
      const members = pids().filter((p) => sessions.has(sessionOf(p)));
      assert.ok(members.length >= 2, 'the terminal session has its processes');
      // The terminal goes away: hangup, then everything in its sessions is killed.
      for (const sig of ['SIGHUP', 'SIGKILL'] as const) for (const p of members) kill(p, sig);
      assert.ok(await waitFor(() => members.every((p) => !alive(p))), 'the terminal session is dead');
      assert.ok(alive(st.pid), 'the container survived');
      assert.ok(alive(st.monitor!.pid), 'the monitor survived');
      assert.equal(parseState(ok(await s.run(['state', id]), 'state')).status, 'running');
      release(b);
      assert.equal(ok(await s.run(['wait', id]), 'wait').stdout, '4\n');
    } finally {
      kill(term.pid!, 'SIGKILL');
      await s.destroy(id);
    }
  });

  test('--rm: a waiting `wait` still gets the code, then the container is removed and its monitor gone', async () => {
    const s = new Session();
    const b = gatedBundle('exit 5');
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--rm', '--bundle', b.dir, id]), 'run -d --rm');
      const waiting = s.run(['wait', id]);
      assert.ok(await sharedLockHeld(join(s.root, id, 'wait.lock')), 'wait holds its shared lock');
      release(b);
      assert.equal(ok(await waiting, 'wait').stdout, '5\n');
      assert.ok(await waitFor(() => stateLeftovers(s.root).length === 0, 15_000), `removed: ${stateLeftovers(s.root).join(' ')}`);
      assert.ok(await waitFor(() => s.leftovers().length === 0), `no monitor left: ${s.leftovers().join('; ')}`);
      const gone = await s.run(['state', id]);
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, /does not exist/);
    } finally {
      await s.destroy(id);
    }
  });

  test('poststop hooks run once: when the container ends (the monitor\'s exit step), not again at delete', async () => {
    const s = new Session();
    const dir = tempDir('hook', 0o777);
    const ran = join(dir, 'ran');
    const b = gatedBundle('exit 0', (c) => {
      c.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `cat >> ${ran}; echo >> ${ran}`] }] };
    });
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--bundle', b.dir, id]), 'run -d');
      assert.equal(existsSync(ran), false, 'not before the container ends');
      release(b);
      assert.equal(ok(await s.run(['wait', id]), 'wait').stdout, '0\n');
      assert.ok(await waitFor(() => existsSync(ran) && readFileSync(ran, 'utf8').endsWith('}\n'), 15_000), 'the exit step ran the hook');
      assert.ok(await waitFor(() => s.stateFile(id).poststopRan === true), 'and recorded it');
      const lines = readFileSync(ran, 'utf8').trim().split('\n');
      assert.equal(lines.length, 1);
      const hookState = JSON.parse(lines[0]!) as { id: string; status: string };
      assert.deepEqual([hookState.id, hookState.status], [id, 'stopped']);
      ok(await s.run(['delete', id]), 'delete');
      assert.equal(readFileSync(ran, 'utf8').trim().split('\n').length, 1, 'delete did not run them again');
      assert.deepEqual(stateLeftovers(s.root), []);
    } finally {
      await s.destroy(id);
    }
  });

  test('delete --force of a running monitored container: killed, removed, poststop once, no monitor left', async () => {
    const s = new Session();
    const dir = tempDir('hook', 0o777);
    const ran = join(dir, 'ran');
    const b = makeBundle({
      args: ['sleep', '600'],
      mutate: (c) => {
        c.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `echo x >> ${ran}`] }] };
      },
    });
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--output', join(dir, 'log'), '--bundle', b.dir, id]), 'run -d');
      const st = s.stateFile(id);
      const plain = await s.run(['delete', id]);
      assert.equal(plain.code, 1, 'a running container needs --force');
      ok(await s.run(['delete', '--force', id]), 'delete --force');
      assert.deepEqual(stateLeftovers(s.root), []);
      assert.ok(!alive(st.pid), 'the init is dead');
      assert.ok(await waitFor(() => !alive(st.monitor!.pid) && s.leftovers().length === 0, 15_000), `no monitor left: ${s.leftovers().join('; ')}`);
      // The monitor's exit step found the container gone: the hooks ran once, from delete.
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(readFileSync(ran, 'utf8'), 'x\n');
      assert.deepEqual(stateLeftovers(s.root), [], 'the monitor wrote nothing after the removal');
    } finally {
      await s.destroy(id);
    }
  });

  test('kill of a monitored container: wait reports 128+signal, state the signal', async () => {
    const s = new Session();
    const b = makeBundle({ args: ['sleep', '600'] });
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--bundle', b.dir, id]), 'run -d');
      const waiting = s.run(['wait', id]);
      ok(await s.run(['kill', id, 'KILL']), 'kill');
      assert.equal(ok(await waiting, 'wait').stdout, '137\n');
      const st = parseState(ok(await s.run(['state', id]), 'state'));
      assert.equal(st.status, 'stopped');
      assert.deepEqual([(st.exitStatus as { code: null }).code, (st.exitStatus as { signal: number }).signal], [null, 9]);
    } finally {
      await s.destroy(id);
    }
  });

  test('logs -f follows the output until the container ends', async () => {
    const s = new Session();
    const b = gatedBundle('echo before; sleep 0.3; echo after; exit 0', undefined);
    const id = uniqueId('mon');
    try {
      ok(await s.run(['run', '-d', '--output', join(tempDir('log'), 'l'), '--bundle', b.dir, id]), 'run -d');
      const following = s.run(['logs', '-f', id]);
      await new Promise((r) => setTimeout(r, 300));
      release(b);
      const r = ok(await following, 'logs -f');
      assert.equal(r.stdout, 'before\nafter\n');
    } finally {
      await s.destroy(id);
    }
  });

  test('bad input: one line, non-zero, and nothing left (no state, no monitor)', async () => {
    const s = new Session();
    const id = uniqueId('mon');
    const logDir = tempDir('log');
    const cases: [string, string[], Bundle, RegExp][] = [
      ['no rootfs', [], makeBundle({ args: ['true'], noRootfs: true }), /^tsrunc: config\.json: \/root\/path: .*: no such directory\n$/],
      // Fails after the monitor cloned the init: the monitor must go too.
      ['a program that is not there', [], makeBundle({ args: ['/no/such/program'] }), /^tsrunc: config\.json: \/process\/args\/0 \(\/no\/such\/program\): .*\n$/],
      ['--output in a missing directory', ['--output', join(logDir, 'no', 'such', 'log')], makeBundle({ args: ['true'] }), /^tsrunc: --output .*no such file or directory.*\n$/i],
    ];
    for (const [what, flags, b, msg] of cases) {
      const r = await s.run(['run', '-d', ...flags, '--bundle', b.dir, id]);
      assert.equal(r.code, 1, `${what}: ${r.stderr}`);
      assert.match(stderrBesidesCgroupWarning(r).replace(/\n+/g, '\n').replace(/^\n/, ''), msg, what);
      assert.deepEqual(stateLeftovers(s.root), [], `${what}: no state`);
      assert.ok(await waitFor(() => s.leftovers().length === 0), `${what}: no monitor left: ${s.leftovers().join('; ')}`);
    }
    const b = makeBundle({ args: ['true'] });
    for (const [args, msg] of [
      [['run', '--output', join(logDir, 'l'), '--bundle', b.dir, id], /^tsrunc: --output: only with --detach/],
      [['run', '--rm', '--bundle', b.dir, id], /^tsrunc: --rm: only with --detach/],
      [['run', '-d', '--rm', '--keep', '--bundle', b.dir, id], /^tsrunc: --rm and --keep contradict each other/],
      [['wait', id], /^tsrunc: container ".*" does not exist\n$/],
      [['logs', id], /^tsrunc: container ".*" does not exist\n$/],
    ] as [string[], RegExp][]) {
      const r = await s.run(args);
      assert.equal(r.code, 1, args.join(' '));
      assert.match(r.stderr, msg);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.deepEqual(stateLeftovers(s.root), []);
    }
  });

  test('create and start (as engines call them) get no monitor: wait and logs say so', async () => {
    const s = new Session();
    const b = makeBundle({ args: ['sleep', '600'] });
    const id = uniqueId('mon');
    try {
      ok(await s.run(['create', '--bundle', b.dir, id]), 'create');
      ok(await s.run(['start', id]), 'start');
      const st = s.stateFile(id);
      assert.equal(st.monitor, undefined);
      assert.deepEqual(s.leftovers(), [], 'no process of ours stays with it');
      assert.doesNotMatch(readFileSync(`/proc/${Number(field(st.pid, 'PPid'))}/cmdline`, 'utf8'), /tsrunc-monitor/);
      const w = await s.run(['wait', id]);
      assert.equal(w.code, 1);
      assert.match(w.stderr, /has no monitor, so nothing records how it ends/);
      const l = await s.run(['logs', id]);
      assert.equal(l.code, 1);
      assert.match(l.stderr, /has no output log/);
      // Also a monitored container without --output has no log.
    } finally {
      await s.destroy(id);
    }
  });

  test('the internal exited step acts only for the monitor that runs it: by hand it leaves a container alone', async () => {
    const s = new Session();
    const b = makeBundle({ args: ['true'] });
    const id = uniqueId('mon');
    try {
      ok(await s.run(['create', '--bundle', b.dir, id]), 'create');
      ok(await s.run(['start', id]), 'start');
      assert.ok(await waitFor(() => !alive(s.stateFile(id).pid)), 'the init ended');
      assert.equal(parseState(ok(await s.run(['state', id]), 'state')).status, 'stopped');
      ok(await s.run(['exited', '--rm', id]), 'exited --rm by hand');
      assert.equal(parseState(ok(await s.run(['state', id]), 'state')).status, 'stopped', 'still there');
    } finally {
      await s.destroy(id);
    }
  });
});
