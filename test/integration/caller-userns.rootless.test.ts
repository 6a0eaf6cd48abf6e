// The runtime run as uid 0 inside a user namespace it did not make, the way podman runs it (through
// conmon, with no USER and no --root), against runc doing the same: the state root is
// $XDG_RUNTIME_DIR/<runtime>, devices are bound from the host (mknod is refused there) and setgroups,
// which `unshare -r` denies, is not attempted.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, makeBundle, missingPrerequisites, runtimeCommand, runtimeEnv, tempDir, uniqueId, SELF, type Runtime, type Spec } from './harness.js';

after(cleanup);

const missing = missingPrerequisites();
if (missing) throw new Error(missing);

/** A config that makes no user namespace of its own: the container stays in the caller's. */
function withoutUserNamespace(c: Spec): void {
  c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'user');
  delete c.linux!.uidMappings;
  delete c.linux!.gidMappings;
}

/** `sh -c script` as uid 0 of a new user namespace (`unshare` with `unshareFlags`), USER unset. */
function inUserNamespace(unshareFlags: string[], script: string, xdg: string): { status: number | null; stdout: string; stderr: string } {
  const env = runtimeEnv({ XDG_RUNTIME_DIR: xdg });
  delete env.USER;
  const r = spawnSync('unshare', [...unshareFlags, 'sh', '-c', script], { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The runtime's command line for a shell script. */
function shellCommand(rt: Runtime): string {
  const [cmd, pre] = runtimeCommand(rt);
  return [cmd, ...pre].map((a) => `'${a}'`).join(' ');
}

/** `create`, `state`, `start`, `delete` of one container, all inside one `unshare -r`, USER unset. */
function lifecycleInUserNamespace(rt: Runtime, xdg: string): { status: number | null; stdout: string; stderr: string } {
  const bundle = makeBundle({
    args: ['sh', '-c', 'ls -ln /dev/null /dev/zero | cut -c1-10; grep -E "^(Groups|Uid)" /proc/self/status; cat /proc/self/uid_map'],
    mutate: withoutUserNamespace,
  });
  const id = uniqueId('ns');
  const rtCmd = shellCommand(rt);
  const script = [
    `${rtCmd} create --bundle '${bundle.dir}' ${id} || exit 10`,
    `ls "$XDG_RUNTIME_DIR"/*/ | grep -qx ${id} || { echo "no ${id} under $XDG_RUNTIME_DIR/*/"; exit 11; }`,
    `${rtCmd} state ${id} | grep -q '"status": *"created"' || exit 12`,
    `${rtCmd} start ${id} || exit 13`,
    `for i in $(seq 100); do ${rtCmd} state ${id} | grep -q '"stopped"' && break; sleep 0.1; done`,
    `${rtCmd} delete ${id} || exit 14`,
  ].join('\n');
  return inUserNamespace(['-r'], script, xdg);
}

test('as uid 0 in a user namespace with USER unset: state under XDG_RUNTIME_DIR, devices bound, no setgroups (as runc)', () => {
  const out: Record<Runtime, ReturnType<typeof lifecycleInUserNamespace>> = {} as never;
  const dirs: Record<Runtime, string[]> = {} as never;
  for (const rt of ['runc', 'tsrunc'] as const) {
    const xdg = tempDir(`xdg-${rt}`, 0o700);
    out[rt] = lifecycleInUserNamespace(rt, xdg);
    dirs[rt] = readdirSync(xdg);
  }
  const ctx = `\nrunc: ${JSON.stringify(out.runc)}\ntsrunc: ${JSON.stringify(out.tsrunc)}`;
  assert.equal(out.runc.status, 0, `runc failed${ctx}`);
  assert.equal(out.tsrunc.status, 0, `tsrunc failed${ctx}`);
  assert.equal(out.tsrunc.stdout, out.runc.stdout, `outputs differ${ctx}`);
  assert.match(out.tsrunc.stdout, /^crw-rw-rw-/m);
  assert.deepEqual(dirs.runc, ['runc']);
  assert.deepEqual(dirs.tsrunc, [SELF ? 'runc' : 'tsrunc']);
});

// podman --userns keep-id/auto: the config asks for a user namespace of its own, mapping IDs of podman's
// (a mount namespace of its own too, as podman's: runc joins its own mount namespace back).
test('as uid 0 of a user namespace with subordinate IDs: the container\'s own maps are written directly, as runc', () => {
  const maps = [{ containerID: 0, hostID: 1, size: 1000 }];
  const out = {} as Record<Runtime, ReturnType<typeof inUserNamespace>>;
  for (const rt of ['runc', 'tsrunc'] as const) {
    const bundle = makeBundle({
      args: ['sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map /proc/self/setgroups; id -u'],
      mutate: (c) => {
        c.linux!.uidMappings = maps;
        c.linux!.gidMappings = maps;
      },
    });
    out[rt] = inUserNamespace(['--user', '--mount', '--map-root-user', '--map-auto'], `${shellCommand(rt)} run --bundle '${bundle.dir}' ${uniqueId('map')}`, tempDir(`xdg-${rt}`, 0o700));
  }
  const ctx = `\nrunc: ${JSON.stringify(out.runc)}\ntsrunc: ${JSON.stringify(out.tsrunc)}`;
  assert.equal(out.runc.status, 0, `runc failed${ctx}`);
  assert.equal(out.tsrunc.status, 0, `tsrunc failed${ctx}`);
  assert.equal(out.tsrunc.stdout, out.runc.stdout, `outputs differ${ctx}`);
  assert.match(out.tsrunc.stdout, /^\s+0\s+1\s+1000\n/);
});

// The runtime directory a login gives (/run/user/<uid> under root's /run/user), where podman users keep
// state: inside the namespace its parent's owner shows as the overflow uid.
test('as uid 0 in a user namespace, with the real $XDG_RUNTIME_DIR: run works and leaves no state, as runc', () => {
  const xdg = runtimeEnv().XDG_RUNTIME_DIR!;
  const out = {} as Record<Runtime, ReturnType<typeof inUserNamespace>>;
  const ids = {} as Record<Runtime, string>;
  for (const rt of ['runc', 'tsrunc'] as const) {
    const bundle = makeBundle({ args: ['sh', '-c', 'id -u; ls -ln /dev/null | cut -c1-10'], mutate: withoutUserNamespace });
    ids[rt] = uniqueId('xdg');
    out[rt] = inUserNamespace(['-r'], `${shellCommand(rt)} run --bundle '${bundle.dir}' ${ids[rt]}`, xdg);
  }
  const ctx = `\nrunc: ${JSON.stringify(out.runc)}\ntsrunc: ${JSON.stringify(out.tsrunc)}`;
  assert.equal(out.runc.status, 0, `runc failed${ctx}`);
  assert.equal(out.tsrunc.status, 0, `tsrunc failed${ctx}`);
  assert.equal(out.tsrunc.stdout, out.runc.stdout, `outputs differ${ctx}`);
  assert.equal(out.tsrunc.stdout, '0\ncrw-rw-rw-\n');
  // The hint of the no-cgroup warning names the user outside the namespace, not its root.
  const me = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(process.getuid!()))!.split(':')[0]!;
  for (const m of out.tsrunc.stderr.matchAll(/enable-linger ([^\s,]+)/g)) assert.equal(m[1], me, out.tsrunc.stderr);
  assert.equal(existsSync(join(xdg, SELF ? 'runc' : 'tsrunc', ids.tsrunc)), false, 'the container\'s state is gone');
});
