// The plan encoder: every op survives a round trip, and damaged buffers are refused (the C core
// runs the same checks before clone). Pure: no koffi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePlan, encodePlan, HEADER_SLOTS, OP_KINDS, OP_SLOTS } from '../../src/native/encode.js';
import { decodeMessage, MSG_ERROR, MSG_PID, MSG_SIZE, MSG_SYNC } from '../../src/native/sync.js';
import type { Op, SpawnRequest } from '../../src/native/plan.js';
import { isTsruncError } from '../../src/errors.js';

const o = { pointer: '/test' };

/** One of every op kind, with awkward values (u64 extremes, negatives, UTF-8, empty strings). */
const allOps: Op[] = [
  { op: 'prepare-root', rootfs: '/var/lib/ctr/rootfs', propagation: 0x84000, origin: o },
  {
    op: 'mount', source: '/host/dir', target: '/data', fstype: '', flags: 0x5000, data: '', create: 'dir',
    remountFlags: 0x1 | 0x2, propagation: 0x40000, attrSet: 1, attrClr: 0x70, fallbackBind: null, origin: o,
  },
  {
    op: 'mount', source: 'sysfs', target: '/sys', fstype: 'sysfs', flags: 0xf, data: 'size=10k,mode=755', create: 'file',
    remountFlags: null, propagation: 0, attrSet: 0, attrClr: 0, fallbackBind: '/sys', origin: o,
  },
  {
    op: 'mount', source: 'tmpfs', target: '/run', fstype: 'tmpfs', flags: 0x6, data: '', create: 'dir',
    remountFlags: 0x7, propagation: 0, attrSet: 0, attrClr: 0, fallbackBind: null, copyUp: true, origin: o,
  },
  { op: 'device', target: '/dev/fuse', how: 'mknod', source: '', mode: 0o20666, major: 10, minor: 229, uid: 0, gid: 5, origin: o },
  { op: 'device', target: '/dev/null', how: 'bind', source: '/dev/null', mode: 0, major: 1, minor: 3, uid: 0, gid: 0, origin: o },
  { op: 'symlink', target: '/dev/fd', linkTo: '/proc/self/fd', origin: o },
  { op: 'pivot-root', origin: o },
  { op: 'chroot', origin: o },
  { op: 'root-propagation', propagation: 0x80000 | 0x4000, origin: o },
  { op: 'mask', path: '/proc/kcore', origin: o },
  { op: 'readonly', path: '/proc/sys', origin: o },
  { op: 'mkdir', path: '/work/dir', mode: 0o755, origin: o },
  { op: 'readonly-root', origin: o },
  { op: 'sethostname', name: 'hôte-ü', origin: o },
  { op: 'setdomainname', name: '', origin: o },
  { op: 'loopback-up', origin: o },
  { op: 'oom-score-adj', value: -999, origin: o },
  { op: 'rlimit', resource: 7, soft: 1024n, hard: (1n << 64n) - 1n, origin: o },
  { op: 'cap-bounding', keep: (1n << 63n) | 1n, origin: o },
  { op: 'keep-caps', on: true, origin: o },
  { op: 'setgroups', gids: [0, 10, 4294967294], origin: o },
  { op: 'setgroups', gids: [], origin: o },
  { op: 'setresgid', gid: 4294967294, origin: o },
  { op: 'setresuid', uid: 1000, origin: o },
  { op: 'capset', effective: 0xffffffffffn, permitted: 0n, inheritable: 1n << 40n, origin: o },
  { op: 'ambient', raise: 1n << 10n, origin: o },
  { op: 'no-new-privs', origin: o },
  { op: 'umask', mask: 0o22, origin: o },
  { op: 'chdir', path: '/', origin: o },
  { op: 'sync', tag: 7, origin: o },
  { op: 'resolve-exec', file: 'sh', searchPath: '/usr/bin:/bin', origin: o },
  { op: 'wait-start', origin: o },
  { op: 'exec', argv: ['sh', '-c', 'echo "$0" ü', ''], envp: [], origin: o },
];

const req: SpawnRequest = {
  newNamespaces: 0x10000000 | 0x20000,
  joinNamespaces: [{ flag: 0x40000000, fd: 17, origin: o }],
  preserveFds: 2,
  startSocketPath: '/proc/self/fd/9/start.sock',
  stdio: [-1, 12, 13],
  setCtty: true,
  ops: allOps,
};

function stripOrigin(op: Op): unknown {
  const { origin: _origin, ...rest } = op as Op & { origin?: unknown };
  return rest;
}

test('every op kind has a distinct number', () => {
  const nums = Object.values(OP_KINDS);
  assert.equal(new Set(nums).size, nums.length);
  assert.ok(nums.every((n) => n > 0));
});

test('round trip keeps every op and the request fields', () => {
  const buf = encodePlan(req);
  assert.equal(buf.byteLength % 8, 0);
  const back = decodePlan(buf);
  assert.deepEqual(back.ops, allOps.map(stripOrigin));
  assert.equal(back.newNamespaces, req.newNamespaces);
  assert.deepEqual(back.joinNamespaces, [{ flag: 0x40000000, fd: 17 }]);
  assert.equal(back.preserveFds, 2);
  assert.equal(back.startSocketPath, req.startSocketPath);
  assert.deepEqual(back.stdio, [-1, 12, 13]);
  assert.equal(back.setCtty, true);
});

test('defaults: no stdio means inherit, empty start path means none', () => {
  const back = decodePlan(encodePlan({ newNamespaces: 0, joinNamespaces: [], preserveFds: 0, startSocketPath: '', ops: [] }));
  assert.deepEqual(back.stdio, [-1, -1, -1]);
  assert.equal(back.startSocketPath, '');
  assert.equal(back.setCtty, false);
  assert.deepEqual(back.ops, []);
});

test('strings with NUL bytes and non-integer numbers are refused', () => {
  const withNul: SpawnRequest = { ...req, ops: [{ op: 'chdir', path: '/a\0b', origin: o }] };
  assert.throws(() => encodePlan(withNul), (e) => isTsruncError(e, 'invalid-argument'));
  const fraction: SpawnRequest = { ...req, ops: [{ op: 'umask', mask: 1.5, origin: o }] };
  assert.throws(() => encodePlan(fraction), (e) => isTsruncError(e, 'invalid-argument'));
  const huge: SpawnRequest = { ...req, ops: [{ op: 'rlimit', resource: 1, soft: 1n << 64n, hard: 0n, origin: o }] };
  assert.throws(() => encodePlan(huge), (e) => isTsruncError(e, 'invalid-argument'));
});

/** The byte offset of op i's slot s in an encoding of `r`. */
function opSlotOffset(r: SpawnRequest, i: number, s: number): number {
  return (HEADER_SLOTS + r.joinNamespaces.length * 2 + i * OP_SLOTS + s) * 8;
}

test('damaged buffers are refused: truncation, bad magic, length, offsets, missing NUL', () => {
  const good = encodePlan(req);
  const damaged = (f: (b: Uint8Array, v: DataView) => void): Uint8Array => {
    const b = good.slice();
    f(b, new DataView(b.buffer));
    return b;
  };
  const refused = (b: Uint8Array) => assert.throws(() => decodePlan(b), (e) => isTsruncError(e, 'invalid-argument'));
  refused(good.slice(0, 64));
  refused(good.slice(0, good.byteLength - 8));
  refused(damaged((_, v) => v.setUint32(0, 0x12345678, true)));
  refused(damaged((_, v) => v.setBigUint64(8, 8n, true)));
  const chdirAt = allOps.findIndex((op) => op.op === 'chdir');
  // string offset past the end
  refused(damaged((b, v) => v.setUint32(opSlotOffset(req, chdirAt, 1), b.byteLength + 16, true)));
  // string offset into the header
  refused(damaged((_, v) => v.setUint32(opSlotOffset(req, chdirAt, 1), 8, true)));
  // length that swallows the terminating NUL
  refused(damaged((_, v) => v.setUint32(opSlotOffset(req, chdirAt, 1) + 4, 5, true)));
  // op tables larger than the buffer
  refused(damaged((_, v) => v.setBigUint64(5 * 8, 1000000n, true)));
  // unknown op kind
  refused(damaged((_, v) => v.setBigUint64(opSlotOffset(req, 0, 0), 999n, true)));
  // an argv array that runs past the end
  const execAt = allOps.findIndex((op) => op.op === 'exec');
  refused(damaged((_, v) => v.setUint32(opSlotOffset(req, execAt, 1) + 4, 1 << 20, true)));
});

test('sync records decode', () => {
  const rec = (type: number, index: number, errno: number, value: number, step = '') => {
    const b = new Uint8Array(MSG_SIZE);
    const v = new DataView(b.buffer);
    v.setUint32(0, type, true);
    v.setInt32(4, index, true);
    v.setInt32(8, errno, true);
    v.setInt32(12, value, true);
    b.set(new TextEncoder().encode(step), 16);
    return b;
  };
  assert.deepEqual(decodeMessage(rec(MSG_ERROR, 3, 2, 0, 'mount'), MSG_SIZE), { type: 'error', index: 3, errno: 2, step: 'mount' });
  assert.deepEqual(decodeMessage(rec(MSG_ERROR, -2, 1, 0, 'setns'), MSG_SIZE), { type: 'error', index: -2, errno: 1, step: 'setns' });
  assert.deepEqual(decodeMessage(rec(MSG_SYNC, 0, 0, 42), MSG_SIZE), { type: 'sync', tag: 42 });
  assert.deepEqual(decodeMessage(rec(MSG_PID, 0, 0, 4242), MSG_SIZE), { type: 'pid', pid: 4242 });
  assert.deepEqual(decodeMessage(new Uint8Array(MSG_SIZE), 0), { type: 'eof' });
  assert.throws(() => decodeMessage(rec(MSG_SYNC, 0, 0, 1), 8));
});
