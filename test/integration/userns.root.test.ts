// User namespaces driven by root (issue 3): explicit mappings written directly, ownership through them,
// and — with a throwaway user that has no subordinate ranges — the single-ID fallback and its notice.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, makeBundle, missingPrerequisites, runRuntime, repoRoot, tempDir, tsruncBin, uniqueId, stateLeftovers } from './harness.js';

after(cleanup);
const missing = missingPrerequisites();
if (missing) throw new Error(missing);

const MAP = [{ containerID: 0, hostID: 200000, size: 65536 }];

test('root maps a range explicitly: the container root is host 200000 and owns its rootfs', async () => {
  const bundle = makeBundle({
    args: ['sh', '-c', 'cat /proc/self/uid_map; touch /made; stat -c "%u %g" /made; id -u'],
    mutate: (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'user');
      c.linux!.namespaces.push({ type: 'user' });
      c.linux!.uidMappings = MAP;
      c.linux!.gidMappings = MAP;
      c.root!.readonly = false;
    },
  });
  // The rootfs must belong to the mapped range, as an image unpacked for this mapping would.
  assert.equal(spawnSync('chown', ['-R', '200000:200000', bundle.rootfs]).status, 0);
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('rootmap')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')), ['0 200000 65536', '0 0', '0']);
  assert.equal(statSync(join(bundle.rootfs, 'made')).uid, 200000);
});

test('root must give mappings for a user namespace', async () => {
  const root = tempDir('state', 0o700);
  const bundle = makeBundle({
    args: ['true'],
    mutate: (c) => {
      c.linux!.namespaces!.push({ type: 'user' });
      delete c.linux!.uidMappings;
      delete c.linux!.gidMappings;
    },
  });
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('nomap')], { root });
  assert.equal(r.code, 1);
  assert.equal(r.stderr, 'tsrunc: config.json: /linux/uidMappings: a user namespace needs mappings when running as root\n');
  assert.deepEqual(stateLeftovers(root), []);
});

/** A user with no /etc/subuid or /etc/subgid range (created once, kept for later runs). */
function userWithoutRanges(): { name: string; uid: number; gid: number } {
  const name = 'tsrunc-noranges';
  if (spawnSync('id', [name]).status !== 0) {
    // A system user: useradd gives ordinary users subordinate ranges by default.
    assert.equal(spawnSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', name]).status, 0);
  }
  for (const f of ['/etc/subuid', '/etc/subgid']) {
    assert.ok(!readFileSync(f, 'utf8').split('\n').some((l) => l.startsWith(`${name}:`)), `${name} must have no range in ${f}`);
  }
  const uid = Number(spawnSync('id', ['-u', name], { encoding: 'utf8' }).stdout.trim());
  const gid = Number(spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim());
  return { name, uid, gid };
}

test('a user without subordinate ranges gets a single-ID container and one notice with the fix', async () => {
  const u = userWithoutRanges();
  // The tree this test runs from must be readable by that user (CI runs the root suite from a copy
  // every user can read).
  const readable = spawnSync('setpriv', ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', 'test', '-r', join(repoRoot(), 'dist', 'tsrunc.js')]);
  assert.equal(readable.status, 0, `${repoRoot()} must be readable by ${u.name}`);
  const bundle = makeBundle({
    args: ['sh', '-c', 'cat /proc/self/uid_map'],
    mutate: (c) => {
      delete c.linux!.uidMappings;
      delete c.linux!.gidMappings;
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'user' && n.type !== 'network');
      c.linux!.namespaces.push({ type: 'user' });
      c.mounts = c.mounts!.map((m) => (m.type === 'sysfs' ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] } : m));
      c.mounts = c.mounts.map((m) => ({ ...m, options: m.options?.filter((o) => !o.startsWith('gid=')) }));
    },
  });
  accessSync(bundle.dir, constants.R_OK);
  const state = tempDir('state-noranges', 0o700);
  assert.equal(spawnSync('chown', ['-R', `${u.uid}:${u.gid}`, state]).status, 0);
  const r = spawnSync(
    'setpriv',
    ['--reuid', String(u.uid), '--regid', String(u.gid), '--clear-groups', tsruncBin(), '--root', state, 'run', '--bundle', bundle.dir, uniqueId('noranges')],
    { encoding: 'utf8', env: { PATH: '/usr/bin:/bin', HOME: '/' }, timeout: 30_000 },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim().replace(/\s+/g, ' '), `0 ${u.uid} 1`);
  // The cgroup driver's own warning (no user bus for this user, so no cgroup) is not this notice.
  const lines = r.stderr.split('\n').filter((l) => l !== '' && !l.includes('runs without a cgroup'));
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /mapping only your own ID into the container: you have no range in \/etc\/subuid \(as root: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 \$USER\)/);
});

test('idmapped bind mounts: host root\'s files belong to the container\'s root through the mount\'s maps', async () => {
  const data = tempDir('idmap-data');
  spawnSync('sh', ['-c', `echo hi > ${data}/rootfile && mkdir ${data}/sub && chown 1000:1000 ${data}/sub`]);
  const bundle = makeBundle({
    args: ['sh', '-c', 'stat -c "%n %u %g" /plain/rootfile /mapped/rootfile /mapped/sub /whole/sub; touch /mapped/new && stat -c "%n %u" /mapped/new; grep -c " /mapped " /proc/self/mountinfo'],
    mutate: (c) => {
      c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'user');
      c.linux!.namespaces.push({ type: 'user' });
      c.linux!.uidMappings = MAP;
      c.linux!.gidMappings = MAP;
      c.mounts!.push(
        { destination: '/plain', type: 'bind', source: data, options: ['bind'] },
        // The mount's own maps: on-disk 0 appears as 200000, which the container maps to 0.
        { destination: '/mapped', type: 'bind', source: data, options: ['bind', 'idmap'], uidMappings: MAP, gidMappings: MAP },
        // No maps on the mount: the container's are used.
        { destination: '/whole', type: 'bind', source: data, options: ['rbind', 'ridmap'] },
      );
    },
  });
  assert.equal(spawnSync('chown', ['-R', '200000:200000', bundle.rootfs]).status, 0);
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('idmap')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n'), [
    '/plain/rootfile 65534 65534',
    '/mapped/rootfile 0 0',
    '/mapped/sub 1000 1000',
    '/whole/sub 1000 1000',
    '/mapped/new 0',
    '1',
  ]);
  // Written through the idmapped mount, the new file is host root's on disk.
  assert.equal(statSync(join(data, 'new')).uid, 0);
});

test('an idmapped mount needs idmap/ridmap with its maps, and both maps', async () => {
  for (const [mount, expect] of [
    [{ destination: '/m', type: 'bind', source: '/tmp', options: ['bind'], uidMappings: MAP, gidMappings: MAP }, /\/mounts\/\d+\/options: uidMappings\/gidMappings on a mount need the "idmap" or "ridmap" option/],
    [{ destination: "/m", type: "bind", source: "/tmp", options: ["bind", "idmap"], uidMappings: MAP }, /\/mounts\/\d+: uidMappings and gidMappings go together/],
  ] as const) {
    const root = tempDir('state', 0o700);
    const bundle = makeBundle({
      args: ['true'],
      mutate: (c) => {
        c.linux!.namespaces!.push({ type: 'user' });
        c.linux!.uidMappings = MAP;
        c.linux!.gidMappings = MAP;
        (c.mounts as unknown[]).push(mount);
      },
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('idmapbad')], { root });
    assert.equal(r.code, 1);
    assert.match(r.stderr, expect);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.deepEqual(stateLeftovers(root), []);
  }
});
