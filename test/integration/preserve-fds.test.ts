// --preserve-fds N and socket activation (LISTEN_FDS/LISTEN_PID): fds from 3 on reach the container,
// under runc and tsrunc alike, and LISTEN_FDS/LISTEN_PID are rewritten for the container's init.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  runtimeCommand,
  runtimeEnv,
  stateLeftovers,
  tempDir,
  uniqueId,
  type Runtime,
} from './harness.js';

const RUNTIMES: Runtime[] = ['runc', 'tsrunc'];

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
  root: string;
}

/** `<runtime> --root R <args>` with files open as fds 3, 4, … and, with `activate`, LISTEN_FDS for the
 * runtime's own pid (set by a shell that then execs it, so the pid is known). */
async function runWithFds(rt: Runtime, args: string[], files: string[], activate?: number, root = freshStateRoot(rt)): Promise<Result> {
  const [cmd, pre] = runtimeCommand(rt);
  const io = tempDir('fds-io');
  const out = openSync(join(io, 'out'), 'w');
  const err = openSync(join(io, 'err'), 'w');
  const fds = files.map((f) => openSync(f, 'r'));
  const argv = [cmd, ...pre, '--root', root, ...args];
  const script = activate === undefined ? 'exec "$@"' : `LISTEN_PID=$$ LISTEN_FDS=${activate} exec "$@"`;
  const child = spawn('/bin/sh', ['-c', script, 'sh', ...argv], { stdio: ['ignore', out, err, ...fds], env: runtimeEnv() });
  for (const fd of [out, err, ...fds]) closeSync(fd);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  return { code, stdout: readFileSync(join(io, 'out'), 'utf8'), stderr: readFileSync(join(io, 'err'), 'utf8'), root };
}

describe('preserved fds and socket activation', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  const dir = (): { a: string; b: string } => {
    const d = tempDir('fds');
    writeFileSync(join(d, 'a'), 'file-a\n');
    writeFileSync(join(d, 'b'), 'file-b\n');
    return { a: join(d, 'a'), b: join(d, 'b') };
  };
  const script = 'echo "[$LISTEN_FDS] [$LISTEN_PID]"; cat <&3; cat <&4; ls /proc/self/fd | wc -l';

  for (const [name, args, activate] of [
    ['--preserve-fds 2', ['--preserve-fds', '2'], undefined],
    ['LISTEN_FDS=2 for the runtime', [], 2],
    ['LISTEN_FDS=1 and --preserve-fds 1', ['--preserve-fds', '1'], 1],
  ] as const) {
    test(`${name}: fds 3 and 4 reach the container, as with runc`, async () => {
      const { a, b } = dir();
      const seen: Record<string, [number | null, string]> = {};
      for (const rt of RUNTIMES) {
        const bundle = makeBundle({ args: ['sh', '-c', script] });
        const r = await runWithFds(rt, ['run', ...args, '--bundle', bundle.dir, uniqueId('fds')], [a, b], activate);
        assert.equal(r.code, 0, `${rt}: ${r.stderr}`);
        seen[rt] = [r.code, r.stdout];
      }
      assert.deepEqual(seen.tsrunc, seen.runc);
      assert.match(seen.tsrunc![1], activate === undefined ? /^\[\] \[\]\nfile-a\nfile-b\n/ : new RegExp(`^\\[${activate}\\] \\[1\\]\\nfile-a\\nfile-b\\n`));
    });
  }

  test('exec --preserve-fds 2: fds 3 and 4 reach the exec\'d process, as with runc', async () => {
    const { a, b } = dir();
    const seen: Record<string, [number | null, string]> = {};
    for (const rt of RUNTIMES) {
      const bundle = makeBundle({ args: ['sleep', '300'] });
      const root = freshStateRoot(rt);
      const id = uniqueId('xfds');
      const started = await runWithFds(rt, ['run', '-d', '--bundle', bundle.dir, id], [], undefined, root);
      assert.equal(started.code, 0, started.stderr);
      try {
        const r = await runWithFds(rt, ['exec', '--preserve-fds', '2', id, 'sh', '-c', 'cat <&3; cat <&4; ls /proc/self/fd | wc -l'], [a, b], undefined, root);
        seen[rt] = [r.code, r.stdout];
      } finally {
        await runWithFds(rt, ['delete', '--force', id], [], undefined, root);
      }
    }
    assert.deepEqual(seen.tsrunc, seen.runc);
    assert.match(seen.tsrunc![1], /^file-a\nfile-b\n/);
  });

  test('LISTEN_FDS meant for another process is ignored (fd 3 is not handed on)', async () => {
    const { a } = dir();
    const bundle = makeBundle({ args: ['sh', '-c', 'echo "[$LISTEN_FDS]"; cat <&3'] });
    const root = freshStateRoot('tsrunc');
    const [cmd, pre] = runtimeCommand('tsrunc');
    const io = tempDir('fds-io');
    const out = openSync(join(io, 'out'), 'w');
    const fd = openSync(a, 'r');
    const child = spawn(cmd, [...pre, '--root', root, 'run', '--bundle', bundle.dir, uniqueId('fds')], {
      stdio: ['ignore', out, 'ignore', fd],
      env: runtimeEnv({ LISTEN_FDS: '1', LISTEN_PID: '1' }),
    });
    closeSync(out);
    closeSync(fd);
    await new Promise((resolve) => child.on('exit', resolve));
    const text = readFileSync(join(io, 'out'), 'utf8');
    assert.match(text, /^\[\]\n/);
    assert.doesNotMatch(text, /file-a/);
  });

  test('a preserved fd that is not open is refused, one line, nothing left', async () => {
    const bundle = makeBundle({ args: ['true'] });
    const r = await runWithFds('tsrunc', ['run', '--preserve-fds', '40', '--bundle', bundle.dir, uniqueId('fds')], []);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsrunc: preserved fd \d+ \(--preserve-fds 40\) is not open\n$/);
    assert.deepEqual(stateLeftovers(r.root), []);
  });
});
