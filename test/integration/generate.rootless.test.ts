// tsrunc generate systemd as an unprivileged user, outside a systemd session: the unit it prints, and
// --install without a user manager to reload (the unit is written; the doctor's hint says why systemctl
// failed). Starting units under a real systemd --user is in systemd-units.session.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, cliScript, makeBundle, runtimeEnv, tempDir, tsruncBin } from './harness.js';

after(cleanup);

function tsrunc(env: NodeJS.ProcessEnv, ...args: string[]) {
  return spawnSync(tsruncBin(), args, { env, encoding: 'utf8', timeout: 30_000 });
}

if (process.getuid?.() !== 0) {
  test('generate systemd prints a unit that runs the bundle with this node and this tsrunc', () => {
    const bundle = makeBundle({ args: ['true'] });
    const r = tsrunc(runtimeEnv(), 'generate', 'systemd', '--bundle', bundle.dir, 'web');
    assert.equal(r.stderr, '');
    assert.equal(r.status, 0);
    const dir = realpathSync(bundle.dir);
    assert.match(r.stdout, new RegExp(`\\nExecStart=${process.execPath} ${realpathSync(cliScript())} run --bundle ${dir} web\\n`));
    assert.match(r.stdout, /\nType=notify\n/);
    assert.match(r.stdout, /\nKillMode=mixed\n/);
  });

  test('generate systemd refuses a bundle without config.json and an invalid name', () => {
    const empty = tempDir('nobundle');
    const a = tsrunc(runtimeEnv(), 'generate', 'systemd', '--bundle', empty, 'web');
    assert.equal(a.status, 1);
    assert.equal(a.stderr, `tsrunc: --bundle: ${join(empty, 'config.json')}: no such file\n`);
    const b = tsrunc(runtimeEnv(), 'generate', 'systemd', '--bundle', empty, 'a/b');
    assert.equal(b.status, 1);
    assert.match(b.stderr, /invalid container id "a\/b"/);
  });

  test('--install without a user manager: the unit is written, and the doctor says what is missing', () => {
    const bundle = makeBundle({ args: ['true'] });
    const config = tempDir('xdgconfig', 0o700);
    const env = runtimeEnv({ XDG_CONFIG_HOME: config });
    delete env.XDG_RUNTIME_DIR;
    delete env.DBUS_SESSION_BUS_ADDRESS;
    const r = tsrunc(env, 'generate', 'systemd', '--bundle', bundle.dir, 'web', '--install');
    const unit = join(config, 'systemd', 'user', 'tsrunc-web.service');
    assert.equal(r.status, 1);
    assert.ok(existsSync(unit));
    assert.match(readFileSync(unit, 'utf8'), /\nExecStart=.* run --bundle .* web\n/);
    const uid = process.getuid!();
    const fix = existsSync(`/run/user/${uid}`) ? `export XDG_RUNTIME_DIR=/run/user/${uid}` : 'log in as';
    assert.match(r.stderr, new RegExp(`^tsrunc: wrote ${unit.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}, but systemctl --user daemon-reload failed: .*\\(not set: .*; fix: ${fix}`));
  });
}
