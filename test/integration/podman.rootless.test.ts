// podman end to end (issue 6, point 1): Debian's rootless podman drives tsrunc through conmon, and runc
// the same way, on one locally imported busybox image; each scenario must come out as it does with
// runc. Everything podman keeps (storage, run root, tmp dir, config, its pause process) lives in one
// temporary directory, so the user's own podman state is never touched, and nothing is left behind.
// Outside a systemd user session: cgroupfs (podman.session.test.ts has the systemd cgroup manager).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SELF, cleanup, missingPrerequisites, runcPath, tsruncBin, waitFor, type Runtime } from './harness.js';
import { IMAGE, Podman, RUNTIMES, commOf, ownProcessesNamed, podmanMissing, ptyText, type PodmanResult } from './podman-helpers.js';

const skip = missingPrerequisites() || podmanMissing();

describe('podman (rootless, through conmon) with tsrunc as its runtime, against runc', { skip }, () => {
  let pm: Podman;

  before(async () => {
    pm = await Podman.create({ cgroupManager: 'cgroupfs' });
  });

  after(async () => {
    if (pm !== undefined) await pm.finish();
    cleanup();
  });

  test('podman finds tsrunc by name, with the path of the tree under test', async () => {
    const r = await pm.run(['--runtime', 'tsrunc', 'info', '--format', '{{.Host.OCIRuntime.Name}} {{.Host.OCIRuntime.Path}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `tsrunc ${SELF ? runcPath() : tsruncBin()}`);
  });

  test('run --rm echo hi', async () => {
    await pm.sameRunRm([], ['echo', 'hi'], /^hi\n$/);
  });

  test('exit codes, stdin, the container\'s view of itself (capabilities, ids, devices, mounts)', async () => {
    const script = [
      'read line; echo "in: $line"',
      "grep -E '^(Cap|Uid|Gid|Groups|NoNewPrivs|Seccomp)' /proc/self/status",
      'id; hostname | wc -c; ls -ln /dev | grep -v " -> " | cut -c1-10,35- | sort',
      "cut -d' ' -f5 /proc/self/mountinfo | grep -v '^/sys/fs/cgroup' | sort",
      'exit 7',
    ].join('\n');
    await pm.sameWithBoth(
      async (rt) => {
        const r = await pm.runRm(rt, ['-i'], ['sh', '-c', script], 'hello\n');
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
    for (const rt of RUNTIMES) out[rt] = await pm.runRm(rt, [], ['/no/such/program']);
    assert.equal(out.tsrunc.code, out.runc.code, `runc: ${out.runc.stderr}\ntsrunc: ${out.tsrunc.stderr}`);
    assert.equal(out.runc.code, 127);
    for (const rt of RUNTIMES) assert.match(out[rt].stderr, /\/no\/such\/program/, `${rt}: ${out[rt].stderr}`);
    await waitFor(() => pm.leftovers().length === 0, 5000);
    assert.deepEqual(pm.leftovers(), []);
  });

  test('run -it under a real pty: a terminal as stdio, input through it, the exit code', async () => {
    await pm.sameWithBoth(
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
    await pm.sameWithBoth(async (rt) => {
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
    await pm.sameRunRm(['--user', '1000'], ['sh', '-c', "id; grep -E '^(Cap|Uid|Gid|Groups)' /proc/self/status; touch /tmp/x && ls -ln /tmp/x | cut -c1-25"], /^uid=1000\(1000\) gid=0\(root\) groups=0\(root\)\n/);
  });

  test('--userns keep-id: a user namespace of the container\'s own inside podman\'s', async () => {
    await pm.sameRunRm(['--userns', 'keep-id'], ['sh', '-c', 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'], new RegExp(`^${process.getuid!()}\\n`));
  });

  test('--read-only: / refuses writes, /tmp /var/tmp /run are tmpfs with the image\'s content (tmpcopyup)', async () => {
    const script = "touch /x 2>&1; touch /tmp/y /var/tmp/y /run/y && echo writable; cat /run/marker; stat -c '%n %a' /tmp /var/tmp /run; grep -E '^[^ ]+ /(tmp|var/tmp|run)? ' /proc/mounts | cut -d' ' -f2-4 | sort";
    await pm.sameRunRm(['--read-only'], ['sh', '-c', script], /^touch: \/x: Read-only file system\nwritable\nfrom the image\n\/tmp 1777\n\/var\/tmp 1777\n\/run 755\n/);
  });

  test('--cap-drop all (and one added back)', async () => {
    const script = "grep -E '^Cap' /proc/self/status; chown 1 /tmp 2>&1 | cut -d: -f3";
    for (const flags of [['--cap-drop', 'all'], ['--cap-drop', 'all', '--cap-add', 'CAP_NET_BIND_SERVICE']]) {
      await pm.sameRunRm(flags, ['sh', '-c', script], /^CapInh:\t0{16}\nCapPrm:\t0{13}[04]00\n[^]*Operation not permitted\n$/);
    }
  });
});
