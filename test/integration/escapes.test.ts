// Known runtime escapes, each attempted for real and required to fail: mount destinations through
// symlinks (CVE-2021-30465 class), a working directory through a leaked fd (CVE-2024-21626), the
// runtime's own binary through /proc/<init>/exe (CVE-2019-5736), masked paths reached through symlinks,
// /proc mounted over a symlink (CVE-2019-19921), and stray fds reaching the container.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  IS_ROOT,
  cleanup,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  mountsMentioning,
  parseState,
  runRuntime,
  runtimeCommand,
  runtimeEnv,
  tempDir,
  uniqueId,
  SELF,
  type Bundle,
  type RunResult,
  type Spec,
} from './harness.js';
import { missingProbe, withProbe } from './confinement-helpers.js';

const sh = (script: string): string[] => ['sh', '-c', script];

/** A one-line error from tsrunc: "tsrunc: …" and nothing else (a hint line may follow). */
function assertOneLineError(r: RunResult, pattern: RegExp): void {
  assert.notEqual(r.code, 0, `expected a failure\n${r.stdout}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.ok(lines.length <= 2 && lines[0]!.startsWith('tsrunc: '), r.stderr);
  assert.doesNotMatch(r.stderr, /\n\s+at /, 'a stack trace');
  assert.match(lines[0]!, pattern);
}

/**
 * Runs `tsrunc run` with extra fds of the caller (a host directory at 3, 4, …) inherited by the runtime
 * process, as a careless engine would leak them.
 */
async function runWithLeakedFds(b: Bundle, hostDirs: string[], extraArgs: string[] = []): Promise<RunResult> {
  const root = freshStateRoot('tsrunc');
  const [cmd, pre] = runtimeCommand('tsrunc');
  const io = tempDir('io');
  const out = openSync(join(io, 'out'), 'w');
  const err = openSync(join(io, 'err'), 'w');
  const leaked = hostDirs.map((d) => openSync(d, 'r'));
  const child = spawn(cmd, [...pre, '--root', root, 'run', ...extraArgs, '--bundle', b.dir, uniqueId('leak')], {
    cwd: b.dir,
    env: runtimeEnv(),
    stdio: ['ignore', out, err, ...leaked],
  });
  for (const fd of [out, err, ...leaked]) closeSync(fd);
  const code = await new Promise<number>((resolve) => child.on('exit', (c, s) => resolve(c ?? (s ? 128 : 1))));
  return { code, signal: null, stdout: readFileSync(join(io, 'out'), 'utf8'), stderr: readFileSync(join(io, 'err'), 'utf8'), root, timedOut: false };
}

describe('escapes: each attack fails', { skip: missingPrerequisites() || missingProbe() }, () => {
  afterEach(cleanup);
  after(cleanup);

  test('a mount destination through a symlink pointing outside the rootfs lands inside it', async () => {
    const host = tempDir('host-target');
    writeFileSync(join(host, 'precious'), 'host data\n');
    const b = makeBundle({
      args: sh('echo x > /escape-abs/mnt/file && echo x > /escape-rel/mnt/file && echo wrote; grep -c tsrunc-it-host-target /proc/self/mountinfo'),
      setup: (bb) => {
        symlinkSync(host, join(bb.rootfs, 'escape-abs')); // absolute: resolved against the container's root
        symlinkSync(`../../../../../../..${host}`, join(bb.rootfs, 'escape-rel')); // ".." stops at the root
      },
      mutate: (c) => {
        c.mounts!.push({ destination: '/escape-abs/mnt', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
        c.mounts!.push({ destination: '/escape-rel/mnt', type: 'tmpfs', source: 'tmpfs', options: ['nosuid'] });
      },
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', b.dir, uniqueId('symmnt')], { cwd: b.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'wrote\n2\n');
    assert.deepEqual(readdirSync(host), ['precious'], 'nothing was created in the host directory');
    assert.deepEqual(mountsMentioning(host).filter((l) => !l.includes(b.rootfs)), [], 'no mount on the host directory');
    // The mounts were made under the rootfs, at the path the symlink names.
    assert.ok(existsSync(join(b.rootfs, host.replace(/^\//, ''), 'mnt')), 'the mount point was created inside the rootfs');
  });

  test('cwd /proc/self/fd/N does not reach a host directory leaked to the runtime', async () => {
    const host = tempDir('leaked-dir');
    writeFileSync(join(host, 'HOST-MARKER'), '');
    for (const n of [3, 4, 5, 6, 7, 8, 9, 10, 20]) {
      for (const preserve of [[], ['--preserve-fds', '2']]) {
        const b = makeBundle({ args: sh('pwd; ls'), mutate: (c) => (c.process!.cwd = `/proc/self/fd/${n}`) });
        const r = await runWithLeakedFds(b, [host, host], preserve);
        assert.doesNotMatch(r.stdout, /HOST-MARKER/, `fd ${n} ${preserve.join(' ')}: the container's cwd is the host directory`);
        if (r.code !== 0) assertOneLineError(r, /\/process\/cwd/);
      }
    }
  });

  test('the container sees only fds 0-2, plus the preserved ones', async () => {
    const host = tempDir('fd-dir');
    const list = sh('for f in /proc/self/fd/*; do n=${f##*/}; [ "$n" -gt 2 ] && [ "$n" != 255 ] && readlink "$f"; done; echo end');
    const plain = await runWithLeakedFds(makeBundle({ args: list }), [host, host, host]);
    assert.equal(plain.code, 0, plain.stderr);
    // Only the shell's own fd for the glob may remain (it is /proc/<pid>/fd).
    for (const line of plain.stdout.trim().split('\n').slice(0, -1)) assert.match(line, /^\/proc\/\d+\/fd$/, plain.stdout);
    assert.doesNotMatch(plain.stdout, new RegExp(host));
    const kept = await runWithLeakedFds(makeBundle({ args: list }), [host, host, host], ['--preserve-fds', '2']);
    assert.equal(kept.code, 0, kept.stderr);
    assert.equal(kept.stdout.split('\n').filter((l) => l === host).length, 2, kept.stdout);
  });

  test('masked paths stay masked when reached through symlinks', async () => {
    const b = makeBundle({
      args: sh('cat /alias-file; ls /alias-dir; cat /proc2/kcore 2>&1 | head -c 20; echo; ls /via/secret-dir; cat /etc/evil; echo end'),
      files: { 'data/secret': 'SECRET-FILE\n', 'data/dir/inner': 'SECRET-DIR\n', 'etc/evil-target': 'SECRET-EVIL\n' },
      setup: (bb) => {
        symlinkSync('/data/secret', join(bb.rootfs, 'alias-file'));
        symlinkSync('data/dir', join(bb.rootfs, 'alias-dir'));
        symlinkSync('/proc', join(bb.rootfs, 'proc2'));
        symlinkSync('/data', join(bb.rootfs, 'via'));
        mkdirSync(join(bb.rootfs, 'data', 'secret-dir'));
        writeFileSync(join(bb.rootfs, 'data', 'secret-dir', 'x'), 'SECRET-X\n');
        symlinkSync('evil-target', join(bb.rootfs, 'etc', 'evil'));
      },
      mutate: (c) => {
        // Masked by their real paths; one entry is itself a symlink (masks its target, inside the root).
        c.linux!.maskedPaths = [...(c.linux!.maskedPaths ?? []), '/data/secret', '/data/dir', '/via/secret-dir', '/etc/evil'];
      },
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', b.dir, uniqueId('mask')], { cwd: b.dir });
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /SECRET/);
    assert.match(r.stdout, /end\n$/);
  });

  test('proc mounted over a symlink is refused with a one-line error', async () => {
    for (const [what, link] of [['absolute to the host', '/etc'], ['relative inside', 'tmp'], ['dangling', '/nonexistent']] as const) {
      const b = makeBundle({
        args: ['true'],
        setup: (bb) => {
          rmSync(join(bb.rootfs, 'proc'), { recursive: true, force: true });
          symlinkSync(link, join(bb.rootfs, 'proc'));
        },
      });
      const r = await runRuntime(SELF ? 'runc' : 'tsrunc', ['run', '--bundle', b.dir, uniqueId('procsym')], { cwd: b.dir });
      assert.notEqual(r.code, 0, `${what}: proc was mounted over a symlink\n${r.stderr}`);
      if (!SELF) assertOneLineError(r, /\/mounts\/\d+ \(\/proc\)/);
    }
    // sysfs too, as runc: both must be on an ordinary directory (the rootless spec binds /sys: make it sysfs).
    const b = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.mounts = c.mounts!.map((m) => (m.destination === '/sys' ? { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] } : m));
      },
      setup: (bb) => {
        rmSync(join(bb.rootfs, 'sys'), { recursive: true, force: true });
        symlinkSync('/tmp', join(bb.rootfs, 'sys'));
      },
    });
    const r = await runRuntime(SELF ? 'runc' : 'tsrunc', ['run', '--bundle', b.dir, uniqueId('syssym')], { cwd: b.dir });
    assert.notEqual(r.code, 0, r.stderr);
    if (!SELF) assertOneLineError(r, /\/mounts\/\d+ \(\/sys\)/);
  });

  test('/proc/<init>/exe cannot be opened while init waits at the barrier: from a container in its pid namespace', async () => {
    const root = freshStateRoot('tsrunc');
    const a = makeBundle({ args: ['true'] });
    const idA = uniqueId('victim');
    const created = await runRuntime('tsrunc', ['create', '--bundle', a.dir, idA], { root, cwd: a.dir });
    assert.equal(created.code, 0, created.stderr);
    try {
      const pid = parseState(await runRuntime('tsrunc', ['state', idA], { root })).pid;
      const b = makeBundle({
        // exe is node; map_files would hand out node and the helpers library (libtsrunc.so) it has mapped.
        args: ['/bin/probe', 'open-write=/proc/1/exe', 'open-read=/proc/1/exe', 'open-read=/proc/1/mem', 'open-read=/proc/1/environ', 'open-entries=/proc/1/map_files', 'open-read=/proc/1/maps'],
        setup: withProbe,
        mutate: (c: Spec) => {
          c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'pid' ? { type: 'pid', path: `/proc/${pid}/ns/pid` } : n));
          if (!IS_ROOT) {
            c.linux!.namespaces = c.linux!.namespaces!.map((n) => (n.type === 'user' ? { type: 'user', path: `/proc/${pid}/ns/user` } : n));
            delete c.linux!.uidMappings;
            delete c.linux!.gidMappings;
          }
        },
      });
      const r = await runRuntime('tsrunc', ['run', '--bundle', b.dir, uniqueId('attacker')], { root, cwd: b.dir });
      if (!IS_ROOT && r.code !== 0) {
        // Rootless, the waiting init is not even joinable: its namespace files are as closed as its exe.
        assertOneLineError(r, new RegExp(`/linux/namespaces/\\d+/path: /proc/${pid}/ns/user: EACCES`));
      } else {
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          /^open-write=\/proc\/1\/exe: (EACCES|EPERM)\nopen-read=\/proc\/1\/exe: (EACCES|EPERM)\nopen-read=\/proc\/1\/mem: (EACCES|EPERM)\nopen-read=\/proc\/1\/environ: (EACCES|EPERM)\nopen-entries=\/proc\/1\/map_files: (EACCES|EPERM)\nopen-read=\/proc\/1\/maps: (EACCES|EPERM)\n$/,
        );
      }
      // And from the host as the same (unprivileged) user.
      if (!IS_ROOT) {
        for (const flags of ['r', 'r+'] as const) {
          assert.throws(() => closeSync(openSync(`/proc/${pid}/exe`, flags)), /EACCES|EPERM/);
        }
      }
    } finally {
      await runRuntime('tsrunc', ['delete', '--force', idA], { root });
    }
  });
});
