// Driving Debian's podman in the podman suites: one podman "installation" per suite in a temporary
// directory (storage, run root, tmp dir, config; its pause process ended at the end), a busybox image
// imported into it, and the scenarios run once with runc and once with tsrunc, compared.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_APPLETS, SELF, busyboxPath, processesMentioning, runcPath, runtimeEnv, tempDir, tsruncBin, waitFor, type Runtime } from './harness.js';

export const RUNTIMES: Runtime[] = ['runc', 'tsrunc'];
export const IMAGE = 'localhost/tsrunc-it-bb';

/** Why podman cannot run here, or false. CI installs it (.ci/run), so there a missing one fails. */
export function podmanMissing(): string | false {
  const missing = ['podman', 'conmon', 'script'].filter((b) => spawnSync('sh', ['-c', `command -v ${b}`]).status !== 0);
  if (missing.length === 0) return false;
  const why = `requires ${missing.join(', ')} (apt-get install podman conmon catatonit util-linux)`;
  if (process.env.CI === 'true') throw new Error(`the podman suite cannot run in CI: ${why}`);
  console.log(`# skipping the podman suite: ${why}`);
  return why;
}

export interface PodmanResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface PodmanOptions {
  /** podman's cgroup manager: cgroupfs outside a systemd user session, systemd inside one. */
  cgroupManager: 'cgroupfs' | 'systemd';
  /**
   * Keep the caller's $XDG_RUNTIME_DIR (where the user bus is: conmon passes the runtime no
   * DBUS_SESSION_BUS_ADDRESS) instead of one in the temporary directory.
   */
  callersRuntimeDir?: boolean;
}

/**
 * One podman "installation" in a temporary directory: its storage (vfs), run root, tmp dir (with its
 * pause process' pid file), config and environment, and the busybox image imported into it.
 */
export class Podman {
  readonly dir = tempDir('podman', 0o700);
  readonly env: NodeJS.ProcessEnv;
  /** The flags that keep podman's storage, run root and tmp dir in `dir`. */
  readonly global: string[];

  /** A podman with the image imported. */
  static async create(opts: PodmanOptions): Promise<Podman> {
    const pm = new Podman(opts);
    const tar = rootfsTarball(tempDir('podman-image'));
    const r = await pm.run(['import', '--change', 'CMD ["/bin/sh"]', tar, IMAGE]);
    assert.equal(r.code, 0, `podman import: ${r.stderr}`);
    return pm;
  }

  private constructor(opts: PodmanOptions) {
    const d = this.dir;
    for (const sub of ['run', 'config', 'data', 'storage', 'runroot', 'tmp']) mkdirSync(join(d, sub), { mode: 0o700 });
    // runtime_supports_json: podman passes `--log-format=json --log FILE` only to runtimes it lists there.
    const tsrunc = SELF ? runcPath()! : tsruncBin();
    writeFileSync(
      join(d, 'containers.conf'),
      [
        // The session environment has no pids controller: podman's default limit would fail runc too.
        '[containers]',
        'pids_limit = 0',
        '[engine]',
        `cgroup_manager = "${opts.cgroupManager}"`,
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
      XDG_RUNTIME_DIR: opts.callersRuntimeDir === true ? runtimeEnv().XDG_RUNTIME_DIR : join(d, 'run'),
      XDG_CONFIG_HOME: join(d, 'config'),
      XDG_DATA_HOME: join(d, 'data'),
      CONTAINERS_CONF: join(d, 'containers.conf'),
      CONTAINERS_STORAGE_CONF: join(d, 'storage.conf'),
    };
    delete this.env.NODE_TEST_CONTEXT;
    delete this.env.NODE_OPTIONS;
    this.global = ['--root', join(d, 'storage'), '--runroot', join(d, 'runroot'), '--tmpdir', join(d, 'tmp'), `--cgroup-manager=${opts.cgroupManager}`, '--events-backend=file'];
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

  /** `podman run --rm --network none --runtime RT [flags] IMAGE cmd…`. */
  runRm(rt: Runtime, flags: string[], cmd: string[], input?: string): Promise<PodmanResult> {
    return this.run(['run', '--rm', '--network', 'none', '--runtime', rt, ...flags, IMAGE, ...cmd], input === undefined ? {} : { input });
  }

  /** Runs the same scenario with each runtime (`check` on each result), compares the results, checks nothing is left running. */
  async sameWithBoth<T>(scenario: (rt: Runtime) => Promise<T>, check?: (r: T, rt: Runtime) => void): Promise<Record<Runtime, T>> {
    const out = {} as Record<Runtime, T>;
    for (const rt of RUNTIMES) {
      out[rt] = await scenario(rt);
      check?.(out[rt], rt);
    }
    assert.deepEqual(out.tsrunc, out.runc, 'tsrunc under podman differs from runc');
    await waitFor(() => this.leftovers().length === 0, 5000);
    assert.deepEqual(this.leftovers(), [], 'nothing left running');
    return out;
  }

  /** `run --rm` of `cmd` with `flags` under each runtime: exit 0 and stdout matching `expect`, the same for both. */
  sameRunRm(flags: string[], cmd: string[], expect: RegExp): Promise<Record<Runtime, { code: number | null; stdout: string }>> {
    return this.sameWithBoth(
      async (rt) => {
        const r = await this.runRm(rt, flags, cmd);
        return { code: r.code, stdout: r.stdout };
      },
      (r, rt) => {
        assert.equal(r.code, 0, `${rt} ${flags.join(' ')}: ${r.stdout}`);
        assert.match(r.stdout, expect, `${rt} ${flags.join(' ')}: ${r.stdout}`);
      },
    );
  }

  /** Removes everything and checks that no conmon, container or pause process is left. */
  async finish(): Promise<void> {
    await this.destroy();
    assert.deepEqual(this.leftovers(), [], 'no conmon or container is left');
    assert.equal(this.pausePid(), null, 'podman\'s pause process is gone');
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
  private async destroy(): Promise<void> {
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
export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

/** Pids of this user's processes whose comm is `name`. */
export function ownProcessesNamed(name: string): number[] {
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
export function ptyText(out: string): string {
  return out.replace(/\r/g, '').replace(/\^[@D]/g, '');
}
