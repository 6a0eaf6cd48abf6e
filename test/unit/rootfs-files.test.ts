import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveInRoot, readRootfsFile, lookupExecUser } from '../../src/linux/rootfs-files.js';

test('symlinks in the rootfs resolve inside it, never to the host', () => {
  const host = mkdtempSync(join(tmpdir(), 'tsrunc-rootfs-'));
  try {
    const rootfs = join(host, 'rootfs');
    mkdirSync(join(rootfs, 'etc'), { recursive: true });
    writeFileSync(join(host, 'secret'), 'host secret');
    writeFileSync(join(rootfs, 'secret'), 'inside');
    symlinkSync('/secret', join(rootfs, 'etc', 'abs'));
    symlinkSync('../../../../secret', join(rootfs, 'etc', 'rel'));
    symlinkSync('loop', join(rootfs, 'etc', 'loop'));
    assert.equal(readRootfsFile(rootfs, '/etc/abs'), 'inside');
    assert.equal(readRootfsFile(rootfs, '/etc/rel'), 'inside');
    assert.equal(readRootfsFile(rootfs, '/../secret'), 'inside');
    assert.equal(resolveInRoot(rootfs, '/etc/loop'), null);
    assert.equal(readRootfsFile(rootfs, '/etc/missing'), '');
    assert.equal(readRootfsFile(rootfs, '/etc'), '', 'a directory is not read');
  } finally {
    rmSync(host, { recursive: true, force: true });
  }
});

test('HOME and supplementary groups come from passwd and group as runc reads them', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nbad line\n';
  const group = 'root:x:0:\nwheel:x:10:root,alice\naudio:x:29: root \nnogroup:x:65534:\n';
  assert.deepEqual(lookupExecUser(passwd, group, 0), { home: '/root', groups: [10, 29] });
  assert.deepEqual(lookupExecUser(passwd, group, 65534), { home: '/nonexistent', groups: [] });
  assert.deepEqual(lookupExecUser(passwd, group, 1234), { home: '/', groups: [] });
  assert.deepEqual(lookupExecUser('', '', 0), { home: '/', groups: [] });
});
