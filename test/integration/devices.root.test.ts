// Device cgroup rules as root, side by side with runc (which uses the v1 devices controller on a hybrid
// host, tsrunc an eBPF filter on the cgroup2 hierarchy): a device node the container makes itself is
// usable only as the rules (plus runc's always-allowed devices) say; update swaps the filter.
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { expectSame, cleanup, makeBundle, runRuntime, freshStateRoot, uniqueId, type Spec } from './harness.js';

afterEach(cleanup);
after(cleanup);

// /dev/kmsg (1:11) is no default device: made with mknod (allowed for any device), then opened for
// writing (": >" writes nothing; reading it would need CAP_SYSLOG whatever the rules say).
const PROBE = [
  'sh',
  '-c',
  'mknod /dev/k c 1 11 && echo mknod || exit 9; (: > /dev/k) 2>/dev/null && echo write; (: > /dev/null) && echo null; (: < /dev/urandom) && echo urandom; true',
];

/** mknod needs CAP_MKNOD, which runc's reference spec leaves out. */
const withMknod = (c: Spec) => {
  const caps = c.process!.capabilities!;
  for (const set of ['bounding', 'effective', 'permitted'] as const) caps[set] = [...(caps[set] ?? []), 'CAP_MKNOD'];
};

const withRules = (rules: unknown[]) => (c: Spec) => {
  withMknod(c);
  c.linux!.resources = { devices: rules };
};

test('root: with no device rules, only the default devices are usable (runc: the same)', async () => {
  const r = await expectSame({ args: PROBE, mutate: withMknod });
  assert.equal(r.tsrunc.stdout, 'mknod\nnull\nurandom\n');
});

test("root: containerd's rules plus a write allowance for 1:11, then a read-only one (runc: the same)", async () => {
  const rules = (access: string) => [
    { allow: false, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 3, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 9, access: 'rwm' },
    { allow: true, type: 'c', major: 1, minor: 11, access },
  ];
  assert.equal((await expectSame({ args: PROBE, mutate: withRules(rules('w')) })).tsrunc.stdout, 'mknod\nwrite\nnull\nurandom\n');
  assert.equal((await expectSame({ args: PROBE, mutate: withRules(rules('r')) })).tsrunc.stdout, 'mknod\nnull\nurandom\n');
});

test('root: allow everything, then take writing to 1:11 away (runc: the same)', async () => {
  const all = { allow: true, access: 'rwm' };
  assert.equal((await expectSame({ args: PROBE, mutate: withRules([all]) })).tsrunc.stdout, 'mknod\nwrite\nnull\nurandom\n');
  const rules = [all, { allow: false, type: 'c', major: 1, minor: 11, access: 'w' }];
  assert.equal((await expectSame({ args: PROBE, mutate: withRules(rules) })).tsrunc.stdout, 'mknod\nnull\nurandom\n');
});

test('root: update -r with new device rules replaces the filter of a running container', async () => {
  const id = uniqueId('devupd');
  const root = freshStateRoot('tsrunc');
  const bundle = makeBundle({ args: ['sh', '-c', 'mknod /dev/k c 1 11; sleep 1000'], mutate: withMknod });
  const tsrunc = (args: string[], input?: string) => runRuntime('tsrunc', args, { root, input });
  assert.equal((await tsrunc(['run', '-d', '--bundle', bundle.dir, id])).code, 0);
  try {
    const probe = async () => (await tsrunc(['exec', id, 'sh', '-c', '(: > /dev/k) 2>/dev/null && echo write; true'])).stdout;
    assert.equal(await probe(), '');
    const upd = await tsrunc(['update', '-r', '-', id], JSON.stringify({ devices: [{ allow: true, type: 'c', major: 1, minor: 11, access: 'w' }] }));
    assert.equal(upd.code, 0, upd.stderr);
    assert.equal(await probe(), 'write\n');
  } finally {
    await tsrunc(['delete', '--force', id]);
  }
});
