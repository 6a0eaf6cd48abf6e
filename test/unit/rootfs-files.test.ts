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

test('HOME comes from passwd as runc reads it', () => {
  const passwd = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nbad line\n';
  assert.deepEqual(lookupExecUser(passwd, 0), { home: '/root' });
  assert.deepEqual(lookupExecUser(passwd, 65534), { home: '/nonexistent' });
  assert.deepEqual(lookupExecUser(passwd, 1234), { home: '/' });
  assert.deepEqual(lookupExecUser('', 0), { home: '/' });
});
