import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostUid, isFullIdentityMap, isRootless, ownCgroup2Dir, cgroup2MountPoint, unescapeMountPath, type Caller } from '../../src/linux/host.js';

const root: Caller = { uid: 0, gid: 0, isRoot: true, inUserNamespace: false };
const nsRoot: Caller = { uid: 0, gid: 0, isRoot: false, inUserNamespace: true };
const user: Caller = { uid: 1000, gid: 1000, isRoot: false, inUserNamespace: false };

test('the identity map of the initial user namespace is recognised', () => {
  assert.equal(isFullIdentityMap('         0          0 4294967295\n'), true);
  assert.equal(isFullIdentityMap('0 1000 1\n'), false);
  assert.equal(isFullIdentityMap('0 0 4294967295\n1 1 1\n'), false);
});

test('rootless follows runc: non-zero euid, or euid 0 in a user namespace with USER unset or not root', () => {
  assert.equal(isRootless(user, 'auto', {}), true);
  assert.equal(isRootless(root, 'auto', { USER: 'alice' }), false);
  assert.equal(isRootless(nsRoot, 'auto', { USER: 'alice' }), true);
  assert.equal(isRootless(nsRoot, 'auto', { USER: 'root' }), false);
  // conmon passes no USER to the runtime podman runs in its user namespace (runc: !ok || u != "root").
  assert.equal(isRootless(nsRoot, 'auto', {}), true);
  assert.equal(isRootless(nsRoot, 'auto', { USER: '' }), true);
  assert.equal(isRootless(root, 'true', {}), true);
  assert.equal(isRootless(user, 'false', {}), false);
});

const hybrid = [
  '25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755',
  '26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid - cgroup2 cgroup2 rw',
  '27 25 0:24 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
].join('\n');

test('the cgroup2 hierarchy is found on hybrid hosts, with the caller\'s own path', () => {
  assert.equal(cgroup2MountPoint(hybrid), '/sys/fs/cgroup/unified');
  assert.equal(ownCgroup2Dir(hybrid, '1:memory:/x\n0::/user.slice/u.scope\n'), '/sys/fs/cgroup/unified/user.slice/u.scope');
  assert.equal(ownCgroup2Dir(hybrid, '0::/\n'), '/sys/fs/cgroup/unified');
  assert.equal(ownCgroup2Dir('1 2 3:4 / / rw - ext4 /dev/vda rw', '0::/\n'), null);
});

test('mountinfo octal escapes are decoded', () => {
  assert.equal(unescapeMountPath('/a\\040b\\011c\\134d'), '/a b\tc\\d');
});

test('hostUid maps a uid of this namespace one level up through uid_map', () => {
  const podman = '         0       1002          1\n         1     165536      65536\n';
  assert.equal(hostUid(0, podman), 1002);
  assert.equal(hostUid(1, podman), 165536);
  assert.equal(hostUid(1000, podman), 166535);
  assert.equal(hostUid(65537, podman), null);
  assert.equal(hostUid(5, '         0          0 4294967295\n'), 5);
});
