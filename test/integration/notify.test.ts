// NOTIFY_SOCKET passthrough: a container that runs sd_notify (a tiny static sender) through the socket
// tsrunc gives it at /run/notify/notify.sock; tsrunc forwards STATUS= and READY=1 (with MAINPID) to the
// caller's socket, here a plain datagram receiver. `run -d` and `start` return once the container is
// ready, as runc's do.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { cleanup, freshStateRoot, makeBundle, missingPrerequisites, repoRoot, runRuntime, tempDir, uniqueId, waitFor, type Bundle } from './harness.js';

let built: string | undefined | null = null;

/** test/integration/notify/sd-notify.c built statically, once; undefined without a compiler. */
function sdNotify(): string | undefined {
  if (built !== null) return built;
  const out = join(tempDir('sdnotify'), 'sd-notify');
  const src = join(repoRoot(), 'test', 'integration', 'notify', 'sd-notify.c');
  const r = spawnSync('cc', ['-static', '-O2', '-Wall', '-o', out, src], { encoding: 'utf8' });
  built = r.status === 0 ? out : undefined;
  return built;
}

function missingTools(): string | false {
  if (spawnSync('sh', ['-c', 'command -v python3']).status !== 0) return 'requires python3 (apt-get install python3)';
  return sdNotify() === undefined ? 'requires a C compiler with static libc (apt-get install gcc libc6-dev)' : false;
}

const RECEIVER = `
import os, socket, sys
p, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(p)
os.chmod(p, 0o777)
print("ready", flush=True)
while True:
    d = s.recv(4096)
    with open(out, "ab") as f:
        f.write(b"<" + d + b">")
`;

/** A datagram receiver at a fresh path; `messages()` is what it got so far, one <…> per datagram. */
async function receiver(): Promise<{ socket: string; messages(): string[]; until(n: number): Promise<void>; stop(): void }> {
  const dir = tempDir('notify', 0o777);
  const script = join(dir, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const socket = join(dir, 'host.sock');
  const out = join(dir, 'out');
  const child: ChildProcess = spawn('python3', [script, socket, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  const messages = (): string[] => (existsSync(out) ? [...readFileSync(out, 'utf8').matchAll(/<([^>]*)>/g)].map((m) => m[1]!) : []);
  return {
    socket,
    messages,
    until: async (n: number) => void (await waitFor(() => messages().length >= n, 20_000)), // a hang guard, not a timing
    stop: () => child.kill(),
  };
}

function notifyBundle(script: string): Bundle {
  return makeBundle({
    args: ['sh', '-c', script],
    setup: (b) => {
      copyFileSync(sdNotify()!, join(b.rootfs, 'bin', 'sd-notify'));
      chmodSync(join(b.rootfs, 'bin', 'sd-notify'), 0o755);
    },
  });
}

async function statePid(root: string, id: string): Promise<number> {
  return (JSON.parse((await runRuntime('tsrunc', ['state', id], { root })).stdout) as { pid: number }).pid;
}

describe('NOTIFY_SOCKET', { skip: missingPrerequisites() || missingTools() }, () => {
  after(cleanup);

  test('run -d returns once the container is READY; STATUS= and READY=1 with MAINPID (the init) reach the caller', async () => {
    const r = await receiver();
    const root = freshStateRoot('tsrunc');
    const id = uniqueId('notify');
    try {
      const bundle = notifyBundle('sd-notify STATUS=warming-up; sleep 1; sd-notify READY=1 STATUS=serving; sleep 300');
      const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, id], { root, env: { NOTIFY_SOCKET: r.socket } });
      assert.equal(run.code, 0, run.stderr);
      // run -d waited for READY: it was sent before run returned (the receiver may still be writing it down).
      const pid = await statePid(root, id);
      await r.until(3);
      assert.deepEqual(r.messages(), ['STATUS=warming-up\n', 'STATUS=serving\n', `READY=1\nMAINPID=${pid}\n`]);
    } finally {
      await runRuntime('tsrunc', ['delete', '--force', id], { root });
      r.stop();
    }
  });

  test('inside: NOTIFY_SOCKET=/run/notify/notify.sock on a read-only, nosuid, nodev, noexec bind', async () => {
    const r = await receiver();
    try {
      const bundle = notifyBundle('echo $NOTIFY_SOCKET; test -S /run/notify/notify.sock && echo socket; grep " /run/notify " /proc/self/mountinfo | cut -d" " -f6');
      const run = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('notify')], { env: { NOTIFY_SOCKET: r.socket } });
      assert.equal(run.code, 0, run.stderr);
      const [env, sock, opts] = run.stdout.trim().split('\n');
      assert.equal(env, '/run/notify/notify.sock');
      assert.equal(sock, 'socket');
      for (const o of ['ro', 'nosuid', 'nodev', 'noexec']) assert.ok(opts!.split(',').includes(o), `${o} in ${opts}`);
    } finally {
      r.stop();
    }
  });

  test('create + start: start returns once READY, MAINPID is the init; a foreground run names itself', async () => {
    const r = await receiver();
    const root = freshStateRoot('tsrunc');
    const id = uniqueId('notify');
    try {
      const bundle = notifyBundle('sleep 1; sd-notify READY=1; sleep 300');
      const env = { NOTIFY_SOCKET: r.socket };
      assert.equal((await runRuntime('tsrunc', ['create', '--bundle', bundle.dir, id], { root, env })).code, 0);
      assert.deepEqual(r.messages(), [], 'nothing before start');
      const st = await runRuntime('tsrunc', ['start', id], { root, env });
      assert.equal(st.code, 0, st.stderr);
      const init = await statePid(root, id);
      await r.until(1);
      assert.deepEqual(r.messages(), [`READY=1\nMAINPID=${init}\n`]);
      await runRuntime('tsrunc', ['delete', '--force', id], { root });

      const fg = await runRuntime('tsrunc', ['run', '--bundle', notifyBundle('sd-notify READY=1; exit 3').dir, uniqueId('notify')], { root, env });
      assert.equal(fg.code, 3, fg.stderr);
      await r.until(2);
      const last = r.messages().at(-1)!;
      assert.match(last, /^READY=1\nMAINPID=\d+\n$/);
      assert.notEqual(last, `READY=1\nMAINPID=${init}\n`);
    } finally {
      await runRuntime('tsrunc', ['delete', '--force', id], { root });
      r.stop();
    }
  });

  test('a container that never notifies: run -d returns when it exits, nothing is sent', async () => {
    const r = await receiver();
    try {
      const bundle = notifyBundle('sleep 1; exit 0');
      const run = await runRuntime('tsrunc', ['run', '-d', '--bundle', bundle.dir, uniqueId('notify')], { env: { NOTIFY_SOCKET: r.socket } });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(r.messages(), []);
    } finally {
      r.stop();
    }
  });
});

