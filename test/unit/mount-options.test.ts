import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseMountOptions,
  isBindMount,
  MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC, MS_NOSYMFOLLOW,
  MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_SILENT, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED,
  MS_RELATIME, MS_I_VERSION, MS_STRICTATIME, MS_LAZYTIME,
  MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR__ATIME, MOUNT_ATTR_NOATIME,
  MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOSYMFOLLOW,
} from '../../src/linux/mount-options.js';

test('MS_* and MOUNT_ATTR_* constants have the kernel values', () => {
  assert.deepEqual(
    [MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_SYNCHRONOUS, MS_REMOUNT, MS_MANDLOCK, MS_DIRSYNC, MS_NOSYMFOLLOW, MS_NOATIME, MS_NODIRATIME, MS_BIND],
    [1, 2, 4, 8, 16, 32, 64, 128, 256, 1024, 2048, 4096],
  );
  assert.deepEqual([MS_REC, MS_SILENT, MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED], [1 << 14, 1 << 15, 1 << 17, 1 << 18, 1 << 19, 1 << 20]);
  assert.deepEqual([MS_RELATIME, MS_I_VERSION, MS_STRICTATIME, MS_LAZYTIME], [1 << 21, 1 << 23, 1 << 24, 1 << 25]);
  assert.deepEqual([MOUNT_ATTR_RDONLY, MOUNT_ATTR_NOSUID, MOUNT_ATTR_NODEV, MOUNT_ATTR_NOEXEC, MOUNT_ATTR__ATIME], [1, 2, 4, 8, 0x70]);
  assert.deepEqual([MOUNT_ATTR_NOATIME, MOUNT_ATTR_STRICTATIME, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOSYMFOLLOW], [0x10, 0x20, 0x80, 0x200000]);
});

// Each option of runc's table on its own: [option, flags set, flags cleared].
const FLAG_TABLE: [string, number, number][] = [
  ['async', 0, MS_SYNCHRONOUS],
  ['atime', 0, MS_NOATIME],
  ['bind', MS_BIND, 0],
  ['defaults', 0, 0],
  ['dev', 0, MS_NODEV],
  ['diratime', 0, MS_NODIRATIME],
  ['dirsync', MS_DIRSYNC, 0],
  ['exec', 0, MS_NOEXEC],
  ['iversion', MS_I_VERSION, 0],
  ['lazytime', MS_LAZYTIME, 0],
  ['loud', 0, MS_SILENT],
  ['mand', MS_MANDLOCK, 0],
  ['noatime', MS_NOATIME, 0],
  ['nodev', MS_NODEV, 0],
  ['nodiratime', MS_NODIRATIME, 0],
  ['noexec', MS_NOEXEC, 0],
  ['noiversion', 0, MS_I_VERSION],
  ['nolazytime', 0, MS_LAZYTIME],
  ['nomand', 0, MS_MANDLOCK],
  ['norelatime', 0, MS_RELATIME],
  ['nostrictatime', 0, MS_STRICTATIME],
  ['nosuid', MS_NOSUID, 0],
  ['nosymfollow', MS_NOSYMFOLLOW, 0],
  ['rbind', MS_BIND | MS_REC, 0],
  ['relatime', MS_RELATIME, 0],
  ['remount', MS_REMOUNT, 0],
  ['ro', MS_RDONLY, 0],
  ['rw', 0, MS_RDONLY],
  ['silent', MS_SILENT, 0],
  ['strictatime', MS_STRICTATIME, 0],
  ['suid', 0, MS_NOSUID],
  ['symfollow', 0, MS_NOSYMFOLLOW],
  ['sync', MS_SYNCHRONOUS, 0],
];

for (const [opt, flags, clearFlags] of FLAG_TABLE) {
  test(`flag option "${opt}"`, () => {
    const o = parseMountOptions([opt]);
    assert.equal(o.flags, flags);
    assert.equal(o.clearFlags, clearFlags);
    assert.equal(o.data, '');
    assert.equal(o.propagation, 0);
    assert.equal(o.attrSet | o.attrClr, 0);
  });
}

const PROPAGATION_TABLE: [string, number][] = [
  ['private', MS_PRIVATE],
  ['rprivate', MS_PRIVATE | MS_REC],
  ['shared', MS_SHARED],
  ['rshared', MS_SHARED | MS_REC],
  ['slave', MS_SLAVE],
  ['rslave', MS_SLAVE | MS_REC],
  ['unbindable', MS_UNBINDABLE],
  ['runbindable', MS_UNBINDABLE | MS_REC],
];

for (const [opt, prop] of PROPAGATION_TABLE) {
  test(`propagation option "${opt}"`, () => {
    const o = parseMountOptions([opt]);
    assert.equal(o.propagation, prop);
    assert.deepEqual(o.propagations, [prop]);
    assert.equal(o.flags, 0, 'propagation is not a mount flag');
    assert.equal(o.recursive, false, 'rprivate does not make an rbind');
  });
}

// [option, attrSet, attrClr]
const ATTR_TABLE: [string, number, number][] = [
  ['rro', MOUNT_ATTR_RDONLY, 0],
  ['rrw', 0, MOUNT_ATTR_RDONLY],
  ['rnosuid', MOUNT_ATTR_NOSUID, 0],
  ['rsuid', 0, MOUNT_ATTR_NOSUID],
  ['rnodev', MOUNT_ATTR_NODEV, 0],
  ['rdev', 0, MOUNT_ATTR_NODEV],
  ['rnoexec', MOUNT_ATTR_NOEXEC, 0],
  ['rexec', 0, MOUNT_ATTR_NOEXEC],
  ['rnodiratime', MOUNT_ATTR_NODIRATIME, 0],
  ['rdiratime', 0, MOUNT_ATTR_NODIRATIME],
  // The access-time values need MOUNT_ATTR__ATIME in attr_clr (mount_setattr(2)); relatime is 0.
  ['rrelatime', 0, MOUNT_ATTR__ATIME],
  ['rnorelatime', 0, 0],
  ['rnoatime', MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME],
  ['ratime', 0, MOUNT_ATTR_NOATIME],
  ['rstrictatime', MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME],
  ['rnostrictatime', 0, MOUNT_ATTR_STRICTATIME],
  ['rnosymfollow', MOUNT_ATTR_NOSYMFOLLOW, 0],
  ['rsymfollow', 0, MOUNT_ATTR_NOSYMFOLLOW],
];

for (const [opt, set, clr] of ATTR_TABLE) {
  test(`recursive attribute option "${opt}"`, () => {
    const o = parseMountOptions([opt]);
    assert.equal(o.attrSet, set);
    assert.equal(o.attrClr, clr);
    assert.equal(o.flags, 0);
    assert.equal(o.data, '');
  });
}

test('unknown options go to data, comma-joined, in order', () => {
  const o = parseMountOptions(['nosuid', 'mode=755', 'strictatime', 'size=65536k', 'newinstance', 'x-systemd.automount']);
  assert.equal(o.flags, MS_NOSUID | MS_STRICTATIME);
  assert.equal(o.data, 'mode=755,size=65536k,newinstance,x-systemd.automount');
});

test('later options override earlier ones, as in runc', () => {
  const a = parseMountOptions(['ro', 'rw']);
  assert.equal(a.flags, 0);
  assert.equal(a.clearFlags, MS_RDONLY);
  const b = parseMountOptions(['rw', 'ro']);
  assert.equal(b.flags, MS_RDONLY);
  assert.equal(b.clearFlags, 0);
  const c = parseMountOptions(['rro', 'rrw']);
  assert.deepEqual([c.attrSet, c.attrClr], [0, MOUNT_ATTR_RDONLY]);
  const d = parseMountOptions(['rrw', 'rro']);
  assert.deepEqual([d.attrSet, d.attrClr], [MOUNT_ATTR_RDONLY, 0]);
});

test('several propagation options: all kept in order, the last one is what remains', () => {
  const o = parseMountOptions(['rshared', 'private']);
  assert.deepEqual(o.propagations, [MS_SHARED | MS_REC, MS_PRIVATE]);
  assert.equal(o.propagation, MS_PRIVATE);
});

test('bind and recursive follow the flags', () => {
  assert.deepEqual([parseMountOptions(['bind']).bind, parseMountOptions(['bind']).recursive], [true, false]);
  assert.deepEqual([parseMountOptions(['rbind']).bind, parseMountOptions(['rbind']).recursive], [true, true]);
  assert.deepEqual([parseMountOptions(['ro']).bind, parseMountOptions([]).recursive], [false, false]);
});

test('runc extensions: tmpcopyup, idmap, ridmap are recognised, not passed as data', () => {
  const o = parseMountOptions(['tmpcopyup', 'mode=1777']);
  assert.equal(o.tmpcopyup, true);
  assert.equal(o.data, 'mode=1777');
  assert.deepEqual(parseMountOptions(['bind', 'idmap']).idmap, { recursive: false });
  assert.deepEqual(parseMountOptions(['bind', 'ridmap']).idmap, { recursive: true });
  assert.equal(parseMountOptions(['bind']).idmap, null);
  assert.equal(parseMountOptions(['bind']).tmpcopyup, false);
});

test("runc's default spec mounts", () => {
  const dev = parseMountOptions(['nosuid', 'strictatime', 'mode=755', 'size=65536k']);
  assert.deepEqual([dev.flags, dev.data], [MS_NOSUID | MS_STRICTATIME, 'mode=755,size=65536k']);
  const pts = parseMountOptions(['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
  assert.deepEqual([pts.flags, pts.data], [MS_NOSUID | MS_NOEXEC, 'newinstance,ptmxmode=0666,mode=0620,gid=5']);
  const sys = parseMountOptions(['rbind', 'nosuid', 'noexec', 'nodev', 'ro']);
  assert.deepEqual([sys.flags, sys.data], [MS_BIND | MS_REC | MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RDONLY, '']);
  const cg = parseMountOptions(['nosuid', 'noexec', 'nodev', 'relatime', 'ro']);
  assert.equal(cg.flags, MS_NOSUID | MS_NOEXEC | MS_NODEV | MS_RELATIME | MS_RDONLY);
});

test('option names are case-sensitive, as in runc ("RO" is data)', () => {
  assert.deepEqual([parseMountOptions(['RO']).flags, parseMountOptions(['RO']).data], [0, 'RO']);
});

test('isBindMount', () => {
  assert.equal(isBindMount(['rbind', 'ro']), true);
  assert.equal(isBindMount(['bind']), true);
  assert.equal(isBindMount(['ro']), false);
  assert.equal(isBindMount(undefined), false);
});
