// CVE-2019-5736 during `exec`: between clone and execve the new process' /proc/<pid>/exe is the host's
// node binary. The C child makes itself non-dumpable right after "go", before it joins anything, so
// neither a process already in the container nor the host user that runs the container (rootless) may
// open that exe, for writing or for reading. To attack for real the exec'd process must stay in that
// state long enough: its seccomp profile has an SCMP_ACT_NOTIFY rule, so it hands its listener fd to
// tsrunc and waits for "go" while tsrunc connects to listenerPath, and the test's agent keeps that
// connect() blocked (its listen backlog is full) until the attacks are over.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IS_ROOT, cleanup, freshStateRoot, makeBundle, missingPrerequisites, runRuntime, tempDir, uniqueId, waitFor, SELF } from './harness.js';
import { missingProbe, withProbe } from './confinement-helpers.js';

/**
 * The agent: takes the init's listener (during create), then fills its listen backlog and reports
 * "plugged"; once the test writes "release" it accepts everything and records the exec'd process'
 * message. The fds it receives are closed: nothing the processes run is notified.
 */
const AGENT = String.raw`
import json, os, socket, sys, time, signal
signal.alarm(60)
path, dir = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path + '.tmp'); os.rename(path + '.tmp', path); srv.listen(0)
def take(conn):
    data, fds, _, _ = socket.recv_fds(conn, 65536, 4)
    for fd in fds: os.close(fd)
    conn.close()
    return data, len(fds)
take(srv.accept()[0])
plugs = []
while True:
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.setblocking(False)
    try:
        c.connect(path); plugs.append(c)
    except BlockingIOError:
        c.close(); break
open(os.path.join(dir, 'plugged'), 'w').close()
while not os.path.exists(os.path.join(dir, 'release')): time.sleep(0.02)
for c in plugs: c.close()
while True:
    data, n = take(srv.accept()[0])
    if n > 0: break
with open(os.path.join(dir, 'exec-state.tmp'), 'wb') as f: f.write(data)
os.rename(os.path.join(dir, 'exec-state.tmp'), os.path.join(dir, 'exec-state'))
`;

/** Host pids whose cmdline holds `marker` and that live in a child pid namespace (NSpid has two ids). */
function hostPidsInContainer(marker: string): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      if (!readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(marker)) continue;
      const nspid = /^NSpid:\s*(.*)$/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'))?.[1]?.trim().split(/\s+/) ?? [];
      if (nspid.length >= 2) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

describe('escapes: /proc/<pid>/exe of a process being exec\'d', { skip: missingPrerequisites() || missingProbe() }, () => {
  afterEach(cleanup);
  after(cleanup);

  test('cannot be opened from the container nor by the host user while the exec waits mid-setup', async (t) => {
    if (SELF) return t.skip('tsrunc-only: the attack is timed on its exec hand-over');
    if (spawnSync('python3', ['-c', 'import socket; socket.recv_fds'], { stdio: 'ignore' }).status !== 0) return t.skip('requires python3 >= 3.9 (the test agent)');
    const dir = tempDir('exe-agent');
    const out = tempDir('exe-out', 0o777);
    const sock = join(dir, 'agent.sock');
    // Never spelled out in the init's script (its forks share its cmdline): only the exec'd process has it.
    const marker = `ATTACK${uniqueId('exe').replace(/[^A-Za-z0-9]/g, '')}`;
    const half = marker.length >> 1;
    const script = [
      `a=${marker.slice(0, half)}; m="$a${marker.slice(half)}"`,
      'while :; do',
      '  for d in /proc/[0-9]*; do',
      '    n=${d#/proc/}; [ "$n" = 1 ] && continue',
      '    case "$(tr "\\0" " " 2>/dev/null < $d/cmdline)" in',
      '      *"$m"*) /bin/probe open-write=$d/exe open-read=$d/exe open-read=$d/mem > /out/r.tmp 2>&1',
      '        readlink $d/exe >> /out/r.tmp 2>&1 || echo readlink-failed >> /out/r.tmp',
      '        mv /out/r.tmp /out/result; exec sleep 1000;;',
      '    esac',
      '  done',
      'done',
    ].join('\n');
    const agent = spawn('python3', ['-c', AGENT, sock, dir], { stdio: ['ignore', 'inherit', 'inherit'] });
    const root = freshStateRoot('tsrunc');
    const id = uniqueId('exe');
    try {
      assert.ok(await waitFor(() => existsSync(sock), 10_000), 'the agent did not start');
      const b = makeBundle({
        args: ['sh', '-c', script],
        setup: withProbe,
        mutate: (c) => {
          c.mounts!.push({ destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] });
          c.process!.noNewPrivileges = true;
          c.linux ??= {};
          c.linux.seccomp = {
            defaultAction: 'SCMP_ACT_ALLOW',
            architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
            syscalls: [{ names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_NOTIFY' }],
            listenerPath: sock,
          };
        },
      });
      const started = await runRuntime('tsrunc', ['run', '--detach', '--bundle', b.dir, id], { root, cwd: b.dir });
      assert.equal(started.code, 0, started.stderr);
      assert.ok(await waitFor(() => existsSync(join(dir, 'plugged')), 10_000), 'the agent did not take the init\'s listener');

      const exec = runRuntime('tsrunc', ['exec', id, 'echo', marker], { root, timeoutMs: 30_000 });
      assert.ok(await waitFor(() => existsSync(join(out, 'result')), 15_000), 'the container never saw the exec\'d process');
      const inside = readFileSync(join(out, 'result'), 'utf8');
      assert.match(inside, /^open-write=\S+\/exe: (EACCES|EPERM)\nopen-read=\S+\/exe: (EACCES|EPERM)\nopen-read=\S+\/mem: (EACCES|EPERM)\n/, inside);
      assert.match(inside, /readlink-failed\n$/, `the container could resolve the exe link\n${inside}`);

      // The host user that runs a rootless container cannot reach it either (root can, as for any process).
      const pids = hostPidsInContainer(marker);
      assert.equal(pids.length, 1, `the exec'd process on the host: ${pids.join(' ')}`);
      assert.equal(existsSync(join(dir, 'exec-state')), false, 'the exec went on before the release');
      if (!IS_ROOT) {
        for (const flags of ['r', 'r+'] as const) {
          assert.throws(() => closeSync(openSync(`/proc/${pids[0]}/exe`, flags)), /EACCES|EPERM/, `open(/proc/${pids[0]}/exe, ${flags})`);
        }
      }

      writeFileSync(join(dir, 'release'), '');
      const r = await exec;
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, `${marker}\n`);
      assert.ok(await waitFor(() => existsSync(join(dir, 'exec-state')), 5000), 'the agent never got the exec\'d process\' listener');
      const st = JSON.parse(readFileSync(join(dir, 'exec-state'), 'utf8')) as { state: { id: string; status: string } };
      assert.equal(st.state.id, id);
      assert.equal(st.state.status, 'running');
    } finally {
      writeFileSync(join(dir, 'release'), '');
      await runRuntime('tsrunc', ['delete', '--force', id], { root });
      agent.kill('SIGKILL');
    }
  });
});
