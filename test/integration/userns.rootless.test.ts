// User namespaces for an unprivileged caller (issue 3): full mappings from /etc/subuid through the real
// setuid newuidmap/newgidmap, the single-ID fallback with its notice, mapping checks before anything
// starts, ownership inside and on the host, and joining a user namespace by path.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import {
  cleanup,
  makeBundle,
  missingPrerequisites,
  runRuntime,
  freshStateRoot,
  stateLeftovers,
  processesMentioning,
  uniqueId,
  tempDir,
  waitFor,
  parseState,
  stderrBesidesCgroupWarning,
  type Bundle,
  type Spec,
} from './harness.js';

after(cleanup);

const uid = process.getuid!();
const gid = process.getgid!();
const user = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.split(':')[2] === String(uid))?.split(':')[0] ?? '';

/** The caller's first subordinate range in /etc/subuid or /etc/subgid. */
function firstRange(file: string): { start: number; count: number } {
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [owner, start, count] = line.split(':');
    if (owner === user || owner === String(uid)) return { start: Number(start), count: Number(count) };
  }
  throw new Error(`${user} has no range in ${file}: the rootless suite needs one (CI adds it)`);
}

const missing = missingPrerequisites();
if (missing) throw new Error(missing);
const subuid = firstRange('/etc/subuid');
const subgid = firstRange('/etc/subgid');

/** Copies a dynamically linked host binary and the libraries ldd names into the rootfs. */
function installHostBinary(rootfs: string, path: string): void {
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' });
  const libs = [...ldd.stdout.matchAll(/(\/\S+)/g)].map((m) => m[1]!);
  for (const file of [path, ...libs]) {
    const dest = join(rootfs, file);
    mkdirSync(dirname(dest), { recursive: true });
    copyFileSync(file, dest);
    chmodSync(dest, 0o755);
  }
}

/** podman's default capabilities: what images that chown and switch users are run with. */
const PODMAN_CAPS = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_NET_BIND_SERVICE', 'CAP_SETFCAP', 'CAP_SETGID', 'CAP_SETPCAP', 'CAP_SETUID', 'CAP_SYS_CHROOT'];

/**
 * A bundle whose config has a user namespace but no mappings (tsrunc maps it automatically), with
 * podman's capabilities and a writable root.
 */
function autoMappedBundle(args: string[], extra?: (c: Spec, b: Bundle) => void, opts: { dirs?: string[]; setup?: (b: Bundle) => void } = {}): Bundle {
  return makeBundle({
    args,
    dirs: opts.dirs,
    setup: opts.setup,
    mutate: (c, b) => {
      delete c.linux!.uidMappings;
      delete c.linux!.gidMappings;
      c.root!.readonly = false;
      c.process!.capabilities = { bounding: PODMAN_CAPS, effective: PODMAN_CAPS, permitted: PODMAN_CAPS };
      extra?.(c, b);
    },
  });
}

test('full automatic mapping: owners 0, 1000 and 65534 inside, chown and setuid work, the whole map is visible', async () => {
  const bundle = autoMappedBundle(['sh', '-c', 'touch /f0 /f1000 /f65534 && chown 1000:1000 /f1000 && chown 65534:65534 /f65534'], undefined, {
    setup: (b) => installHostBinary(b.rootfs, '/usr/bin/setpriv'),
  });
  const prep = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('own')]);
  assert.equal(prep.code, 0, prep.stderr);
  assert.equal(stderrBesidesCgroupWarning(prep), '', 'full mappings need no notice');

  // What the host sees: container 1000 is the 1000th ID of the subordinate range.
  assert.equal(statSync(join(bundle.rootfs, 'f0')).uid, uid);
  assert.equal(statSync(join(bundle.rootfs, 'f1000')).uid, subuid.start + 999);
  assert.equal(statSync(join(bundle.rootfs, 'f1000')).gid, subgid.start + 999);
  assert.equal(statSync(join(bundle.rootfs, 'f65534')).uid, subuid.start + 65533);

  const probe = [
    'stat -c "%n %u %g" /f0 /f1000 /f65534',
    'cat /proc/self/uid_map /proc/self/gid_map',
    'touch /tmp/f && chown 1234:4321 /tmp/f && stat -c "chowned %u %g" /tmp/f',
    '/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups /bin/id',
  ].join('; ');
  writeFileSync(bundle.configPath, JSON.stringify({ ...bundle.config, process: { ...bundle.config.process!, args: ['sh', '-c', probe] } }));
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('own')]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
  assert.deepEqual(lines, [
    '/f0 0 0',
    '/f1000 1000 1000',
    '/f65534 65534 65534',
    `0 ${uid} 1`,
    `1 ${subuid.start} ${subuid.count}`,
    `0 ${gid} 1`,
    `1 ${subgid.start} ${subgid.count}`,
    'chowned 1234 4321',
    'uid=65534(nobody) gid=65534(nobody)',
  ]);
});

test('files the container creates in a bind-mounted host directory get the mapped host IDs', async () => {
  const data = tempDir('userns-data');
  const bundle = autoMappedBundle(['sh', '-c', 'touch /data/root-made /data/user-made && chown 1000:1000 /data/user-made && ls -ln /data | wc -l'], (c) => {
    c.mounts!.push({ destination: '/data', type: 'bind', source: data, options: ['rbind', 'rw'] });
  });
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('bind')]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(join(data, 'root-made')).uid, uid, 'container root is the caller');
  assert.equal(statSync(join(data, 'root-made')).gid, gid);
  assert.equal(statSync(join(data, 'user-made')).uid, subuid.start + 999);
  assert.equal(statSync(join(data, 'user-made')).gid, subgid.start + 999);
});

test('without newuidmap on PATH: a working single-ID container and one notice line saying why and how', async () => {
  const bundle = autoMappedBundle(['sh', '-c', 'cat /proc/self/uid_map; id -u']);
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('nohelper')], { env: { PATH: '/nonexistent' } });
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')), [`0 ${uid} 1`, '0']);
  const notice = stderrBesidesCgroupWarning(r).split('\n').filter(Boolean);
  assert.equal(notice.length, 1, r.stderr);
  assert.match(notice[0]!, /^tsrunc: .*mapping only your own ID.*newuidmap\/newgidmap are not installed.*apt-get install uidmap/);
});

test('an explicit single-ID mapping is written directly and needs no helper', async () => {
  const bundle = makeBundle({ args: ['sh', '-c', 'cat /proc/self/uid_map; cat /proc/self/setgroups'] });
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('single')], { env: { PATH: '/nonexistent' } });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(stderrBesidesCgroupWarning(r), '');
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' ')), [`0 ${uid} 1`, 'deny']);
});

test('spec --rootless writes the full mapping; --mappings single writes runc\'s', async () => {
  for (const [mode, expected] of [
    ['auto', [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subuid.start, size: subuid.count }]],
    ['single', [{ containerID: 0, hostID: uid, size: 1 }]],
  ] as const) {
    const dir = tempDir('spec');
    const r = await runRuntime('tsrunc', ['spec', '--rootless', '--mappings', mode, '--bundle', dir]);
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Spec;
    assert.deepEqual(config.linux!.uidMappings, expected, mode);
  }
});

const refused: { name: string; uidMappings?: unknown; gidMappings?: unknown; user?: Record<string, unknown>; expect: RegExp }[] = [
  {
    name: 'a host range that is not the caller\'s',
    uidMappings: [{ containerID: 0, hostID: 0, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    expect: new RegExp(`^tsrunc: config\\.json: /linux/uidMappings/0: host IDs 0-0 are not yours to map \\(allowed: ${uid}, ${subuid.start}-${subuid.start + subuid.count - 1}\\)$`),
  },
  {
    name: 'a range larger than the subordinate range',
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subuid.start, size: subuid.count + 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    expect: /^tsrunc: config\.json: \/linux\/uidMappings\/1: host IDs .* are not yours to map \(allowed: /,
  },
  {
    name: 'overlapping container ranges',
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 0, hostID: subgid.start, size: 10 }],
    expect: /^tsrunc: config\.json: \/linux\/gidMappings\/1: overlaps \/linux\/gidMappings\/0 in the container$/,
  },
  {
    name: 'an unmapped process uid',
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
    user: { uid: 1000, gid: 0 },
    expect: /^tsrunc: config\.json: \/process\/user\/uid: 1000 is not mapped by \/linux\/uidMappings$/,
  },
  {
    name: 'an unmapped additional gid',
    uidMappings: [{ containerID: 0, hostID: uid, size: 1 }, { containerID: 1, hostID: subuid.start, size: 100 }],
    gidMappings: [{ containerID: 0, hostID: gid, size: 1 }, { containerID: 1, hostID: subgid.start, size: 100 }],
    user: { uid: 0, gid: 0, additionalGids: [5, 500] },
    expect: /^tsrunc: config\.json: \/process\/user\/additionalGids\/1: 500 is not mapped by \/linux\/gidMappings$/,
  },
];

for (const c of refused) {
  test(`refused before any process starts: ${c.name}`, async () => {
    const marker = uniqueId('refused');
    const bundle = makeBundle({
      args: ['sh', '-c', `echo ${marker}`],
      mutate: (config) => {
        // Written as raw JSON values: some of these are deliberately not what the schema allows.
        Object.assign(config.linux as Record<string, unknown>, { uidMappings: c.uidMappings, gidMappings: c.gidMappings });
        if (c.user) Object.assign(config.process as Record<string, unknown>, { user: c.user });
      },
    });
    const root = freshStateRoot('tsrunc');
    const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, marker], { root });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '', 'nothing ran');
    assert.match(r.stderr.trimEnd(), c.expect);
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.deepEqual(stateLeftovers(root), []);
    assert.deepEqual(processesMentioning(bundle.dir), []);
  });
}

test('joining another container\'s user namespace by path (and its uts namespace after it)', async () => {
  const root = freshStateRoot('tsrunc');
  const first = autoMappedBundle(['sleep', '300'], (c) => {
    c.hostname = 'first';
  });
  const firstId = uniqueId('join-a');
  const created = await runRuntime('tsrunc', ['run', '--detach', '--bundle', first.dir, firstId], { root });
  assert.equal(created.code, 0, created.stderr);
  try {
    const pid = parseState(await runRuntime('tsrunc', ['state', firstId], { root })).pid;
    const second = makeBundle({
      args: ['sh', '-c', 'hostname; cat /proc/self/uid_map; stat -c %u /proc/1'],
      mutate: (c) => {
        delete c.linux!.uidMappings;
        delete c.linux!.gidMappings;
        delete c.hostname;
        c.linux!.namespaces = c.linux!.namespaces!.filter((n) => n.type !== 'user' && n.type !== 'uts');
        c.linux!.namespaces.push({ type: 'user', path: `/proc/${pid}/ns/user` }, { type: 'uts', path: `/proc/${pid}/ns/uts` });
      },
    });
    const r = await runRuntime('tsrunc', ['run', '--bundle', second.dir, uniqueId('join-b')], { root });
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n').map((l) => l.trim().replace(/\s+/g, ' '));
    assert.deepEqual(lines, ['first', `0 ${uid} 1`, `1 ${subuid.start} ${subuid.count}`, '0']);
  } finally {
    await runRuntime('tsrunc', ['delete', '--force', firstId], { root });
  }
  assert.ok(await waitFor(() => stateLeftovers(root).length === 0));
});

test('idmapped mounts are refused rootless with the reason (the kernel reserves them to the filesystem\'s owner)', async () => {
  const root = freshStateRoot('tsrunc');
  const bundle = autoMappedBundle(['true'], (c) => {
    (c.mounts as unknown[]).push({ destination: '/m', type: 'bind', source: '/tmp', options: ['bind', 'idmap'] });
  });
  const r = await runRuntime('tsrunc', ['run', '--bundle', bundle.dir, uniqueId('idmap')], { root });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^tsrunc: config\.json: \/mounts\/\d+\/options: idmapped mounts need root: the kernel lets only the owner of a filesystem \(here the host's root\) idmap it\n$/);
  assert.deepEqual(stateLeftovers(root), []);
});
