// `tsrunc doctor` as an unprivileged user on this very machine: every check against what the test
// finds out for itself, then each problem provoked (XDG_RUNTIME_DIR unset or someone else's,
// newuidmap hidden, a user bus address pointing nowhere) reported with its fix and exit status 1.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { cleanup, runtimeEnv, tempDir, tsruncBin } from './harness.js';

interface Check {
  id: string;
  title: string;
  status: 'ok' | 'warning' | 'problem';
  detail: string;
  fix?: string;
}
interface Report {
  ready: boolean;
  problems: number;
  warnings: number;
  checks: Check[];
}

after(cleanup);

const uid = process.getuid!();
const user = userInfo().username;

function doctor(env: NodeJS.ProcessEnv, format: 'json' | 'text' = 'json'): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(tsruncBin(), ['doctor', '--format', format], { env, encoding: 'utf8', timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function report(env: NodeJS.ProcessEnv): { code: number | null; report: Report; byId: Map<string, Check> } {
  const r = doctor(env);
  assert.equal(r.stderr, '');
  const rep = JSON.parse(r.stdout) as Report;
  return { code: r.code, report: rep, byId: new Map(rep.checks.map((c) => [c.id, c])) };
}

function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ path });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

function cgroupMode(): string {
  const fstype = (p: string) => spawnSync('stat', ['-f', '-c', '%T', p], { encoding: 'utf8' }).stdout.trim();
  if (fstype('/sys/fs/cgroup') === 'cgroup2fs') return 'unified';
  return existsSync('/sys/fs/cgroup/unified') && fstype('/sys/fs/cgroup/unified') === 'cgroup2fs' ? 'hybrid' : 'legacy';
}

function ranges(file: string): string {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith(`${user}:`) || l.startsWith(`${uid}:`))
    .map((l) => l.split(':').slice(1).join(':'))
    .join(', ');
}

if (uid !== 0) {
  test('every check matches what this machine is, and the exit status follows the problems', async () => {
    const env = runtimeEnv();
    const { code, report: rep, byId } = report(env);
    assert.equal(rep.checks.length, 20);
    const status = (id: string) => byId.get(id)?.status;

    // Rootless containers run on this machine (the whole rootless suite does): these are all ok.
    assert.equal(status('userns'), 'ok');
    assert.match(byId.get('userns')!.detail, new RegExp(`max_user_namespaces=${readFileSync('/proc/sys/user/max_user_namespaces', 'utf8').trim()}; creating one works`));
    for (const h of ['newuidmap', 'newgidmap']) {
      const st = statSync(`/usr/bin/${h}`);
      assert.ok(st.mode & 0o4000, `${h} is setuid here`);
      assert.equal(status(h), 'ok');
      assert.match(byId.get(h)!.detail, /newu?g?idmap \(setuid root\)$/);
    }
    assert.equal(status('subuid'), 'ok');
    assert.match(byId.get('subuid')!.detail, new RegExp(`^${ranges('/etc/subuid')} \\(`));
    assert.equal(status('subgid'), 'ok');
    assert.match(byId.get('subgid')!.detail, new RegExp(`^${ranges('/etc/subgid')} \\(`));
    assert.equal(status('runtime-dir'), 'ok');
    assert.equal(byId.get('runtime-dir')!.detail, `${env.XDG_RUNTIME_DIR} (yours, private)`);

    // The user bus: whatever this machine has right now (a user-session.sh manager may be running).
    const busUp = await answers(`${env.XDG_RUNTIME_DIR}/bus`);
    if (busUp) {
      assert.match(byId.get('user-bus')!.detail, /\/bus: (systemd \d+|no systemd manager answers)/);
    } else {
      assert.equal(status('user-bus'), existsSync('/run/systemd/system') ? 'problem' : 'warning');
      assert.match(byId.get('user-bus')!.fix!, /dbus-user-session/);
    }
    const lingering = existsSync(`/var/lib/systemd/linger/${user}`);
    assert.equal(status('linger'), lingering || !existsSync('/run/systemd/system') ? 'ok' : 'warning');

    const mode = cgroupMode();
    assert.equal(status('cgroup-mode'), mode === 'unified' ? 'ok' : 'warning');
    assert.match(byId.get('cgroup-mode')!.detail, mode === 'unified' ? /^cgroup v2/ : mode === 'hybrid' ? /^hybrid/ : /^cgroup v1 only/);
    if (mode !== 'legacy') {
      const own = readFileSync('/proc/self/cgroup', 'utf8').split('\n').find((l) => l.startsWith('0::'))!.slice(3);
      assert.match(byId.get('own-cgroup')!.detail, new RegExp(`^${own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    }

    // Kernel 5.12+ has everything tsrunc uses.
    const [major, minor] = spawnSync('uname', ['-r'], { encoding: 'utf8' }).stdout.split('.').map(Number);
    assert.ok(major! > 5 || (major === 5 && minor! >= 12), 'this test expects a kernel >= 5.12');
    for (const id of ['pidfd_open', 'clone3', 'close_range', 'openat2', 'mount_setattr', 'time-namespace', 'native-library', 'libseccomp']) {
      assert.equal(status(id), 'ok', `${id}: ${byId.get(id)?.detail}`);
    }
    assert.match(byId.get('libseccomp')!.detail, /^libseccomp 2\.\d+\.\d+$/);
    assert.equal(status('nested'), 'ok');
    assert.equal(existsSync('/.dockerenv'), byId.get('nested')!.detail.includes('/.dockerenv'));

    const problems = rep.checks.filter((c) => c.status === 'problem');
    assert.equal(rep.problems, problems.length);
    assert.equal(code, problems.length === 0 ? 0 : 1);
    assert.equal(rep.ready, problems.length === 0);
    for (const c of rep.checks) assert.equal(c.status === 'ok', c.fix === undefined, `${c.id}: a fix exactly when not ok`);
  });

  test('the text report prints one aligned line per check and a summary', () => {
    const r = doctor(runtimeEnv(), 'text');
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 21);
    for (const l of lines.slice(0, 20)) assert.match(l, /^(ok {7}|warning {2}|problem {2})\S.{20} {2}\S/);
    assert.match(lines[20]!, /^(ready: no problem found|ready: 0 problems, \d+ warnings?|not ready: \d+ problems?, \d+ warnings?)$/);
    assert.equal(lines.filter((l) => / — fix: /.test(l)).length, lines.slice(0, 20).filter((l) => !l.startsWith('ok ')).length);
  });

  test('XDG_RUNTIME_DIR unset: a problem, with the export that fixes it', () => {
    const env = runtimeEnv();
    delete env.XDG_RUNTIME_DIR;
    const { code, byId } = report(env);
    assert.equal(code, 1);
    const c = byId.get('runtime-dir')!;
    assert.equal(c.status, 'problem');
    assert.match(c.detail, /^not set/);
    assert.equal(c.fix, existsSync(`/run/user/${uid}`) ? `export XDG_RUNTIME_DIR=/run/user/${uid}` : c.fix);
    assert.match(c.fix!, /XDG_RUNTIME_DIR=\/run\/user\/\d+|log in as/);
  });

  test('XDG_RUNTIME_DIR left pointing at root\'s directory (as after su): a problem', () => {
    const { code, byId } = report(runtimeEnv({ XDG_RUNTIME_DIR: '/root' }));
    assert.equal(code, 1);
    const c = byId.get('runtime-dir')!;
    assert.equal(c.status, 'problem');
    assert.equal(c.detail, "/root is root's, not yours (left by su or sudo?)");
  });

  test('newuidmap hidden from PATH: both helpers are a problem, fixed by installing uidmap', () => {
    const { code, byId } = report(runtimeEnv({ PATH: '/nonexistent' }));
    assert.equal(code, 1);
    for (const h of ['newuidmap', 'newgidmap']) {
      assert.equal(byId.get(h)!.status, 'problem');
      assert.equal(byId.get(h)!.detail, 'not found in PATH: only your own ID can be mapped');
      assert.match(byId.get(h)!.fix!, /^sudo apt-get install uidmap/);
    }
  });

  test('the native library missing (TSRUNC_LIBDIR pointing nowhere): a problem, and the probes it runs are unknown', () => {
    const { code, byId } = report(runtimeEnv({ TSRUNC_LIBDIR: '/nonexistent' }));
    assert.equal(code, 1);
    assert.equal(byId.get('native-library')!.status, 'problem');
    assert.match(byId.get('native-library')!.fix!, /npm run build/);
    for (const id of ['pidfd_open', 'clone3', 'close_range', 'openat2', 'mount_setattr']) {
      assert.equal(byId.get(id)!.status, 'warning', id);
      assert.match(byId.get(id)!.detail, /native library is not built/);
    }
    // Without the library, unshare(1) still tries a user namespace, and the setuid bit still tells.
    assert.equal(byId.get('userns')!.status, 'ok');
    assert.equal(byId.get('newuidmap')!.status, 'ok');
  });

  test('a stale bus socket (what a stopped user manager leaves): a problem, connection refused', () => {
    const dir = tempDir('deadbus', 0o700);
    const socket = join(dir, 'bus');
    // Bound, never listened on, left behind: connecting is refused, as after the manager died.
    const py = spawnSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', socket]);
    assert.equal(py.status, 0, String(py.stderr));
    const { code, byId } = report(runtimeEnv({ DBUS_SESSION_BUS_ADDRESS: `unix:path=${socket}` }));
    assert.equal(code, 1);
    assert.equal(byId.get('user-bus')!.status, 'problem');
    assert.match(byId.get('user-bus')!.detail, /does not answer \(ECONNREFUSED\)/);
  });

  test('a user bus address pointing nowhere: a problem, with the fix', async () => {
    const env = runtimeEnv({ DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' });
    const { code, byId } = report(env);
    assert.equal(code, 1);
    const c = byId.get('user-bus')!;
    assert.equal(c.status, 'problem');
    assert.match(c.detail, /^DBUS_SESSION_BUS_ADDRESS=unix:path=\/nonexistent\/bus does not answer \(ENOENT\)|^\/nonexistent\/bus does not answer \(ENOENT\)/);
    // The default socket answers when a user manager runs: then the address is what is wrong.
    const fallbackUp = await answers(`${env.XDG_RUNTIME_DIR}/bus`);
    assert.equal(c.fix, fallbackUp ? 'unset DBUS_SESSION_BUS_ADDRESS' : `sudo apt-get install dbus-user-session && sudo loginctl enable-linger ${user}, then log in again`);
  });
}
