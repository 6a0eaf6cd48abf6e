// OCI hooks through the CLI: all six kinds at their moments and in their namespaces, with the state on
// stdin, their own args, env and timeout; failing hooks fail (or only warn about) the operation the
// runtime-spec says, and leave nothing behind.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  cleanup,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  processesMentioning,
  runRuntime,
  stateLeftovers,
  tempDir,
  uniqueId,
  type Bundle,
  type RunResult,
} from './harness.js';

interface HookSpec {
  path: string;
  args?: string[];
  env?: string[];
  timeout?: number;
}

/** A hook that appends "<tag> <status> <pid>" (read from the state on stdin) and `extra` to `log`. */
function recorder(tag: string, log: string, extra = ''): HookSpec {
  // busybox and the host's sh both have sed; the state is one line of JSON.
  const script = `s=$(cat); st=$(echo "$s" | sed -n 's/.*"status":"\\([a-z]*\\)".*/\\1/p'); pid=$(echo "$s" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p'); echo "${tag} $st $pid ${extra}" >> ${log}`;
  return { path: '/bin/sh', args: ['sh', '-c', script] };
}

function lines(path: string): string[] {
  return existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : [];
}

class Session {
  readonly root = freshStateRoot('tsrunc');
  constructor(readonly bundle: Bundle) {}
  run(args: string[]): Promise<RunResult> {
    return runRuntime('tsrunc', args, { root: this.root, cwd: this.bundle.dir });
  }
  async destroy(id: string): Promise<void> {
    await this.run(['delete', '--force', id]);
  }
}

describe('hooks', { skip: missingPrerequisites() }, () => {
  after(cleanup);

  test('all six kinds run at their moments, with the state on stdin', async () => {
    const dir = tempDir('hooks', 0o777);
    const log = join(dir, 'log');
    writeFileSync(log, '');
    chmodSync(log, 0o666);
    const bundle = makeBundle({
      args: ['sleep', '300'],
      mutate: (c) => {
        c.mounts = [...(c.mounts ?? []), { destination: '/out', type: 'bind', source: dir, options: ['rbind', 'rw'] }];
        c.hooks = {
          prestart: [recorder('prestart', log, '$(readlink /proc/self/ns/mnt)')],
          createRuntime: [recorder('createRuntime', log, '$(readlink /proc/self/ns/mnt)')],
          // Before pivot_root: the host's paths are still visible, the cwd is the rootfs.
          createContainer: [recorder('createContainer', log, '$(readlink /proc/self/ns/mnt) $(pwd)')],
          // After pivot_root: "/out" is the container's path of the bind mount.
          startContainer: [recorder('startContainer', '/out/log', '$(readlink /proc/self/ns/mnt)')],
          poststart: [recorder('poststart', log)],
          poststop: [recorder('poststop', log)],
        };
      },
    });
    const s = new Session(bundle);
    const id = uniqueId('hooks');
    const ownMnt = readlinkSync('/proc/self/ns/mnt');
    try {
      const c = await s.run(['create', '--bundle', bundle.dir, id]);
      assert.equal(c.code, 0, c.stderr);
      const pid = (JSON.parse((await s.run(['state', id])).stdout) as { pid: number }).pid;
      assert.deepEqual(lines(log).map((l) => l.split(' ').slice(0, 3).join(' ')), [
        `prestart creating ${pid}`,
        `createRuntime creating ${pid}`,
        `createContainer creating ${pid}`,
      ]);
      const st = await s.run(['start', id]);
      assert.equal(st.code, 0, st.stderr);
      // Only now (after execve) may an unprivileged caller read the init's namespaces.
      const initMnt = readlinkSync(`/proc/${pid}/ns/mnt`);
      assert.notEqual(initMnt, ownMnt);
      assert.deepEqual(lines(log), [
        `prestart creating ${pid} ${ownMnt}`,
        `createRuntime creating ${pid} ${ownMnt}`,
        `createContainer creating ${pid} ${initMnt} ${bundle.rootfs}`,
        `startContainer created ${pid} ${initMnt}`,
        `poststart running ${pid} `,
      ]);
      await s.run(['kill', id, 'KILL']);
      const d = await s.run(['delete', '--force', id]);
      assert.equal(d.code, 0, d.stderr);
      assert.deepEqual(lines(log).slice(5), ['poststop stopped 0 ']);
    } finally {
      await s.destroy(id);
    }
  });

  test('args, env and the runtime environment when env is absent', async () => {
    const dir = tempDir('hookenv', 0o777);
    const out = join(dir, 'out');
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.hooks = {
          createRuntime: [
            { path: '/bin/sh', args: ['hook-argv0', '-c', `echo "$0 [$FOO] [$HOOK_TEST_VAR]" >> ${out}`], env: ['FOO=bar'] },
            { path: '/bin/sh', args: ['sh', '-c', `echo "[$FOO] [$HOOK_TEST_VAR]" >> ${out}`] },
          ],
        };
      },
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('henv')], { cwd: bundle.dir, env: { HOOK_TEST_VAR: 'inherited' } });
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(lines(out), ['hook-argv0 [bar] []', '[] [inherited]']);
  });

  for (const kind of ['prestart', 'createRuntime', 'createContainer'] as const) {
    test(`a failing ${kind} hook fails create, runs poststop, and leaves nothing`, async () => {
      const dir = tempDir('hookfail', 0o777);
      const log = join(dir, 'log');
      const bundle = makeBundle({
        args: ['sleep', '300'],
        mutate: (c) => {
          c.hooks = {
            [kind]: [{ path: '/bin/sh', args: ['sh', '-c', 'echo broken hook >&2; exit 3'] }],
            poststop: [recorder('poststop', log)],
          };
        },
      });
      const s = new Session(bundle);
      const id = uniqueId('hfail');
      const r = await s.run(['create', '--bundle', bundle.dir, id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^tsrunc: config.json: /hooks/${kind}/0 \\(/bin/sh\\): hook exited with status 3: broken hook\\n$`));
      assert.deepEqual(stateLeftovers(s.root), []);
      assert.deepEqual(processesMentioning(bundle.dir), []);
      assert.deepEqual(lines(log), ['poststop stopped 0 ']);
    });
  }

  test('a hook past its timeout is killed and fails create', async () => {
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.hooks = { createRuntime: [{ path: '/bin/sh', args: ['sh', '-c', 'exec sleep 60'], timeout: 1 }] };
      },
    });
    const s = new Session(bundle);
    const r = await s.run(['create', '--bundle', bundle.dir, uniqueId('htime')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/hooks\/createRuntime\/0 \(\/bin\/sh\): hook ran past its timeout of 1s/);
    assert.deepEqual(stateLeftovers(s.root), []);
  });

  test('a createContainer hook past its timeout is killed too', async () => {
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.hooks = { createContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'sleep 61; true'], timeout: 1 }] };
      },
    });
    const s = new Session(bundle);
    const r = await s.run(['create', '--bundle', bundle.dir, uniqueId('htime')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /\/hooks\/createContainer\/0 \(\/bin\/sh\): hook ran past its timeout of 1s/);
    assert.deepEqual(stateLeftovers(s.root), []);
    // The hook ran in the container's pid namespace: its children died with the container.
    assert.deepEqual(processesMentioning('sleep 61'), []);
  });

  test('a failing startContainer hook fails start: the process never runs, the container is stopped', async () => {
    const dir = tempDir('hookstart', 0o777);
    const bundle = makeBundle({
      args: ['sh', '-c', 'echo ran > /out/ran'],
      mutate: (c) => {
        c.mounts = [...(c.mounts ?? []), { destination: '/out', type: 'bind', source: dir, options: ['rbind', 'rw'] }];
        c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 7'] }] };
      },
    });
    const s = new Session(bundle);
    const id = uniqueId('hstart');
    try {
      assert.equal((await s.run(['create', '--bundle', bundle.dir, id])).code, 0);
      const r = await s.run(['start', id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^tsrunc: config.json: \/hooks\/startContainer\/0 \(\/bin\/sh\): hook exited with status 7\n$/);
      const st = JSON.parse((await s.run(['state', id])).stdout) as { status: string };
      assert.equal(st.status, 'stopped');
      assert.equal(existsSync(join(dir, 'ran')), false, 'the user process did not run');
    } finally {
      await s.destroy(id);
    }
  });

  test('a container without /proc cannot hand its namespaces to a startContainer hook: start fails, nothing runs on the host', async () => {
    const dir = tempDir('hooknoproc', 0o777);
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.mounts = (c.mounts ?? []).filter((m) => m.destination !== '/proc');
        // Masking and read-only paths go through /proc/self/fd in the C core: none here.
        delete c.linux!.maskedPaths;
        delete c.linux!.readonlyPaths;
        c.hooks = { startContainer: [{ path: '/bin/sh', args: ['sh', '-c', `touch ${join(dir, 'ran')}`] }] };
      },
    });
    const s = new Session(bundle);
    const id = uniqueId('hnoproc');
    try {
      assert.equal((await s.run(['create', '--bundle', bundle.dir, id])).code, 0);
      const r = await s.run(['start', id]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^tsrunc: config.json: \/hooks\/startContainer: the container's namespaces could not be handed over/);
      assert.equal(existsSync(join(dir, 'ran')), false, 'the hook did not run (on the host)');
    } finally {
      await s.destroy(id);
    }
  });

  test('a failing poststart or poststop hook only warns', async () => {
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.hooks = {
          poststart: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 4'] }],
          poststop: [{ path: '/bin/sh', args: ['sh', '-c', 'exit 5'] }],
        };
      },
    });
    const s = new Session(bundle);
    const r = await s.run(['run', '--bundle', bundle.dir, uniqueId('hwarn')]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning.*\/hooks\/poststart\/0 \(\/bin\/sh\): hook exited with status 4/);
    assert.match(r.stderr, /warning.*\/hooks\/poststop\/0 \(\/bin\/sh\): hook exited with status 5/);
    assert.deepEqual(stateLeftovers(s.root), []);
  });
});
