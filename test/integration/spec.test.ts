// `tsrunc spec` writes a config that runs as generated, and the same bundle runs the same under runc:
// the rootless one (`spec --rootless`) as an unprivileged user, the plain one as root.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, makeBundle, missingPrerequisites, runRuntime, uniqueId, tempDir, IS_ROOT } from './harness.js';

after(cleanup);
const missing = missingPrerequisites();
if (missing) throw new Error(missing);

const PROBE = 'id -u; id -g; hostname; grep -E "^(Uid|Gid|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):" /proc/self/status';

/** A busybox bundle whose config.json is exactly what `tsrunc spec [--rootless]` wrote, with our args. */
async function specBundle(): Promise<string> {
  const bundle = makeBundle({ args: ['true'], noConfig: true });
  const r = await runRuntime('tsrunc', IS_ROOT ? ['spec', '--bundle', bundle.dir] : ['spec', '--rootless', '--bundle', bundle.dir]);
  assert.equal(r.code, 0, r.stderr);
  const config = JSON.parse(readFileSync(bundle.configPath, 'utf8')) as { process: { args: string[]; terminal: boolean } };
  config.process.args = ['sh', '-c', PROBE];
  // spec writes terminal: true, as runc's; these runs have no terminal to relay (tty.test.ts has them).
  assert.equal(config.process.terminal, true);
  config.process.terminal = false;
  writeFileSync(bundle.configPath, JSON.stringify(config, null, '\t'));
  return bundle.dir;
}

test(`the config of \`tsrunc spec${IS_ROOT ? '' : ' --rootless'}\` runs, and runc prints the same ids, hostname, capabilities and NoNewPrivs`, async () => {
  const dir = await specBundle();
  const t = await runRuntime('tsrunc', ['run', '--bundle', dir, uniqueId('spec')]);
  const r = await runRuntime('runc', ['run', '--bundle', dir, uniqueId('spec')], { cwd: dir });
  assert.equal(r.code, 0, `runc: ${r.stderr}`);
  assert.equal(t.code, 0, `tsrunc: ${t.stderr}`);
  assert.equal(t.stdout, r.stdout);
  assert.match(t.stdout, /^0\n0\ntsrunc\n/);
  assert.match(t.stdout, /^NoNewPrivs:\s+1$/m);
  assert.match(t.stdout, /^CapEff:\s+0000000020000420$/m);
});

test('spec refuses to overwrite a config.json, and names a missing bundle', async () => {
  const dir = tempDir('spec-twice');
  writeFileSync(join(dir, 'config.json'), '{}');
  const twice = await runRuntime('tsrunc', ['spec', '--bundle', dir]);
  assert.equal(twice.code, 1);
  assert.equal(twice.stderr, `tsrunc: ${join(dir, 'config.json')} exists: remove it first\n`);
  rmSync(dir, { recursive: true });
  const gone = await runRuntime('tsrunc', ['spec', '--bundle', dir]);
  assert.equal(gone.code, 1);
  assert.equal(gone.stderr, `tsrunc: --bundle: ${dir}: no such directory\n`);
});

if (!IS_ROOT) {
  test('with full mappings tsrunc drops the caller\'s host groups (runc keeps them, mapped or not)', async () => {
    const dir = await specBundle();
    const config = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { process: { args: string[] }; linux: { uidMappings: unknown[] } };
    assert.ok(config.linux.uidMappings.length > 1, 'spec --rootless wrote the subordinate range');
    config.process.args = ['sh', '-c', 'grep ^Groups: /proc/self/status'];
    writeFileSync(join(dir, 'config.json'), JSON.stringify(config));
    const t = await runRuntime('tsrunc', ['run', '--bundle', dir, uniqueId('groups')]);
    const r = await runRuntime('runc', ['run', '--bundle', dir, uniqueId('groups')], { cwd: dir });
    assert.equal(t.code, 0, t.stderr);
    assert.equal(t.stdout.trim(), 'Groups:', 'no supplementary group but the configured ones (none)');
    assert.notEqual(r.stdout.trim(), 'Groups:', 'runc leaves the host groups in place');
  });
}
