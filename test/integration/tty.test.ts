// Terminals: process.terminal under a real pty (script(1)), the pty master over --console-socket to a
// tiny receiver (SCM_RIGHTS), consoleSize, exec -t, the host terminal restored, and runc's refusals.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SELF,
  cleanup,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  repoRoot,
  runRuntime,
  runtimeCommand,
  runtimeEnv,
  stateLeftovers,
  tempDir,
  uniqueId,
  waitFor,
  type Runtime,
  type Spec,
} from './harness.js';

const RUNTIMES: Runtime[] = ['runc', 'tsrunc'];

let built: string | undefined | null = null;

/** test/integration/tty/winsize.c built statically, once; undefined without a compiler. */
function winsizeBinary(): string | undefined {
  if (built !== null) return built;
  const out = join(tempDir('winsize'), 'winsize');
  const r = spawnSync('cc', ['-static', '-O2', '-Wall', '-o', out, join(repoRoot(), 'test', 'integration', 'tty', 'winsize.c')], { encoding: 'utf8' });
  built = r.status === 0 ? out : undefined;
  return built;
}

function missingTools(): string | false {
  const missing = ['script', 'python3'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  return missing.length > 0 ? `requires ${missing.join(' and ')} (apt-get install bsdutils python3)` : false;
}

function shellQuote(a: string): string {
  return `'${a.replace(/'/g, `'\\''`)}'`;
}

/** Runs `<runtime> --root R <args>` inside script(1), i.e. with a pty as its terminal; `before`/`after`
 * are shell commands run in that terminal around it. The output has script's NULs and CRs removed. */
async function underPty(rt: Runtime, args: string[], opts: { before?: string; after?: string; root?: string } = {}): Promise<{ code: number | null; out: string }> {
  const [cmd, pre] = runtimeCommand(rt);
  const root = opts.root ?? freshStateRoot(rt);
  const line = [cmd, ...pre, '--root', root, ...args].map(shellQuote).join(' ');
  const inner = `${opts.before ?? ''} ${line} 2>/dev/null; echo "exit=$?"; ${opts.after ?? ''}`;
  const child = spawn('script', ['-qec', inner, '/dev/null'], { env: runtimeEnv(), stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString('utf8')));
  child.stdin.end();
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, out: out.replace(/\0/g, '').replace(/\^@/g, '').replace(/\r/g, '') };
}

function ttyBundle(script: string, mutate?: (c: Spec) => void) {
  return makeBundle({
    args: ['sh', '-c', script],
    mutate: (c) => {
      c.process!.terminal = true;
      mutate?.(c);
    },
  });
}

/** A console-socket receiver: takes the master, records the name sent with it, the window size and
 * everything read from it until the container closes its side. */
const RECEIVER = `
import array, fcntl, os, socket, struct, sys, termios
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
msg, fds, _, _ = socket.recv_fds(c, 1024, 4)
m = fds[0]
rows, cols = struct.unpack("HHHH", fcntl.ioctl(m, termios.TIOCGWINSZ, b"\\0" * 8))[:2]
data = b""
while True:
    try:
        b = os.read(m, 4096)
    except OSError:
        break
    if not b:
        break
    data += b
open(out, "wb").write(b"name=%s fds=%d size=%dx%d\\n" % (msg, len(fds), rows, cols) + data)
`;

async function startReceiver(): Promise<{ socket: string; out: string; done: Promise<void> }> {
  const dir = tempDir('console', 0o777);
  const script = join(dir, 'receiver.py');
  writeFileSync(script, RECEIVER);
  const socket = join(dir, 'console.sock');
  const out = join(dir, 'out');
  const child = spawn('python3', [script, socket, out], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  const done = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { socket, out, done };
}

describe('terminals', { skip: missingPrerequisites() || missingTools() }, () => {
  after(cleanup);

  test('run with process.terminal: the container gets a pty of its own devpts as stdio, ctty and /dev/console, as with runc', async () => {
    const script = 'for f in 0 1 2; do readlink /proc/self/fd/$f; done; test -t 0 && echo tty; ls -l /dev/console | cut -c1; cut -d" " -f7 /proc/self/stat; exit 7';
    const seen: Record<string, string> = {};
    for (const rt of RUNTIMES) {
      const bundle = ttyBundle(script);
      const r = await underPty(rt, ['run', '--bundle', bundle.dir, uniqueId('tty')]);
      seen[rt] = r.out;
    }
    assert.equal(seen.tsrunc, seen.runc);
    assert.match(seen.tsrunc!, /^\/dev\/pts\/0\n\/dev\/pts\/0\n\/dev\/pts\/0\ntty\nc\n34816\nexit=7\n$/);
  });

  test('a foreground run with a terminal but no terminal of its own relays through its stdio (runc fails)', async () => {
    const bundle = ttyBundle('test -t 0 && echo tty; read line; echo "got $line"');
    const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('ttyp')], { input: 'hello\n' });
    if (SELF) {
      assert.notEqual(r.code, 0, 'runc 1.1 wants a terminal (/dev/tty) to relay');
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    // The pty echoes the input (whenever it arrives) and turns "\n" into "\r\n".
    assert.deepEqual(r.stdout.replace(/\r/g, '').split('\n').sort(), ['', 'got hello', 'hello', 'tty']);
    assert.match(r.stdout, /tty\r\n[^]*got hello\r\n$/);
    const runc = await runRuntime('runc', ['run', '--bundle', ttyBundle('true').dir, uniqueId('ttyp')], { input: '' });
    assert.notEqual(runc.code, 0, 'runc 1.1 wants a terminal (/dev/tty) to relay');
  });

  test('the container follows the host terminal size, at start and on SIGWINCH', async (t) => {
    const bin = winsizeBinary();
    if (bin === undefined) return t.skip('requires a C compiler with static libc (apt-get install gcc libc6-dev)');
    const bundle = ttyBundle('winsize; winsize 2');
    copyFileSync(bin, join(bundle.rootfs, 'bin', 'winsize'));
    chmodSync(join(bundle.rootfs, 'bin', 'winsize'), 0o755);
    // The size changes while the container sleeps: the kernel signals tsrunc, which resizes the pty.
    const r = await underPty('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('ttyw')], { before: 'stty rows 33 cols 101; (sleep 1; stty rows 44 cols 120 </dev/tty) &' });
    assert.equal(r.out, '33 101\n44 120\nexit=0\n');
  });

  test('the host terminal is restored after run, whatever the exit', async () => {
    for (const [args, code] of [
      [['sh', '-c', 'exit 0'], 0],
      [['sh', '-c', 'exit 5'], 5],
      [['no-such-binary'], 1],
    ] as const) {
      const bundle = ttyBundle('true', (c) => (c.process!.args = [...args]));
      const r = await underPty('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('tty')], { before: 'stty -g;', after: 'stty -g' });
      const lines = r.out.trim().split('\n').filter((l) => !l.startsWith('tsrunc:'));
      assert.equal(lines.length, 3, r.out);
      assert.equal(lines[1], `exit=${code}`);
      assert.equal(lines[2], lines[0], 'stty settings before and after');
    }
  });

  test('exec -t in a running container: a pty as its stdio, as with runc', async () => {
    const seen: Record<string, string> = {};
    for (const rt of RUNTIMES) {
      const bundle = makeBundle({ args: ['sleep', '300'] });
      const root = freshStateRoot(rt);
      const id = uniqueId('ttyx');
      const r0 = await runRuntime(rt, ['run', '-d', '--bundle', bundle.dir, id], { root });
      assert.equal(r0.code, 0, r0.stderr);
      try {
        const r = await underPty(rt, ['exec', '-t', id, 'sh', '-c', 'readlink /proc/self/fd/0; test -t 1 && echo tty; exit 3'], { root });
        seen[rt] = r.out;
      } finally {
        await runRuntime(rt, ['delete', '--force', id], { root });
      }
    }
    assert.equal(seen.tsrunc, seen.runc);
    assert.match(seen.tsrunc!, /^\/dev\/pts\/\d+\ntty\nexit=3\n$/);
  });

  test('--console-socket: the master goes to the socket with SCM_RIGHTS, consoleSize applies, as with runc', async () => {
    const seen: Record<string, string> = {};
    for (const rt of RUNTIMES) {
      const recv = await startReceiver();
      const bundle = ttyBundle('echo hello from the tty; readlink /proc/self/fd/1', (c) => (c.process!.consoleSize = { height: 31, width: 97 }));
      const root = freshStateRoot(rt);
      const id = uniqueId('ttys');
      try {
        const c = await runRuntime(rt, ['create', '--console-socket', recv.socket, '--bundle', bundle.dir, id], { root });
        assert.equal(c.code, 0, `${rt} create: ${c.stderr}`);
        const s = await runRuntime(rt, ['start', id], { root });
        assert.equal(s.code, 0, `${rt} start: ${s.stderr}`);
        await recv.done;
        seen[rt] = readFileSync(recv.out, 'utf8').replace(/\r/g, '').replace(/^name=\S+ /, '');
      } finally {
        await runRuntime(rt, ['delete', '--force', id], { root });
      }
    }
    assert.equal(seen.tsrunc, seen.runc);
    assert.equal(seen.tsrunc, 'fds=1 size=31x97\nhello from the tty\n/dev/pts/0\n');
  });

  test('exec -t -d --console-socket (what conmon and containerd run), as with runc', async () => {
    const seen: Record<string, string> = {};
    for (const rt of RUNTIMES) {
      const bundle = makeBundle({ args: ['sleep', '300'] });
      const root = freshStateRoot(rt);
      const id = uniqueId('ttyxs');
      const r0 = await runRuntime(rt, ['run', '-d', '--bundle', bundle.dir, id], { root });
      assert.equal(r0.code, 0, r0.stderr);
      try {
        const recv = await startReceiver();
        const pidFile = join(tempDir('ttyxs'), 'pid');
        const r = await runRuntime(rt, ['exec', '-t', '-d', '--console-socket', recv.socket, '--pid-file', pidFile, id, 'sh', '-c', 'echo from exec; readlink /proc/self/fd/2'], { root });
        assert.equal(r.code, 0, `${rt}: ${r.stderr}`);
        assert.match(readFileSync(pidFile, 'utf8'), /^\d+$/);
        await recv.done;
        seen[rt] = readFileSync(recv.out, 'utf8').replace(/\r/g, '').replace(/^name=\S+ /, '').replace(/size=\d+x\d+/, 'size');
      } finally {
        await runRuntime(rt, ['delete', '--force', id], { root });
      }
    }
    assert.equal(seen.tsrunc, seen.runc);
    assert.match(seen.tsrunc!, /^fds=1 size\nfrom exec\n\/dev\/pts\/\d+\n$/);
  });

  test('run -d with a terminal and --console-socket', async () => {
    const recv = await startReceiver();
    const bundle = ttyBundle('echo detached');
    const r = await runRuntime('tsrunc', ['run', '-d', '--console-socket', recv.socket, '--bundle', bundle.dir, uniqueId('ttyd')]);
    assert.equal(r.code, 0, r.stderr);
    await recv.done;
    assert.match(readFileSync(recv.out, 'utf8').replace(/\r/g, ''), /\ndetached\n$/);
  });

  test("runc's refusals: a detached terminal without a console socket, a console socket without a terminal", async () => {
    const root = freshStateRoot('tsrunc');
    const withTty = ttyBundle('true');
    let r = await runRuntime('tsrunc', ['create', '--bundle', withTty.dir, uniqueId('ttyr')], { root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsrunc: cannot allocate a terminal \(process.terminal\) for a detached container without --console-socket\n$/);
    const noTty = makeBundle({ args: ['true'] });
    r = await runRuntime('tsrunc', ['create', '--console-socket', join(tempDir('nosock'), 's'), '--bundle', noTty.dir, uniqueId('ttyr')], { root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsrunc: --console-socket: only for a detached container with a terminal/);
    // A console socket nobody listens on: create fails and leaves nothing.
    r = await runRuntime('tsrunc', ['create', '--console-socket', join(tempDir('nosock'), 's'), '--bundle', withTty.dir, uniqueId('ttyr')], { root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsrunc: --console-socket \S+: cannot send the terminal: /);
    assert.deepEqual(stateLeftovers(root), []);
    assert.ok(await waitFor(() => existsSync(withTty.dir)));
  });
});
