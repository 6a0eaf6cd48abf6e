// The C init core end to end, without the runtime: hand-written plans run a busybox container in new
// user/mount/pid/uts/ipc/net namespaces, as root or as an unprivileged user (single-ID maps written here).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn as spawnProcess, spawnSync } from 'node:child_process';
import {
  chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, readlinkSync, rmSync,
  symlinkSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as native from '../../src/native/index.js';
import { encodePlan, HEADER_SLOTS, OP_SLOTS } from '../../src/native/encode.js';
import type { Op, SpawnRequest, Spawned } from '../../src/native/plan.js';
import { isTsruncError } from '../../src/errors.js';

const NS = { mnt: 0x20000, uts: 0x04000000, ipc: 0x08000000, user: 0x10000000, pid: 0x20000000, net: 0x40000000 };
const ALL_NEW = NS.user | NS.mnt | NS.pid | NS.uts | NS.ipc | NS.net;
const MS = { nosuid: 2, nodev: 4, noexec: 8, bind: 4096, rec: 16384, slave: 1 << 19 };
const ENOENT = 2;
const ENODEV = 19;
const o = (pointer: string) => ({ pointer });

const skip = !existsSync('/bin/busybox')
  ? 'needs /bin/busybox (apt-get install busybox-static)'
  : spawnSync('unshare', ['-U', '-m', '-p', '-f', 'true']).status !== 0
    ? 'user namespaces are not available to this user'
    : false;

let work = '';
let rootfs = '';
let n = 0;

before(() => {
  if (skip) return;
  work = mkdtempSync(join(tmpdir(), 'tsrunc-native-'));
  rootfs = join(work, 'rootfs');
  for (const d of ['bin', 'proc', 'dev', 'tmp/x', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin/busybox'));
  chmodSync(join(rootfs, 'bin/busybox'), 0o755);
  for (const a of ['sh', 'cat', 'id', 'hostname', 'ls', 'echo', 'kill', 'sleep', 'readlink', 'grep', 'pwd']) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'bin/not-executable'), '#!/bin/sh\n');
  // A hostile mount destination: absolute, and climbing above "/".
  symlinkSync('/../../../tmp/x', join(rootfs, 'escape'));
  mkdirSync(join(work, 'src'));
  writeFileSync(join(work, 'src/marker-file'), 'hello\n');
});

after(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

const mount = (source: string, target: string, fstype: string, flags: number, data = ''): Op => ({
  op: 'mount', source, target, fstype, flags, data, create: 'dir', remountFlags: null, propagation: 0, attrSet: 0,
  attrClr: 0, fallbackBind: null, origin: o(`/mounts${target}`),
});

/** The mounts of a minimal container, before pivot_root. */
function rootSetup(extra: Op[] = []): Op[] {
  return [
    { op: 'prepare-root', rootfs, propagation: MS.rec | MS.slave, origin: o('/root/path') },
    mount('proc', '/proc', 'proc', MS.nosuid | MS.nodev | MS.noexec),
    mount('tmpfs', '/dev', 'tmpfs', MS.nosuid, 'mode=755'),
    ...['null', 'zero', 'urandom'].map((d): Op => ({
      op: 'device', target: `/dev/${d}`, how: 'bind', source: `/dev/${d}`, mode: 0, major: 0, minor: 0, uid: 0, gid: 0,
      origin: o(`/linux/devices/${d}`),
    })),
    ...extra,
    { op: 'pivot-root', origin: o('/root') },
  ];
}

function command(script: string, file = 'sh'): Op[] {
  return [
    { op: 'resolve-exec', file, searchPath: '/bin', origin: o('/process/args/0') },
    { op: 'wait-start', origin: o('/process') },
    { op: 'exec', argv: [file, '-c', script], envp: ['PATH=/bin'], origin: o('/process/args') },
  ];
}

function request(ops: Op[], more: Partial<SpawnRequest> = {}): SpawnRequest & { out: string } {
  const dir = join(work, `c${n++}`);
  mkdirSync(dir);
  return {
    newNamespaces: ALL_NEW, joinNamespaces: [], preserveFds: 0, startSocketPath: join(dir, 'start.sock'), ops,
    out: join(dir, 'out'), ...more,
  };
}

/** Single-ID maps of the caller's own ids: what an unprivileged user may write without newuidmap. */
function writeMaps(pid: number): void {
  writeFileSync(`/proc/${pid}/setgroups`, 'deny');
  writeFileSync(`/proc/${pid}/gid_map`, `0 ${process.getgid!()} 1`);
  writeFileSync(`/proc/${pid}/uid_map`, `0 ${process.getuid!()} 1`);
}

/** Spawns with stdout (and stderr) into req.out, writes the maps, says go; the child's first message. */
function start(req: SpawnRequest & { out: string }, maps = (req.newNamespaces & NS.user) !== 0): { s: Spawned; first: native.ChildMessage } {
  const fd = openSync(req.out, 'w');
  let s: Spawned;
  try {
    s = native.spawn({ ...req, stdio: [-1, fd, fd] });
  } finally {
    closeSync(fd);
  }
  if (maps) writeMaps(s.pid);
  native.go(s);
  return { s, first: native.nextMessage(s, 10_000) };
}

/** Runs a container to its end: the exit status and what it printed. */
async function run(req: SpawnRequest & { out: string }): Promise<{ code: number; signal: number | null; out: string }> {
  const { s, first } = start(req);
  try {
    assert.deepEqual(first, { type: 'ready' });
    assert.deepEqual(native.release(req.startSocketPath), { ok: true });
    const exit = await native.waitExit(s.pidfd);
    return { ...exit, out: readFileSync(req.out, 'utf8') };
  } finally {
    native.closeFd(s.pidfd);
    native.closeFd(s.syncFd);
  }
}

/** Expects the child to fail before READY; returns the error and reaps it. */
async function failure(req: SpawnRequest & { out: string }, maps?: boolean): Promise<native.ChildMessage & { code: number }> {
  const { s, first } = start(req, maps);
  const exit = await native.waitExit(s.pidfd);
  native.closeFd(s.pidfd);
  native.closeFd(s.syncFd);
  return { ...first, code: exit.code };
}

test('a busybox container: namespaces, maps, mounts, pivot_root, hostname', { skip }, async () => {
  const ops = [
    ...rootSetup(),
    { op: 'mask', path: '/proc/kcore', origin: o('/linux/maskedPaths/0') },
    { op: 'mask', path: '/proc/no-such-file', origin: o('/linux/maskedPaths/1') },
    { op: 'readonly', path: '/proc/sys', origin: o('/linux/readonlyPaths/0') },
    { op: 'sethostname', name: 'tsrunc-native', origin: o('/hostname') },
    { op: 'loopback-up', origin: o('/linux/namespaces') },
    ...command('hostname; id -u; cat /proc/self/uid_map; echo $$; cat /dev/null; ' +
      'test -s /proc/kcore && echo kcore-visible; { echo x > /proc/sys/kernel/hostname; } 2>/dev/null || echo sys-ro; ' +
      'cat /proc/net/dev | grep -q "lo:" && echo lo'),
  ] satisfies Op[];
  const r = await run(request(ops));
  assert.equal(r.code, 0, r.out);
  const uid = process.getuid!();
  assert.equal(r.out, `tsrunc-native\n0\n${'0'.padStart(10)}${String(uid).padStart(11)}${'1'.padStart(11)}\n1\nsys-ro\nlo\n`);
});

test('a failing mount reports its op index, errno and step', { skip }, async () => {
  const ops = rootSetup([mount('nothing', '/mnt', 'no-such-fs', 0)]);
  const index = ops.findIndex((op) => op.op === 'mount' && op.fstype === 'no-such-fs');
  const req = request([...ops, ...command('true')]);
  const r = await failure(req);
  assert.deepEqual(r, { type: 'error', index, errno: ENODEV, step: 'mount', code: 1 });
  assert.equal(native.describeChildError(req, { index, errno: ENODEV, step: 'mount' }),
    '/mounts/mnt: mount: ENODEV (No such device)');
});

test('a missing binary is reported at resolve-exec, before the start barrier', { skip }, async () => {
  const ops = [...rootSetup(), ...command('true', 'no-such-binary')];
  const index = ops.findIndex((op) => op.op === 'resolve-exec');
  assert.deepEqual(await failure(request(ops)), { type: 'error', index, errno: ENOENT, step: 'lookup', code: 1 });
  const noexec = [...rootSetup(), ...command('true', 'not-executable')];
  assert.deepEqual(await failure(request(noexec)), { type: 'error', index, errno: 13, step: 'lookup', code: 1 });
});

test('a symlinked mount destination cannot leave the rootfs', { skip }, async () => {
  const bind: Op = { ...(mount(join(work, 'src'), '/escape', '', MS.bind | MS.rec) as Extract<Op, { op: 'mount' }>) };
  const r = await run(request([...rootSetup([bind]), ...command('ls /tmp/x; ls /escape')]));
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, 'marker-file\nmarker-file\n');
  assert.equal(existsSync('/tmp/x/marker-file'), false);
});

test('fds of the parent do not leak into the container; preserved ones do', { skip }, async () => {
  const leaked = openSync(work, 'r');
  try {
    const r = await run(request([...rootSetup(), ...command('ls /proc/self/fd')]));
    assert.equal(r.code, 0, r.out);
    // busybox ls itself holds the directory open as fd 3.
    assert.deepEqual(r.out.trim().split('\n').map(Number), [0, 1, 2, 3]);
    assert.ok(leaked > 3);
  } finally {
    closeSync(leaked);
  }
  // preserveFds: 1 hands on the parent's fd 3 (one of Node's own here), whatever it is.
  const r = await run(request([...rootSetup(), ...command('readlink /proc/self/fd/3; ls /proc/self/fd')], { preserveFds: 1 }));
  assert.equal(r.code, 0, r.out);
  const [link, ...fds] = r.out.trim().split('\n');
  assert.equal(link, readlinkSync('/proc/self/fd/3'));
  assert.deepEqual(fds.map(Number), [0, 1, 2, 3, 4]);
});

test('exit codes arrive through waitExit, 128+signal when killed', { skip }, async () => {
  assert.deepEqual(await run(request([...rootSetup(), ...command('exit 3')])), { code: 3, signal: null, out: '' });
  // Not the init of a pid namespace (which ignores signals it has no handler for): killed by itself.
  const noProc = rootSetup().filter((op) => !(op.op === 'mount' && op.fstype === 'proc')); // proc needs its pid ns
  const noPidNs = request([...noProc, ...command('kill -9 $$')], { newNamespaces: ALL_NEW & ~NS.pid });
  assert.deepEqual(await run(noPidNs), { code: 137, signal: 9, out: '' });
  // An init killed from outside while it runs.
  const req = request([...rootSetup(), ...command('exec sleep 60')]);
  const { s, first } = start(req);
  assert.deepEqual(first, { type: 'ready' });
  assert.deepEqual(native.release(req.startSocketPath), { ok: true });
  const exit = native.waitExit(s.pidfd);
  native.pidfdSignal(s.pidfd, 9);
  assert.deepEqual(await exit, { code: 137, signal: 9 });
  native.closeFd(s.pidfd);
  native.closeFd(s.syncFd);
});

test('process ops: mkdir, symlink, read-only root, rlimit, umask, chdir, caps, no_new_privs, oom score', { skip }, async () => {
  const caps = (1n << 0n) | (1n << 5n) | (1n << 10n); // CHOWN, KILL, NET_BIND_SERVICE
  const ops: Op[] = [
    ...rootSetup([{ op: 'symlink', target: '/etc/link', linkTo: '/tmp/x', origin: o('/link') }]),
    { op: 'mkdir', path: '/work/sub', mode: 0o750, origin: o('/process/cwd') },
    { op: 'readonly-root', origin: o('/root/readonly') },
    { op: 'oom-score-adj', value: 500, origin: o('/process/oomScoreAdj') },
    { op: 'rlimit', resource: 7, soft: 123n, hard: 456n, origin: o('/process/rlimits/0') },
    { op: 'umask', mask: 0o27, origin: o('/process/user/umask') },
    { op: 'chdir', path: '/work/sub', origin: o('/process/cwd') },
    { op: 'cap-bounding', keep: caps, origin: o('/process/capabilities/bounding') },
    { op: 'keep-caps', on: true, origin: o('/process/user') },
    { op: 'setresgid', gid: 0, origin: o('/process/user/gid') },
    { op: 'setresuid', uid: 0, origin: o('/process/user/uid') },
    { op: 'keep-caps', on: false, origin: o('/process/user') },
    { op: 'capset', effective: caps, permitted: caps, inheritable: caps, origin: o('/process/capabilities') },
    { op: 'ambient', raise: 1n << 10n, origin: o('/process/capabilities/ambient') },
    { op: 'no-new-privs', origin: o('/process/noNewPrivileges') },
    ...command('pwd; umask; ulimit -n; ulimit -Hn; cat /proc/self/oom_score_adj; readlink /etc/link; ' +
      'grep -E "^(CapBnd|CapEff|CapAmb|NoNewPrivs)" /proc/self/status; { echo > /x; } 2>/dev/null || echo ro-root'),
  ];
  const r = await run(request(ops));
  assert.equal(r.code, 0, r.out);
  assert.equal(r.out, [
    '/work/sub', '0027', '123', '456', '500', '/tmp/x', 'CapEff:\t0000000000000421', 'CapBnd:\t0000000000000421',
    'CapAmb:\t0000000000000400', 'NoNewPrivs:\t1', 'ro-root', '',
  ].join('\n'));
});

// mknod belongs to the root suite (CI runs it as root); a rootless caller can only bind devices.
if (process.getuid!() === 0) {
  test('mknod devices (root without a user namespace)', { skip }, async () => {
    const dev: Op = { op: 'device', target: '/dev/mynull', how: 'mknod', source: '', mode: 0o20640, major: 1, minor: 3, uid: 0, gid: 5, origin: o('/linux/devices/0') };
    const r = await run(request([...rootSetup([dev]), ...command('ls -ln /dev/mynull; echo hi > /dev/mynull && echo ok')], { newNamespaces: ALL_NEW & ~NS.user }));
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /^crw-r-----\s+1 0\s+5\s+1,\s+3 .* \/dev\/mynull\nok\n$/);
  });
}

test('sync points stop the child until go', { skip }, async () => {
  const req = request([...rootSetup(), { op: 'sync', tag: 42, origin: o('/hooks') }, ...command('echo after')]);
  const { s, first } = start(req);
  assert.deepEqual(first, { type: 'sync', tag: 42 });
  native.go(s);
  assert.deepEqual(native.nextMessage(s, 10_000), { type: 'ready' });
  assert.deepEqual(native.release(req.startSocketPath), { ok: true });
  assert.deepEqual(await native.waitExit(s.pidfd), { code: 0, signal: null });
  assert.equal(readFileSync(req.out, 'utf8'), 'after\n');
  native.closeFd(s.pidfd);
  native.closeFd(s.syncFd);
});

test('joining namespaces: setns, unshare, and the double fork into a new pid namespace', { skip }, async () => {
  // A: a holder of a user and a uts namespace, parked at its start barrier.
  const a = request([{ op: 'sethostname', name: 'shared-uts', origin: o('/hostname') }, { op: 'wait-start', origin: o('/process') }], {
    newNamespaces: NS.user | NS.uts,
  });
  const fd = openSync(a.out, 'w');
  const sa = native.spawn({ ...a, stdio: [-1, fd, fd] });
  closeSync(fd);
  writeMaps(sa.pid);
  // Open A's namespaces while it is still dumpable (before go).
  const userFd = openSync(`/proc/${sa.pid}/ns/user`, 'r');
  const utsFd = openSync(`/proc/${sa.pid}/ns/uts`, 'r');
  try {
    native.go(sa);
    assert.deepEqual(native.nextMessage(sa, 10_000), { type: 'ready' });
    // B: joins A's user and uts namespaces, makes its own mount and pid namespaces.
    const b = request([...rootSetup(), ...command('hostname; echo $$; cat /proc/self/uid_map')], {
      newNamespaces: NS.mnt | NS.pid,
      joinNamespaces: [{ flag: NS.user, fd: userFd, origin: o('/linux/namespaces/0') }, { flag: NS.uts, fd: utsFd, origin: o('/linux/namespaces/1') }],
    });
    const { s, first } = start(b, false);
    try {
      assert.deepEqual(first, { type: 'ready' });
      assert.notEqual(s.pid, 0);
      assert.match(readFileSync(`/proc/${s.pid}/status`, 'utf8'), new RegExp(`PPid:\\s+${process.pid}\\n`));
      assert.deepEqual(native.release(b.startSocketPath), { ok: true });
      assert.deepEqual(await native.waitExit(s.pidfd), { code: 0, signal: null });
      const uid = process.getuid!();
      assert.equal(readFileSync(b.out, 'utf8'), `shared-uts\n1\n${'0'.padStart(10)}${String(uid).padStart(11)}${'1'.padStart(11)}\n`);
    } finally {
      native.closeFd(s.pidfd);
      native.closeFd(s.syncFd);
    }
    // A bad join fd is reported against its joinNamespaces entry.
    const bad = request(rootSetup(), {
      newNamespaces: NS.mnt,
      joinNamespaces: [{ flag: NS.user, fd: userFd, origin: o('/linux/namespaces/0') }, { flag: NS.net, fd: utsFd, origin: o('/linux/namespaces/1') }],
      startSocketPath: '',
    });
    const r = await failure(bad, false);
    assert.deepEqual(r, { type: 'error', index: -3, errno: 22, step: 'setns', code: 1 });
    assert.equal(native.describeChildError(bad, r).split(':')[0], '/linux/namespaces/1');
  } finally {
    closeSync(userFd);
    closeSync(utsFd);
    native.abort(sa);
  }
});

test('the C core refuses a damaged plan before cloning', { skip }, () => {
  const req = request([...rootSetup(), ...command('true')]);
  const good = encodePlan(req);
  const b = good.slice();
  // Point op 1's target string past the end of the buffer.
  new DataView(b.buffer).setUint32((HEADER_SLOTS + OP_SLOTS + 2) * 8, b.byteLength + 64, true);
  assert.throws(() => native.spawnEncoded(b, req), (e) => isTsruncError(e, 'internal') && /ops\[1\] \(mount\)/.test(e.message));
  assert.throws(() => native.spawnEncoded(good.slice(0, 100), req), (e) => isTsruncError(e, 'internal'));
  assert.equal(existsSync(req.startSocketPath), false);
});

test('release reports a connect failure and an execve failure', { skip }, async () => {
  const missing = native.release(join(work, 'no-such.sock'));
  assert.deepEqual(missing, { ok: false, errno: ENOENT, step: 'connect' });
  // exec a file that is not there after resolve-exec (it was removed in between by a sync point).
  const victim = join(rootfs, 'bin/vanishing');
  copyFileSync(join(rootfs, 'bin/busybox'), victim);
  chmodSync(victim, 0o755);
  const req = request([
    ...rootSetup(),
    { op: 'resolve-exec', file: 'vanishing', searchPath: '/bin', origin: o('/process/args/0') },
    { op: 'sync', tag: 1, origin: o('/hooks') },
    { op: 'wait-start', origin: o('/process') },
    { op: 'exec', argv: ['vanishing'], envp: [], origin: o('/process/args') },
  ]);
  const { s, first } = start(req);
  assert.deepEqual(first, { type: 'sync', tag: 1 });
  rmSync(victim);
  native.go(s);
  assert.deepEqual(native.nextMessage(s, 10_000), { type: 'ready' });
  assert.deepEqual(native.release(req.startSocketPath), { ok: false, errno: ENOENT, step: 'execve' });
  assert.deepEqual(await native.waitExit(s.pidfd), { code: 127, signal: null });
  native.closeFd(s.pidfd);
  native.closeFd(s.syncFd);
});

test('abort kills and reaps a child waiting for go, and errno helpers name errors', { skip }, () => {
  const req = request([...rootSetup(), ...command('true')]);
  const s = native.spawn(req);
  const pid = s.pid;
  native.abort(s);
  assert.equal(existsSync(`/proc/${pid}`), false);
  assert.throws(() => native.pidfdOpen(pid), (e) => isTsruncError(e, 'not-found'));
  assert.equal(native.errnoName(2), 'ENOENT');
  assert.equal(native.strerror(2), 'No such file or directory');
  const lock = openSync(join(work, 'lock'), 'w');
  const lock2 = openSync(join(work, 'lock'), 'r');
  assert.equal(native.flock(lock, true, false), true);
  assert.equal(native.flock(lock2, true, false), false);
  closeSync(lock);
  assert.equal(native.flock(lock2, false, true), true);
  closeSync(lock2);
  assert.ok(readdirSync(work).length > 0);
});

/** test/integration/spawner/spawner.c linked against helpers/build/libtsrunc.so; undefined without cc. */
function buildSpawner(): string | undefined {
  let root = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(root, 'helpers', 'build', 'libtsrunc.so'))) root = dirname(root);
  const out = join(work, 'spawner');
  const lib = join(root, 'helpers', 'build');
  const r = spawnSync('cc', ['-O2', '-Wall', '-o', out, join(root, 'test', 'integration', 'spawner', 'spawner.c'), `-L${lib}`, '-ltsrunc', `-Wl,-rpath,${lib}`], { encoding: 'utf8' });
  assert.equal(r.status, 0, `cc (gcc, libc6-dev): ${r.stderr}`);
  return out;
}

test('a spawner clones the child: its parent, with its preserved fd, fds sent along, and its reaper', { skip }, async () => {
  const spawner = buildSpawner()!;
  const [mine, theirs] = native.seqpacketPair();
  const marker = openSync(join(work, 'spawner-marker'), 'w');
  const child = spawnProcess(spawner, [], { stdio: ['ignore', 'pipe', 'inherit', marker, theirs] });
  closeSync(marker);
  native.closeFd(theirs);
  let report = '';
  child.stdout!.on('data', (d: Buffer) => (report += d));
  const ended = new Promise((resolve) => child.on('exit', resolve));

  const req = request([...rootSetup(), ...command('readlink /proc/self/fd/3; ls /proc/self/fd; exit 3')], { preserveFds: 1 });
  const dirFd = openSync(dirname(req.out), 'r');
  const out = openSync(req.out, 'w');
  let s: Spawned;
  try {
    // The start socket path names a dir fd of ours and stdio names another fd: both are sent along.
    s = native.spawnVia(mine, { ...req, startSocketPath: `/proc/self/fd/${dirFd}/start.sock`, stdio: [-1, out, out] });
  } finally {
    closeSync(out);
    closeSync(dirFd);
  }
  const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${s.pid}/status`, 'utf8'))?.[1];
  assert.equal(Number(ppid), child.pid, 'the spawner is the parent of the container process');
  if (req.newNamespaces & NS.user) writeMaps(s.pid);
  native.go(s);
  assert.deepEqual(native.nextMessage(s, 10_000), { type: 'ready' });
  assert.deepEqual(native.release(req.startSocketPath), { ok: true });
  native.closeFd(s.pidfd);
  native.closeFd(s.syncFd);
  native.closeFd(mine); // the spawner sees EOF, reaps, reports
  await ended;
  assert.deepEqual(report.trim().split('\n'), [`spawned ${s.pid}`, `exit ${s.pid} 3`]);
  const [link, ...fds] = readFileSync(req.out, 'utf8').trim().split('\n');
  assert.equal(link, join(work, 'spawner-marker'));
  assert.deepEqual(fds.map(Number), [0, 1, 2, 3, 4], 'stdio, the preserved fd and ls\'s own: nothing of the spawner');
});

test('a spawner answers a plan it cannot run with the error, and spawnVia reports a vanished spawner', { skip }, async () => {
  const spawner = buildSpawner()!;
  const [mine, theirs] = native.seqpacketPair();
  const child = spawnProcess(spawner, [], { stdio: ['ignore', 'pipe', 'inherit', 'ignore', theirs] });
  native.closeFd(theirs);
  const ended = new Promise((resolve) => child.on('exit', resolve));
  const req = request([...rootSetup(), ...command('true')]);
  writeFileSync(req.startSocketPath, ''); // the start socket path is taken
  assert.throws(() => native.spawnVia(mine, req), (e) => isTsruncError(e, 'exists'));
  native.closeFd(mine);
  await ended;
  const [again, gone] = native.seqpacketPair();
  native.closeFd(gone);
  assert.throws(() => native.spawnVia(again, request(command('true'))), /gone/);
  native.closeFd(again);
});
