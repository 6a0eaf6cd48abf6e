// podman end to end (issue 6, point 1): Debian's rootless podman drives tsrunc through conmon, and runc
// the same way, on one locally imported busybox image; each scenario must come out as it does with
// runc. Everything podman keeps (storage, run root, tmp dir, config, its pause process) lives in one
// temporary directory, so the user's own podman state is never touched, and nothing is left behind.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DEFAULT_APPLETS,
  SELF,
  busyboxPath,
  cleanup,
  missingPrerequisites,
  processesMentioning,
  runcPath,
  tempDir,
  tsruncBin,
  waitFor,
  type Runtime,
} from './harness.js';

const RUNTIMES: Runtime[] = ['runc', 'tsrunc'];
const IMAGE = 'localhost/tsrunc-it-bb';

/** Why podman cannot run here, or false. CI installs it (.ci/run), so there a missing one fails. */
function podmanMissing(): string | false {
  const missing = ['podman', 'conmon', 'script'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length === 0) return false;
  const why = `requires ${missing.join(', ')} (apt-get install podman conmon catatonit util-linux)`;
  if (process.env.CI === 'true') throw new Error(`the podman suite cannot run in CI: ${why}`);
  console.log(`# skipping the podman suite: ${why}`);
  return why;
}

const skip = missingPrerequisites() || podmanMissing();

interface PodmanResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One podman "installation" in a temporary directory: its storage, config and environment. */
class Podman {
  readonly dir = tempDir('podman', 0o700);
  readonly env: NodeJS.ProcessEnv;
  /** The flags that keep podman's storage, run root and tmp dir in `dir`. */
  readonly global: string[];

  constructor() {
    const d = this.dir;
    for (const sub of ['run', 'config', 'data', 'storage', 'runroot', 'tmp']) mkdirSync(join(d, sub), { mode: 0o700 });
    // runtime_supports_json: podman passes `--log-format=json --log FILE` only to runtimes it lists there.
    const tsrunc = SELF ? runcPath()! : tsruncBin();
    writeFileSync(
      join(d, 'containers.conf'),
      [
        '[engine]',
        'cgroup_manager = "cgroupfs"',
        'events_logger = "file"',
        'runtime_supports_json = ["tsrunc", "runc"]',
        '[engine.runtimes]',
        `tsrunc = ["${tsrunc}"]`,
        `runc = ["${runcPath()}"]`,
        '',
      ].join('\n'),
    );
    writeFileSync(join(d, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${d}/storage"\nrunroot = "${d}/runroot"\n`);
    this.env = {
      ...process.env,
      XDG_RUNTIME_DIR: join(d, 'run'),
      XDG_CONFIG_HOME: join(d, 'config'),
      XDG_DATA_HOME: join(d, 'data'),
      CONTAINERS_CONF: join(d, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(d, 'storage.conf'),
    };
    delete this.env.NODE_TEST_CONTEXT;
    delete this.env.NODE_OPTIONS;
    this.global = ['--root', join(d, 'storage'), '--runroot', join(d, 'runroot'), '--tmpdir', join(d, 'tmp'), '--cgroup-manager=cgroupfs', '--events-backend=file'];
  }

  /** `podman <global flags> args…`, stdin closed (or `input`), with a time limit. */
  run(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<PodmanResult> {
    return this.spawnCollect('podman', [...this.global, ...args], opts);
  }

  /** The same command line, as `script` gets it to run under a pty. */
  commandLine(args: string[]): string {
    return ['podman', ...this.global, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  }

  spawnCollect(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number; writeWhen?: (out: string) => string | undefined } = {}): Promise<PodmanResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { env: this.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      let wrote = false;
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString();
        const input = !wrote ? opts.writeWhen?.(stdout) : undefined;
        if (input !== undefined) {
          wrote = true;
          child.stdin.write(input);
        }
      });
      child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
      child.stdin.on('error', () => {});
      if (opts.input !== undefined) child.stdin.end(opts.input);
      else if (opts.writeWhen === undefined) child.stdin.end();
      const timer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          // already gone
        }
      }, opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  /** podman's pause process (it holds podman's user namespace) for this directory, if any. */
  pausePid(): number | null {
    const file = join(this.dir, 'tmp', 'pause.pid');
    if (!existsSync(file)) return null;
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
  }

  /** Processes other than the pause process that still mention this directory (conmon, containers). */
  leftovers(): string[] {
    const pause = this.pausePid();
    return processesMentioning(this.dir).filter((p) => Number(p.split(' ')[0]) !== pause);
  }

  /** Removes every container and the storage (inside podman's user namespace: files owned by subuids), then the pause process. */
  async destroy(): Promise<void> {
    await this.run(['rm', '--all', '--force', '--time', '0']);
    await this.run(['unshare', 'rm', '-rf', join(this.dir, 'storage'), join(this.dir, 'runroot')]);
    const pause = this.pausePid();
    if (pause !== null) {
      process.kill(pause, 'SIGKILL');
      await waitFor(() => !existsSync(`/proc/${pause}`), 5000);
    }
  }
}

/** A busybox rootfs as a tarball, with a file in /run for --read-only's copy-up to carry over. */
function rootfsTarball(dir: string): string {
  const rootfs = join(dir, 'rootfs');
  for (const d of ['bin', 'etc', 'root', 'tmp', 'var/tmp', 'run', 'proc', 'sys', 'dev']) mkdirSync(join(rootfs, d), { recursive: true, mode: 0o755 });
  chmodSync(join(rootfs, 'tmp'), 0o1777);
  chmodSync(join(rootfs, 'var/tmp'), 0o1777);
  copyFileSync(busyboxPath()!, join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  for (const a of [...DEFAULT_APPLETS, 'tty', 'chown']) if (!existsSync(join(rootfs, 'bin', a))) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(rootfs, 'run', 'marker'), 'from the image\n');
  const tar = join(dir, 'rootfs.tar');
  const r = spawnSync('tar', ['-C', rootfs, '-cf', tar, '.'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tar: ${r.stderr}`);
  return tar;
}

/** /proc/<pid>/comm, or '' when the process is gone. */
function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Pids of this user's processes whose comm is `name`. */
function ownProcessesNamed(name: string): number[] {
  const uid = process.getuid!();
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .map(Number)
    .filter((pid) => {
      try {
        return commOf(pid) === name && statSync(`/proc/${pid}`).uid === uid;
      } catch {
        return false;
      }
    });
}

/** What a pty showed, without carriage returns and the echo of the EOF `script` sends when its stdin ends. */
function ptyText(out: string): string {
  return out.replace(/\r/g, '').replace(/\^[@D]/g, '');
}

describe('podman (rootless, through conmon) with tsrunc as its runtime, against runc', { skip }, () => {
  let pm: Podman;

  before(async () => {
    pm = new Podman();
    const tar = rootfsTarball(tempDir('podman-image'));
    const r = await pm.run(['import', '--change', 'CMD ["/bin/sh"]', tar, IMAGE]);
    assert.equal(r.code, 0, `podman import: ${r.stderr}`);
  });

  after(async () => {
    if (pm !== undefined) {
      await pm.destroy();
      assert.deepEqual(pm.leftovers(), [], 'no conmon or container is left');
      assert.equal(pm.pausePid(), null, 'podman\'s pause process is gone');
    }
    cleanup();
  });

  /** `podman run --rm --network none --runtime RT [flags] IMAGE cmd…`. */
  const runRm = (rt: Runtime, flags: string[], cmd: string[], input?: string) =>
    pm.run(['run', '--rm', '--network', 'none', '--runtime', rt, ...flags, IMAGE, ...cmd], input === undefined ? {} : { input });

  /** Runs the same scenario with each runtime (`check` on each result), compares the results, checks nothing is left running. */
  async function sameWithBoth<T>(scenario: (rt: Runtime) => Promise<T>, check?: (r: T, rt: Runtime) => void): Promise<Record<Runtime, T>> {
    const out = {} as Record<Runtime, T>;
    for (const rt of RUNTIMES) {
      out[rt] = await scenario(rt);
      check?.(out[rt], rt);
    }
    assert.deepEqual(out.tsrunc, out.runc, 'tsrunc under podman differs from runc');
    await waitFor(() => pm.leftovers().length === 0, 5000);
    assert.deepEqual(pm.leftovers(), [], 'nothing left running');
    return out;
  }

  /** `run --rm` of `cmd` with `flags` under each runtime: exit 0 and stdout matching `expect`, the same for both. */
  const sameRunRm = (flags: string[], cmd: string[], expect: RegExp) =>
    sameWithBoth(
      async (rt) => {
        const r = await runRm(rt, flags, cmd);
        return { code: r.code, stdout: r.stdout };
      },
      (r, rt) => {
        assert.equal(r.code, 0, `${rt} ${flags.join(' ')}: ${r.stdout}`);
        assert.match(r.stdout, expect, `${rt} ${flags.join(' ')}: ${r.stdout}`);
      },
    );

  test('podman finds tsrunc by name, with the path of the tree under test', async () => {
    const r = await pm.run(['--runtime', 'tsrunc', 'info', '--format', '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `tsrunc ${SELF ? runcPath() : tsruncBin()}`);
  });

  test('run --rm echo hi', async () => {
    await sameRunRm([], ['echo', 'hi'], /^hi\n$/);
  });

  test('exit codes, stdin, the container\'s view of itself (capabilities, ids, devices, mounts)', async () => {
    const script = [
      'read line; echo "in: $line"',
      "grep -E '^(Cap|Uid|Gid|Groups|NoNewPrivs|Seccomp)' /proc/self/status",
      'id; hostname | wc -c; ls -ln /dev | grep -v " -> " | cut -c1-10,35- | sort',
      "cut -d' ' -f5 /proc/self/mountinfo | grep -v '^/sys/fs/cgroup' | sort",
      'exit 7',
    ].join('\n');
    await sameWithBoth(
      async (rt) => {
        const r = await runRm(rt, ['-i'], ['sh', '-c', script], 'hello\n');
        return { code: r.code, stdout: r.stdout };
      },
      (r, rt) => {
        assert.equal(r.code, 7, `${rt}: ${r.stdout}`);
        assert.match(r.stdout, /^in: hello\n/, rt);
      },
    );
  });

  test('a program that does not exist: podman reports the runtime\'s error (through --log) with the same exit code', async () => {
    const out = {} as Record<Runtime, PodmanResult>;
    for (const rt of RUNTIMES) out[rt] = await runRm(rt, [], ['/no/such/program']);
    assert.equal(out.tsrunc.code, out.runc.code, `runc: ${out.runc.stderr}\ntsrunc: ${out.tsrunc.stderr}`);
    assert.equal(out.runc.code, 127);
    for (const rt of RUNTIMES) assert.match(out[rt].stderr, /\/no\/such\/program/, `${rt}: ${out[rt].stderr}`);
    await waitFor(() => pm.leftovers().length === 0, 5000);
    assert.deepEqual(pm.leftovers(), []);
  });

  test('run -it under a real pty: a terminal as stdio, input through it, the exit code', async () => {
    await sameWithBoth(
      async (rt) => {
        const cmd = pm.commandLine(['run', '--rm', '-it', '--network', 'none', '--runtime', rt, IMAGE, 'sh', '-c', 'tty; echo "TERM=$TERM"; test -t 0 && test -t 1 && echo ready; read x; echo "got=$x"; exit 3']);
        const r = await pm.spawnCollect('script', ['-qec', cmd, '/dev/null'], { writeWhen: (o) => (o.includes('ready') ? 'typed\n' : undefined) });
        return { code: r.code, lines: ptyText(r.stdout).split('\n').filter((l) => l !== '') };
      },
      (r, rt) => {
        assert.equal(r.code, 3, `${rt}: ${JSON.stringify(r.lines)}`);
        assert.deepEqual(r.lines, ['/dev/pts/0', 'TERM=xterm', 'ready', 'typed', 'got=typed'], rt);
      },
    );
  });

  test('run -d, then exec, exec -it, logs, stop, rm', async () => {
    await sameWithBoth(async (rt) => {
      const name = `tsrunc-it-${rt}-${process.pid}`;
      const steps: Record<string, unknown> = {};
      const started = await pm.run(['run', '-d', '--name', name, '--network', 'none', '--runtime', rt, IMAGE, 'sh', '-c', 'echo started; trap "echo stopping; exit 0" TERM; while :; do sleep 0.1; done']);
      assert.equal(started.code, 0, `${rt} run -d: ${started.stderr}`);
      const id = started.stdout.trim();
      assert.ok(await waitFor(() => spawnSync('podman', [...pm.global, 'logs', name], { env: pm.env, encoding: 'utf8' }).stdout.includes('started'), 10_000), `${rt}: started`);
      if (rt === 'tsrunc' && !SELF) {
        // The runtime podman named kept its state where runc's rule puts it ($XDG_RUNTIME_DIR/tsrunc).
        assert.ok(existsSync(join(pm.dir, 'run', 'tsrunc', id)), `state of ${id} under ${pm.dir}/run/tsrunc: ${readdirSync(join(pm.dir, 'run'))}`);
      }
      // Engines reap their own containers: create/start interpose no monitor of tsrunc's (issue 8).
      const initPid = Number((await pm.run(['inspect', '--format', '{{.State.Pid}}', name])).stdout.trim());
      steps.parent = commOf(Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${initPid}/status`, 'utf8'))?.[1]));
      steps.monitors = ownProcessesNamed('tsrunc-monitor');
      steps.status = (await pm.run(['ps', '--filter', `name=${name}`, '--format', '{{.Status}}'])).stdout.replace(/ .*/s, '');
      steps.runtime = (await pm.run(['inspect', '--format', '{{.OCIRuntime}}', name])).stdout.trim() === rt;
      const ex = await pm.run(['exec', name, 'sh', '-c', 'echo in exec; id -u; cat /proc/1/cmdline | tr "\\0" " "']);
      steps.exec = [ex.code, ex.stdout];
      const exIn = await pm.run(['exec', '-i', name, 'cat'], { input: 'through stdin\n' });
      steps.execStdin = [exIn.code, exIn.stdout];
      const exCode = await pm.run(['exec', name, 'sh', '-c', 'exit 5']);
      steps.execCode = exCode.code;
      const tty = await pm.spawnCollect('script', ['-qec', pm.commandLine(['exec', '-it', name, 'sh', '-c', 'tty >/dev/null && echo a tty; exit 4']), '/dev/null']);
      steps.execTty = [tty.code, ptyText(tty.stdout)];
      const stop = await pm.run(['stop', '--time', '10', name]);
      steps.stop = stop.code;
      steps.exited = (await pm.run(['inspect', '--format', '{{.State.Status}} {{.State.ExitCode}}', name])).stdout.trim();
      const logs = await pm.run(['logs', name]);
      steps.logs = [logs.code, logs.stdout, logs.stderr];
      steps.rm = (await pm.run(['rm', name])).code;
      steps.after = (await pm.run(['ps', '--all', '--quiet'])).stdout;
      return steps;
    }, (s, rt) => {
      assert.equal(s.status, 'Up', rt);
      assert.equal(s.parent, 'conmon', `${rt}: the container's parent is podman's conmon`);
      assert.deepEqual(s.monitors, [], `${rt}: no tsrunc monitor under podman`);
      assert.equal(s.runtime, true, `${rt}: podman inspect names the runtime`);
      assert.deepEqual(s.exec, [0, 'in exec\n0\nsh -c echo started; trap "echo stopping; exit 0" TERM; while :; do sleep 0.1; done '], rt);
      assert.deepEqual(s.execStdin, [0, 'through stdin\n'], rt);
      assert.equal(s.execCode, 5, rt);
      assert.deepEqual(s.execTty, [4, 'a tty\n'], rt);
      assert.equal(s.exited, 'exited 0', rt);
      assert.deepEqual(s.logs, [0, 'started\nstopping\n', ''], `${rt}: nothing of the runtime's own in the container's log`);
      assert.equal(s.after, '', rt);
    });
  });

  test('--user 1000', async () => {
    await sameRunRm(['--user', '1000'], ['sh', '-c', "id; grep -E '^(Cap|Uid|Gid|Groups)' /proc/self/status; touch /tmp/x && ls -ln /tmp/x | cut -c1-25"], /^uid=1000\(1000\) gid=0\(root\) groups=0\(root\)\n/);
  });

  test('--userns keep-id: a user namespace of the container\'s own inside podman\'s', async () => {
    await sameRunRm(['--userns', 'keep-id'], ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'], new RegExp(`^${process.getuid!()}\\n`));
  });

  test('--read-only: / refuses writes, /tmp /var/tmp /run are tmpfs with the image\'s content (tmpcopyup)', async () => {
    const script = "touch /x 2>&1; touch /tmp/y /var/tmp/y /run/y && echo writable; cat /run/marker; stat -c '%n %a' /tmp /var/tmp /run; grep -E '^[^ ]+ /(tmp|var/tmp|run)? ' /proc/mounts | cut -d' ' -f2-4 | sort";
    await sameRunRm(['--read-only'], ['sh', '-c', script], /^touch: \/x: Read-only file system\nwritable\nfrom the image\n\/tmp 1777\n\/var\/tmp 1777\n\/run 755\n/);
  });

  test('--cap-drop all (and one added back)', async () => {
    const script = "grep -E '^Cap' /proc/self/status; chown 1 /tmp 2>&1 | cut -d: -f3";
    for (const flags of [['--cap-drop', 'all'], ['--cap-drop', 'all', '--cap-add', 'CAP_NET_BIND_SERVICE']]) {
      await sameRunRm(flags, ['sh', '-c', script], /^CapInh:\t0{16}\nCapPrm:\t0{13}[04]00\n[^]*Operation not permitted\n$/);
    }
  });
});
