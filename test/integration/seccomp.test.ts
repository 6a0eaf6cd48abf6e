// seccomp: profiles compiled by libseccomp in the parent and loaded by the C child, checked against runc
// on the same bundles, plus the SCMP_ACT_NOTIFY hand-over to a listener (a small Python agent: Node's
// net module cannot receive file descriptors).
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, expectSame, freshStateRoot, makeBundle, missingPrerequisites, parseState, processesMentioning, runRuntime, runtimeEnv, stateLeftovers, tempDir, tsruncBin, uniqueId, waitFor, SELF, type Spec } from './harness.js';
import { missingProbe, podmanSeccomp, probeBinary, withProbe, PODMAN_PROFILE } from './confinement-helpers.js';

const probe = (...questions: string[]): string[] => ['/bin/probe', ...questions];
const sh = (script: string): string[] => ['sh', '-c', script];

function seccomp(c: Spec, profile: unknown, noNewPrivileges = true): void {
  c.linux ??= {};
  c.linux.seccomp = profile;
  c.process!.noNewPrivileges = noNewPrivileges;
}

const ALLOW_BUT = (rules: unknown[]): Record<string, unknown> => ({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'], syscalls: rules });
const MKDIR = ['mkdir', 'mkdirat'];

describe('seccomp', { skip: missingPrerequisites() || missingProbe() }, () => {
  afterEach(cleanup);
  after(cleanup);

  test("podman's default profile: busybox runs; mount and unshare -m fail with EPERM, keyctl and unshare -U answer as under runc", async (t) => {
    if (!existsSync(PODMAN_PROFILE)) return t.skip(`requires ${PODMAN_PROFILE} (apt-get install golang-github-containers-common)`);
    const questions = ['keyctl', 'mount-tmpfs', 'unshare-ns', 'unshare-user', 'personality=0xffffffff', 'personality=1', 'getpid'];
    const { runc, tsrunc } = await expectSame({
      args: sh(`echo hello; ls / >/dev/null && echo ls-ok; /bin/probe ${questions.join(' ')}`),
      setup: withProbe,
      mutate: (c) => seccomp(c, podmanSeccomp(c.process!.capabilities?.bounding ?? []), false),
    });
    assert.match(tsrunc.stdout, /^hello\nls-ok\n/);
    // Denied by the missing CAP_SYS_ADMIN; the profile itself allows both.
    assert.match(runc.stdout, /mount-tmpfs: EPERM\nunshare-ns: EPERM\n/);
    // containers-common 0.50's profile allows keyctl and unshare: both work, under runc as under tsrunc
    // (a profile denying them is the ERRNO cases below).
    assert.match(runc.stdout, /^keyctl: ok$/m);
    assert.match(runc.stdout, /^unshare-user: ok$/m);
    // personality(1) is not in the profile's list: the default action, ENOSYS.
    assert.match(runc.stdout, /personality=1: ENOSYS/);
    assert.match(runc.stdout, /personality=0xffffffff: ok/);
  });

  test('a profile denying with EPERM: syscalls newer than it get ENOSYS (libc falls back), older unlisted ones EPERM, as under runc', async (t) => {
    if (!existsSync(PODMAN_PROFILE)) return t.skip(`requires ${PODMAN_PROFILE} (apt-get install golang-github-containers-common)`);
    // podman's allow list with docker's default errno (EPERM). Its highest syscall is process_mrelease
    // (448). fchmodat2 (452, glibc >= 2.39 falls back to fchmodat on ENOSYS) and futex_waitv (449) are
    // newer and known to this libseccomp; mseal (462) is newer than libseccomp 2.5's table too;
    // io_uring_setup (425) is older, just not listed.
    const { tsrunc } = await expectSame({
      args: probe('syscall=452', 'syscall=449', 'syscall=462', 'syscall=425', 'getpid'),
      setup: withProbe,
      mutate: (c) => {
        const p = podmanSeccomp(c.process!.capabilities?.bounding ?? [])!;
        seccomp(c, { ...p, defaultErrnoRet: 1 }, false);
      },
    });
    assert.equal(tsrunc.stdout, 'syscall=452: ENOSYS\nsyscall=449: ENOSYS\nsyscall=462: ENOSYS\nsyscall=425: EPERM\ngetpid: ok\n');
  });

  test('SCMP_ACT_ERRNO with errnoRet makes the syscall return that errno; without errnoRet, EPERM', async () => {
    const { tsrunc } = await expectSame({
      args: probe('mkdir=/tmp/a', 'open-write=/dev/null', 'getpid', 'keyctl', 'unshare-user'),
      setup: withProbe,
      mutate: (c) =>
        seccomp(c, ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_ERRNO', errnoRet: 33 }, { names: ['getpid', 'keyctl', 'unshare'], action: 'SCMP_ACT_ERRNO' }])),
    });
    assert.equal(tsrunc.stdout, 'mkdir=/tmp/a: EDOM\nopen-write=/dev/null: ok\ngetpid: EPERM\nkeyctl: EPERM\nunshare-user: EPERM\n');
  });

  test('defaultAction SCMP_ACT_ERRNO with defaultErrnoRet, an allow list, unknown names skipped', async () => {
    const { tsrunc } = await expectSame({
      args: sh('/bin/probe mkdir=/tmp/a getpid keyctl'),
      setup: withProbe,
      mutate: (c) => {
        const p = podmanSeccomp([]) as { syscalls: { names: string[]; action: string }[] } | undefined;
        // Every syscall podman allows, except mkdir and keyctl, plus names no kernel has.
        const allowed = (p?.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ALLOW').flatMap((r) => r.names).filter((n) => !['mkdir', 'mkdirat', 'keyctl'].includes(n));
        const base = allowed.length > 0 ? allowed : ['execve', 'brk', 'arch_prctl', 'set_tid_address', 'write', 'exit_group', 'getpid', 'wait4', 'rt_sigaction', 'rt_sigprocmask', 'fork', 'vfork', 'clone', 'ioctl', 'getppid', 'getuid', 'stat', 'fstat', 'newfstatat', 'read', 'close', 'openat'];
        seccomp(c, { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 38, syscalls: [{ names: [...base, 'no_such_syscall_tsrunc'], action: 'SCMP_ACT_ALLOW' }] });
      },
    });
    assert.equal(tsrunc.stdout, 'mkdir=/tmp/a: ENOSYS\ngetpid: ok\nkeyctl: ENOSYS\n');
  });

  test('args conditions: EQ, MASKED_EQ, and a repeated index becoming separate rules (runc)', async () => {
    const { tsrunc } = await expectSame({
      args: probe('personality=8', 'personality=0x20000', 'personality=0x20008', 'personality=0xffffffff', 'mkdir=/tmp/a', 'mkdir=/tmp/b'),
      setup: withProbe,
      mutate: (c) =>
        seccomp(
          c,
          ALLOW_BUT([
            { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 33, args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
            { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 1, args: [{ index: 0, value: 0xf0000, valueTwo: 0x20000, op: 'SCMP_CMP_MASKED_EQ' }] },
            // mode (arg 1 of mkdir, arg 2 of mkdirat) is 0755 for both: LE 0755 matches, GT 0755 does not.
            { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 2, args: [{ index: 1, value: 0o755, op: 'SCMP_CMP_LE' }, { index: 0, value: 0, op: 'SCMP_CMP_NE' }] },
            { names: ['mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 2, args: [{ index: 2, value: 0o755, op: 'SCMP_CMP_GT' }, { index: 2, value: 0o755, op: 'SCMP_CMP_GE' }] },
          ]),
        ),
    });
    assert.equal(
      tsrunc.stdout,
      'personality=8: EDOM\npersonality=0x20000: EPERM\npersonality=0x20008: EPERM\npersonality=0xffffffff: ok\nmkdir=/tmp/a: ENOENT\nmkdir=/tmp/b: ENOENT\n',
    );
  });

  for (const action of ['SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_LOG', 'SCMP_ACT_TRACE']) {
    test(`${action} acts as under runc`, async () => {
      await expectSame({
        args: sh('/bin/probe mkdir=/tmp/a; echo status=$?'),
        setup: withProbe,
        mutate: (c) => seccomp(c, ALLOW_BUT([{ names: MKDIR, action }])),
      });
    });
  }

  test('without noNewPrivileges the filter is loaded while the caps still allow it (runc order)', async () => {
    const { tsrunc } = await expectSame({
      args: sh('/bin/probe mkdir=/tmp/a; grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status'),
      setup: withProbe,
      mutate: (c) => seccomp(c, ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_ERRNO', errnoRet: 33 }]), false),
    });
    assert.match(tsrunc.stdout, /mkdir=\/tmp\/a: EDOM\nNoNewPrivs:\s+0\nSeccomp:\s+2/);
  });

  test('flags: SPEC_ALLOW leaves speculative store bypass alone, LOG and TSYNC are accepted (runc 1.1 refuses flags)', async (t) => {
    if (SELF) return t.skip('runc 1.1 refuses seccomp flags');
    const run = async (flags: string[]): Promise<string> => {
      const b = makeBundle({
        args: sh('grep -E "^(Seccomp|Speculation_Store_Bypass):" /proc/self/status; /bin/probe mkdir=/tmp/a'),
        setup: withProbe,
        mutate: (c) => seccomp(c, { ...ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }]), flags }),
      });
      const r = await runRuntime('tsrunc', ['run', '--bundle', b.dir, uniqueId('flags')], { cwd: b.dir });
      assert.equal(r.code, 0, r.stderr);
      return r.stdout;
    };
    const plain = await run([]);
    const flagged = await run(['SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_TSYNC']);
    for (const out of [plain, flagged]) assert.match(out, /^Seccomp:\s+2\n.*\nmkdir=\/tmp\/a: EPERM\n$/);
    // The difference only shows where the kernel mitigates SSB for seccomp'd tasks by default.
    const ssb = readFileSync('/sys/devices/system/cpu/vulnerabilities/spec_store_bypass', 'utf8');
    if (/seccomp/.test(ssb)) {
      assert.match(plain, /Speculation_Store_Bypass:\s+thread force mitigated/);
      assert.doesNotMatch(flagged, /force mitigated/);
    }
  });

  test('an empty profile (defaultAction only) still runs', async () => {
    await expectSame({ args: sh('grep -E "^Seccomp:" /proc/self/status'), mutate: (c) => seccomp(c, { defaultAction: 'SCMP_ACT_ALLOW' }) });
  });

  test('no libseccomp on the host: a clear one-line error naming /linux/seccomp', async (t) => {
    if (SELF) return t.skip('tsrunc-only behaviour');
    const b = makeBundle({ args: ['true'], mutate: (c) => seccomp(c, ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }])) });
    const r = await runRuntime('tsrunc', ['run', '--bundle', b.dir, uniqueId('nolib')], { env: { TSRUNC_LIBSECCOMP: '/nonexistent/libseccomp.so.2' } });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsrunc: config\.json: \/linux\/seccomp: libseccomp\.so\.2 is not installed on this host/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /apt-get install libseccomp2/);
    assert.deepEqual(stateLeftovers(r.root), []);
  });

  test('a filter the kernel refuses to load: create (before the barrier), start (deferred) and exec name /linux/seccomp', async (t) => {
    if (SELF) return t.skip('tsrunc wording');
    // The runtime runs with the kernel's seccomp budget used up (allow-all filters stacked by the probe),
    // which its container init inherits: seccomp(2) then refuses the container's filter with ENOMEM,
    // as it would for a runtime nested in a container with long profiles.
    const underFullBudget = (root: string, args: string[]) =>
      spawnSync(probeBinary()!, ['--fill-seccomp', '--', tsruncBin(), '--root', root, ...args], { env: runtimeEnv(), encoding: 'utf8', timeout: 60_000 });
    const line = 'tsrunc: config.json: /linux/seccomp: seccomp: Cannot allocate memory';
    const profile = ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_ERRNO' }]);

    // noNewPrivileges: the load is deferred to right before execve, after `start` released the barrier.
    const b = makeBundle({ args: ['true'], mutate: (c) => seccomp(c, profile) });
    const root = freshStateRoot('tsrunc');
    const id = uniqueId('full');
    const created = underFullBudget(root, ['create', '--bundle', b.dir, id]);
    assert.equal(created.status, 0, created.stderr);
    const started = await runRuntime('tsrunc', ['start', id], { root });
    assert.equal(started.code, 1, started.stderr);
    assert.deepEqual(started.stderr.trim().split('\n'), [line]);
    assert.equal(parseState(await runRuntime('tsrunc', ['state', id], { root })).status, 'stopped');
    assert.equal((await runRuntime('tsrunc', ['delete', id], { root })).code, 0);
    assert.deepEqual(stateLeftovers(root), []);
    assert.deepEqual(processesMentioning(b.dir), []);

    // Without it the filter is loaded before the capabilities go, during create: same line, nothing left.
    const b2 = makeBundle({ args: ['true'], mutate: (c) => seccomp(c, profile, false) });
    const root2 = freshStateRoot('tsrunc');
    const failed = underFullBudget(root2, ['run', '--bundle', b2.dir, uniqueId('full')]);
    assert.equal(failed.status, 1, failed.stderr);
    assert.deepEqual(failed.stderr.split('\n').filter((l) => l !== '' && !l.startsWith('tsrunc: warning:')), [line]);
    assert.deepEqual(stateLeftovers(root2), []);
    assert.deepEqual(processesMentioning(b2.dir), []);

    // exec (no barrier): the exec'd process' filter is refused just as well, and named the same way.
    const b3 = makeBundle({ args: ['sleep', '100'], mutate: (c) => seccomp(c, profile) });
    const root3 = freshStateRoot('tsrunc');
    const id3 = uniqueId('full');
    const running = await runRuntime('tsrunc', ['run', '-d', '--bundle', b3.dir, id3], { root: root3 });
    assert.equal(running.code, 0, running.stderr);
    try {
      const exec = underFullBudget(root3, ['exec', id3, 'true']);
      assert.equal(exec.status, 255, exec.stderr);
      assert.deepEqual(exec.stderr.trim().split('\n'), ['tsrunc: exec failed: /linux/seccomp: seccomp: ENOMEM (Cannot allocate memory)']);
      assert.equal((await runRuntime('tsrunc', ['exec', id3, 'true'], { root: root3 })).code, 0);
    } finally {
      assert.equal((await runRuntime('tsrunc', ['delete', '--force', id3], { root: root3 })).code, 0);
    }
    assert.deepEqual(stateLeftovers(root3), []);
  });

  test('an execve that fails at start names the process, and leaves the container stopped', async (t) => {
    if (SELF) return t.skip('tsrunc wording (runc reports it at create)');
    const b = makeBundle({ args: ['/bin/not-a-program'], files: { 'bin/not-a-program': 'neither ELF nor #!\n' } });
    chmodSync(join(b.rootfs, 'bin/not-a-program'), 0o755);
    const id = uniqueId('noexec');
    const created = await runRuntime('tsrunc', ['create', '--bundle', b.dir, id], { cwd: b.dir });
    assert.equal(created.code, 0, created.stderr);
    const started = await runRuntime('tsrunc', ['start', id], { root: created.root });
    assert.equal(started.code, 1);
    assert.equal(started.stderr, 'tsrunc: config.json: /process/args (/bin/not-a-program): execve: Exec format error\n');
    assert.equal(parseState(await runRuntime('tsrunc', ['state', id], { root: created.root })).status, 'stopped');
    assert.equal((await runRuntime('tsrunc', ['delete', id], { root: created.root })).code, 0);
    assert.deepEqual(stateLeftovers(created.root), []);
  });

  test('SCMP_ACT_NOTIFY: the listener fd and the state reach listenerPath, and the agent answers', async (t) => {
    if (spawnSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' }).status !== 0) return t.skip('requires python3 >= 3.9 (the test agent)');
    const dir = tempDir('agent');
    const sock = join(dir, 'agent.sock');
    const report = join(dir, 'report.json');
    const agent = spawn('python3', ['-c', AGENT, sock, report], { stdio: ['ignore', 'inherit', 'inherit'] });
    try {
      assert.ok(await waitFor(() => existsSync(sock), 10_000), 'the agent did not start');
      const b = makeBundle({
        args: probe('mkdir=/tmp/a', 'getpid'),
        setup: withProbe,
        mutate: (c) =>
          seccomp(c, {
            ...ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_NOTIFY' }]),
            listenerPath: sock,
            listenerMetadata: 'hello-agent',
          }),
      });
      const id = uniqueId('notify');
      const r = await runRuntime(SELF ? 'runc' : 'tsrunc', ['run', '--bundle', b.dir, id], { cwd: b.dir, timeoutMs: 20_000 });
      assert.equal(r.code, 0, r.stderr);
      // The agent answers mkdir with EXDEV (18).
      assert.equal(r.stdout, 'mkdir=/tmp/a: EXDEV\ngetpid: ok\n');
      assert.ok(await waitFor(() => existsSync(report), 5000), 'no report from the agent');
      const got = JSON.parse(readFileSync(report, 'utf8')) as { fdlink: string; state: Record<string, unknown>; syscall: number };
      assert.equal(got.fdlink, 'anon_inode:seccomp notify');
      assert.deepEqual(got.state.fds, ['seccompFd']);
      assert.equal(got.state.metadata, 'hello-agent');
      const st = got.state.state as Record<string, unknown>;
      assert.equal(st.id, id);
      assert.equal(st.status, 'creating');
      assert.equal(st.bundle, b.dir);
      assert.equal(typeof got.state.pid, 'number');
      assert.equal(st.pid, got.state.pid);
      assert.ok(got.syscall === 83 || got.syscall === 258, `notified syscall ${got.syscall}`); // mkdir / mkdirat on x86_64
    } finally {
      agent.kill('SIGKILL');
    }
  });

  test('SCMP_ACT_NOTIFY with an agent that is not listening: a one-line error, nothing left running', async (t) => {
    if (SELF) return t.skip('tsrunc-only wording');
    const dir = tempDir('noagent');
    const b = makeBundle({
      args: ['true'],
      mutate: (c) => seccomp(c, { ...ALLOW_BUT([{ names: MKDIR, action: 'SCMP_ACT_NOTIFY' }]), listenerPath: join(dir, 'nobody.sock') }),
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', b.dir, uniqueId('noagent')], { cwd: b.dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^tsrunc: config\.json: \/linux\/seccomp\/listenerPath: .*nobody\.sock: sendmsg: ENOENT/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.deepEqual(stateLeftovers(r.root), [], 'state left behind');
    assert.deepEqual(processesMentioning(b.dir), [], 'a container process left running');
  });
});

/** The test's seccomp agent: receive the fd and state, answer one notification with EXDEV, report. */
const AGENT = String.raw`
import json, os, socket, struct, sys, fcntl, signal
signal.alarm(30)
path, report = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + '.tmp'); os.rename(path + '.tmp', path); srv.listen(1)
conn, _ = srv.accept()
data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
while True:
    try:
        json.loads(data); break
    except ValueError:
        more = conn.recv(65536)
        if not more: break
        data += more
fd = fds[0]
link = os.readlink('/proc/self/fd/%d' % fd)
SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100
SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101
buf = bytearray(80)
fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, buf, True)
nid, pid, flags, nr = struct.unpack_from('<QIIi', buf, 0)
resp = bytearray(struct.pack('<QqiI', nid, 0, -18, 0))
fcntl.ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp, True)
with open(report + '.tmp', 'w') as f:
    json.dump({'fdlink': link, 'state': json.loads(data), 'syscall': nr}, f)
os.rename(report + '.tmp', report)
`;
