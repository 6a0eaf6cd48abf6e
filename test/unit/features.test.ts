// `tsrunc features`: the runtime-spec features.md shape, and nothing claimed that a config is refused for.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { features } from '../../src/cli/features.js';
import { UNSUPPORTED } from '../../src/spec/validate.js';

test('features: the features.md fields, hooks and namespaces listed', () => {
  const f = features() as { ociVersionMin: string; ociVersionMax: string; hooks: string[]; mountOptions: string[]; linux: Record<string, unknown> };
  assert.equal(f.ociVersionMin, '1.0.0');
  assert.match(f.ociVersionMax, /^1\.\d+\.\d+$/);
  assert.deepEqual(f.hooks, ['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  for (const o of ['rbind', 'ro', 'nosuid', 'rprivate', 'rro']) assert.ok(f.mountOptions.includes(o), o);
  assert.ok(f.mountOptions.includes('tmpcopyup'), 'tmpcopyup (for a tmpfs)');
  const linux = f.linux as { namespaces: string[]; capabilities: string[]; apparmor: { enabled: boolean } };
  for (const ns of ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup']) assert.ok(linux.namespaces.includes(ns), ns);
  assert.ok(linux.capabilities.includes('CAP_SYS_ADMIN'));
  assert.equal(linux.apparmor.enabled, !UNSUPPORTED.some((r) => r.field === 'process.apparmorProfile'));
});
