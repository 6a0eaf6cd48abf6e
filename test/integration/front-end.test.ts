// The C front end and its warm server (helpers/frontend.c, src/server/): a fast call keeps runc's
// process model (the init is the caller's child, with its stdio, limits and signals), a server serves
// only callers like itself and leaves when idle, engine-style calls never meet one, and a server that
// dies mid-call leaves one line and nothing else. Each test that needs a server of its own gets it by
// its umask, which is part of the server's identity.
import assert from 'node:assert/strict';
import { after, afterEach, test } from 'node:test';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import {
  cleanup, freshStateRoot, IS_ROOT, makeBundle, missingPrerequisites, processesMentioning, runRuntime, runtimeEnv, SELF,
  stateLeftovers, tempDir, tsruncBin, uniqueId, waitFor,
} from './harness.js';
import { listening, servers as allServers, type Server } from './front-end-helpers.js';

/** The servers of this uid. */
function mine(): Server[] {
  const uid = process.getuid?.() ?? 0;
  return allServers().filter((s) => s.uid === uid);
}

const skip = SELF ? 'the front end is tsrunc\'s own' : missingPrerequisites();
afterEach(cleanup);
const started: number[] = [];
after(() => {
  for (const s of mine()) if (started.includes(s.umask)) process.kill(s.pid, 'SIGKILL');
});



/** The front end with TSRUNC_SERVER=1 (unless `env` says otherwise) under `umask`. */
function frontEnd(args: string[], umask: number, opts: { env?: Record<string, string>; stdio?: ('pipe' | 'ignore')[]; prefix?: string[] } = {}): ChildProcess {
  const prefix = opts.prefix ?? [];
  return spawn(prefix[0] ?? 'sh', [...prefix.slice(1), ...(prefix.length > 0 ? ['sh'] : []), '-c', `umask ${umask.toString(8)}; exec "$0" "$@"`, tsruncBin(), ...args], {
    env: runtimeEnv({ TSRUNC_SERVER: '1', ...opts.env }),
    stdio: opts.stdio ?? ['ignore', 'pipe', 'pipe'],
  });
}

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function ended(child: ChildProcess, input?: Buffer | string): Promise<Ended> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('latin1').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  if (input !== undefined) child.stdin?.end(input);
  return new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr })));
}


/** A server for `umask` (started by a first call, which itself runs the CLI directly), listening. */
async function warm(umask: number, env: Record<string, string> = {}): Promise<Server> {
  started.push(umask);
  const first = await ended(frontEnd(['list', '-q'], umask, { env }));
  assert.equal(first.code, 0, first.stderr);
  assert.ok(await waitFor(() => mine().some((s) => s.umask === umask && listening(s.socket)), 15_000), 'a server starts after the first call');
  return mine().find((s) => s.umask === umask)!;
}

/** The container's state through the fast path; undefined while it does not exist. */
function stateOf(root: string, id: string, umask: number): { pid: number; status: string } | undefined {
  const r = spawnSync('sh', ['-c', `umask ${umask.toString(8)}; exec "$0" "$@"`, tsruncBin(), '--root', root, 'state', id], { env: runtimeEnv({ TSRUNC_SERVER: '1' }), encoding: 'utf8' });
  return r.status === 0 ? (JSON.parse(r.stdout) as { pid: number; status: string }) : undefined;
}

async function waitRunning(root: string, id: string, umask: number): Promise<{ pid: number; status: string }> {
  let s: { pid: number; status: string } | undefined;
  assert.ok(await waitFor(() => (s = stateOf(root, id, umask))?.status === 'running', 15_000), `${id} runs`);
  return s!;
}

function statusField(pid: number, field: string): string | undefined {
  return new RegExp(`^${field}:\\s+(.*)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
}

/** cgroup lines of a process other than the unified hierarchy's (the container gets its own there). */
function otherHierarchies(pid: number): string[] {
  return readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n').filter((l) => !l.startsWith('0::'));
}

test('a fast run: the init is the front end\'s child with its stdio, rlimits and cgroup; exit code passed on', { skip }, async () => {
  await warm(0o022);
  const bundle = makeBundle({ args: ['sh', '-c', 'grep "Max msgqueue" /proc/self/limits | tr -s " "; read line; echo "got $line"; echo to-stderr >&2; exit 42'] });
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('fe');
  // A limit only the caller has: the init inherits it only if the caller's process cloned it.
  const child = frontEnd(['--root', root, 'run', '--bundle', bundle.dir, id], 0o022, { stdio: ['pipe', 'pipe', 'pipe'], prefix: ['prlimit', '--msgqueue=12345'] });
  const result = ended(child);
  try {
    const s = await waitRunning(root, id, 0o022);
    const parent = Number(statusField(s.pid, 'PPid'));
    assert.equal(parent, child.pid, 'the front end is the init\'s parent');
    assert.match(readlinkSync(`/proc/${parent}/exe`), /\/helpers\/build\/tsrunc$/, 'served by the server, not run by node');
    assert.deepEqual(otherHierarchies(s.pid), otherHierarchies(child.pid!));
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  child.stdin!.end('hello\n');
  const r = await result;
  assert.equal(r.code, 42, r.stderr);
  assert.equal(r.stdout, 'Max msgqueue size 12345 12345 bytes \ngot hello\n');
  assert.match(r.stderr, /(^|\n)to-stderr\n$/);
  assert.deepEqual(stateLeftovers(root), []);
});

test('a fast run passes a pipe through unchanged (256 KiB of random bytes)', { skip }, async () => {
  await warm(0o022);
  const bundle = makeBundle({ args: ['cat'] });
  const data = randomBytes(256 * 1024);
  const r = await ended(frontEnd(['--root', freshStateRoot('tsrunc'), 'run', '--bundle', bundle.dir, uniqueId('fe')], 0o022, { stdio: ['pipe', 'pipe', 'pipe'] }), data);
  assert.equal(r.code, 0, r.stderr);
  assert.ok(Buffer.from(r.stdout, 'latin1').equals(data), 'stdout is stdin');
});

test('a fast run exits 128+signal when its container is killed, and forwards signals to it', { skip }, async () => {
  await warm(0o022);
  const root = freshStateRoot('tsrunc');
  const killed = uniqueId('fe');
  const sleeper = ended(frontEnd(['--root', root, 'run', '--bundle', makeBundle({ args: ['sleep', '30'] }).dir, killed], 0o022));
  await waitRunning(root, killed, 0o022);
  const kill = await runRuntime('tsrunc', ['kill', killed, 'KILL'], { root, env: { TSRUNC_SERVER: '1' } });
  assert.equal(kill.code, 0, kill.stderr);
  assert.equal((await sleeper).code, 137);

  for (const [signal, code] of [['SIGTERM', 3], ['SIGHUP', 4], ['SIGUSR1', 5]] as const) {
    const trap = `trap "echo got-${signal}; exit ${code}" ${signal.slice(3)}; echo ready; while :; do sleep 0.05; done`;
    const child = frontEnd(['--root', root, 'run', '--bundle', makeBundle({ args: ['sh', '-c', trap] }).dir, uniqueId('fe')], 0o022);
    const r = ended(child);
    let seen = '';
    child.stdout!.on('data', (d: string) => (seen += d));
    assert.ok(await waitFor(() => seen.includes('ready') || child.exitCode !== null, 15_000));
    child.kill(signal);
    const done = await r;
    assert.equal(done.code, code, `${signal}: ${done.stderr}`);
    assert.equal(done.stdout, `ready\ngot-${signal}\n`);
  }
  assert.deepEqual(stateLeftovers(root), []);
});

test('a killed front end leaves its container running, as a killed runc run does', { skip }, async () => {
  await warm(0o022);
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('fe');
  const child = frontEnd(['--root', root, 'run', '--bundle', makeBundle({ args: ['sleep', '30'] }).dir, id], 0o022);
  const s = await waitRunning(root, id, 0o022);
  const exited = new Promise((res) => child.on('exit', res));
  child.kill('SIGKILL');
  await exited; // not its pipes' end: the container holds them
  await new Promise((res) => setTimeout(res, 500)); // the server has seen its caller go
  assert.equal(stateOf(root, id, 0o022)?.status, 'running');
  assert.ok(existsSync(`/proc/${s.pid}`), 'the container goes on');
  const d = await runRuntime('tsrunc', ['delete', '--force', id], { root, env: { TSRUNC_SERVER: '1' } });
  assert.equal(d.code, 0, d.stderr);
  assert.deepEqual(stateLeftovers(root), []);
});

test('killing the server mid-call: one line, the container killed and removed', { skip }, async () => {
  const server = await warm(0o027);
  const root = freshStateRoot('tsrunc');
  const id = uniqueId('fe');
  const bundle = makeBundle({ args: ['sleep', '30'] });
  const call = ended(frontEnd(['--root', root, 'run', '--bundle', bundle.dir, id], 0o027));
  const s = await waitRunning(root, id, 0o027);
  process.kill(server.pid, 'SIGKILL');
  const r = await call;
  assert.equal(r.code, 1);
  const lines = r.stderr.split('\n').filter((l) => !/^tsrunc: warning: container "[^"]*" runs without a cgroup/.test(l));
  assert.equal(lines.join('\n'), 'tsrunc: the tsrunc server ended during the call (TSRUNC_SERVER=0 runs without it)\n');
  assert.ok(!existsSync(`/proc/${s.pid}`), 'the container\'s init is gone');
  assert.deepEqual(stateLeftovers(root), []);
  assert.deepEqual(processesMentioning(bundle.dir), []);
});

test('a server leaves when idle, and its socket with it', { skip }, async () => {
  const server = await warm(0o077, { TSRUNC_SERVER_IDLE_MS: '1500' });
  assert.ok(existsSync(server.socket));
  assert.ok(await waitFor(() => !existsSync(`/proc/${server.pid}`), 15_000), 'the idle server exits');
  assert.ok(!existsSync(server.socket), 'its socket is removed');
});

test('an engine-style call (--log … --log-format json) never starts a server', { skip }, async () => {
  started.push(0o067);
  const bundle = makeBundle({ args: ['true'] });
  const log = join(tempDir('log'), 'log.json');
  for (let k = 0; k < 2; k++) {
    const r = await ended(frontEnd(['--root', freshStateRoot('tsrunc'), '--log', log, '--log-format', 'json', 'run', '--bundle', bundle.dir, uniqueId('fe')], 0o067));
    assert.equal(r.code, 0, r.stderr);
  }
  await new Promise((res) => setTimeout(res, 1500));
  assert.deepEqual(mine().filter((s) => s.umask === 0o067), []);
});

test('callers in other namespaces get another server', { skip }, async () => {
  const here = await warm(0o057);
  // Rootless, a user namespace mapping only ourselves keeps the uid; as root a new UTS namespace is enough.
  const prefix = IS_ROOT ? ['unshare', '--uts'] : ['unshare', '--user', '--map-current-user', '--uts'];
  const r = await ended(frontEnd(['--root', freshStateRoot('tsrunc'), 'list', '-q'], 0o057, { prefix }));
  assert.equal(r.code, 0, r.stderr);
  assert.ok(await waitFor(() => mine().filter((s) => s.umask === 0o057).length === 2, 15_000), 'a second server starts');
  const there = mine().find((s) => s.umask === 0o057 && s.pid !== here.pid)!;
  assert.notEqual(there.socket, here.socket);
  assert.notEqual(readlinkSync(`/proc/${there.pid}/ns/uts`), readlinkSync(`/proc/${here.pid}/ns/uts`));
});

test('TSRUNC_SERVER=0 runs the Node CLI itself, and starts no server', { skip }, async () => {
  started.push(0o047);
  const child = frontEnd(['--root', freshStateRoot('tsrunc'), 'run', '--bundle', makeBundle({ args: ['true'] }).dir, uniqueId('fe')], 0o047, { env: { TSRUNC_SERVER: '0' } });
  const r = await ended(child);
  assert.equal(r.code, 0, r.stderr);
  await new Promise((res) => setTimeout(res, 1500));
  assert.deepEqual(mine().filter((s) => s.umask === 0o047), []);
});
