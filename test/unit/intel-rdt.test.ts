// linux.intelRdt: finding resctrl, the group a container gets and the schemata written into it (pure),
// and which group delete removes. This host has no resctrl: the writes are checked in a plain directory
// standing in for a group, which shows the file logic, not the kernel's resctrl.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyRdt, rdtPlan, removeRdt, resctrlMount } from '../../src/linux/intel-rdt.js';
import { isTsruncError } from '../../src/errors.js';

const HOST = { root: '/sys/fs/resctrl', l3: true, mb: true };

test('resctrl is found in mountinfo by its type, wherever it is mounted', () => {
  const mi = [
    '22 1 0:21 / /proc rw,nosuid - proc proc rw',
    '45 22 0:40 / /sys/fs/resctrl rw,relatime shared:20 - resctrl resctrl rw,mba_MBps',
    '',
  ].join('\n');
  assert.equal(resctrlMount(mi), '/sys/fs/resctrl');
  assert.equal(resctrlMount('45 22 0:40 / /mnt/rdt\\040x rw - resctrl resctrl rw'), '/mnt/rdt x');
  assert.equal(resctrlMount('22 1 0:21 / /proc rw,nosuid - proc proc rw'), null);
});

test('the group: closID (shared, kept at delete) or the container id (its own, removed)', () => {
  assert.deepEqual(rdtPlan({ closID: 'gold' }, 'c1', HOST), { dir: '/sys/fs/resctrl/gold', schemata: null, remove: false });
  assert.deepEqual(rdtPlan({}, 'c1', HOST), { dir: '/sys/fs/resctrl/c1', schemata: null, remove: true });
  assert.deepEqual(rdtPlan({ closID: '' }, 'c1', HOST).dir, '/sys/fs/resctrl/c1');
});

test('schemata: the L3 line, the MB line, then the schemata lines, one per line', () => {
  const p = rdtPlan({ l3CacheSchema: 'L3:0=7f0;1=1f', memBwSchema: 'MB:0=20;1=70', schemata: ['L2:0=ff', ''] }, 'c1', HOST);
  assert.equal(p.schemata, 'L3:0=7f0;1=1f\nMB:0=20;1=70\nL2:0=ff\n');
  assert.throws(() => rdtPlan({ schemata: ['L3:0=1\nMB:0=1'] }, 'c1', HOST), (e) => isTsruncError(e, 'invalid-config') && /schema line 1/.test(e.message));
});

test("what the host lacks is a clear error naming the field (runc's validator)", () => {
  assert.throws(() => rdtPlan({ closID: 'x' }, 'c1', null), (e) => isTsruncError(e, 'host-not-ready') && /^config\.json: \/linux\/intelRdt: this host has no resctrl/.test(e.message));
  assert.throws(() => rdtPlan({ l3CacheSchema: 'L3:0=1' }, 'c1', { ...HOST, l3: false }), /\/linux\/intelRdt\/l3CacheSchema: .*CAT/);
  assert.throws(() => rdtPlan({ memBwSchema: 'MB:0=1' }, 'c1', { ...HOST, mb: false }), /\/linux\/intelRdt\/memBwSchema: .*MBA/);
  assert.throws(() => rdtPlan({ enableCMT: true }, 'c1', HOST), (e) => isTsruncError(e, 'not-supported') && /enableCMT/.test(e.message));
});

test('apply writes schemata then tasks; delete removes only a group it made', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsrunc-rdt-'));
  try {
    const own = applyRdt({ dir: join(root, 'c1'), schemata: 'L3:0=f\n', remove: true }, 1234);
    assert.deepEqual(own, { dir: join(root, 'c1'), remove: true });
    assert.equal(readFileSync(join(root, 'c1', 'schemata'), 'utf8'), 'L3:0=f\n');
    assert.equal(readFileSync(join(root, 'c1', 'tasks'), 'utf8'), '1234');
    mkdirSync(join(root, 'shared'));
    assert.deepEqual(applyRdt({ dir: join(root, 'shared'), schemata: null, remove: true }, 1), { dir: join(root, 'shared'), remove: false });
    removeRdt({ dir: join(root, 'shared'), remove: false });
    assert.ok(existsSync(join(root, 'shared')));
    removeRdt({ dir: join(root, 'gone'), remove: true }); // already gone: fine
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
