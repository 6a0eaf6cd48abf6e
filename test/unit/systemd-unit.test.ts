// The systemd units `tsrunc generate systemd` writes, and the tsrunc@.service template beside them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { escapeUnitName, quoteExecArg, renderUnit, unitFileName, type UnitOptions } from '../../src/linux/systemd-unit.js';

const base: UnitOptions = {
  name: 'web',
  bundle: '/home/alice/bundles/web',
  tsrunc: ['/usr/bin/node', '/opt/tsrunc/bin/tsrunc'],
  type: 'notify',
  restart: 'on-failure',
  scope: 'user',
};

/** The [Service] section as key → values (keys may repeat). */
function service(text: string): Map<string, string[]> {
  const body = text.split('[Service]\n')[1]!.split('\n[')[0]!;
  const m = new Map<string, string[]>();
  for (const line of body.split('\n')) {
    const i = line.indexOf('=');
    if (i < 0 || line.startsWith('#')) continue;
    m.set(line.slice(0, i), [...(m.get(line.slice(0, i)) ?? []), line.slice(i + 1)]);
  }
  return m;
}

test('a user unit runs the bundle in the foreground with notify, mixed kill, cleanup and restart', () => {
  const text = renderUnit(base);
  const s = service(text);
  assert.deepEqual(s.get('Type'), ['notify']);
  assert.deepEqual(s.get('NotifyAccess'), ['all']);
  assert.deepEqual(s.get('ExecStart'), ['/usr/bin/node /opt/tsrunc/bin/tsrunc run --bundle /home/alice/bundles/web web']);
  assert.deepEqual(s.get('ExecStartPre'), ['-/usr/bin/node /opt/tsrunc/bin/tsrunc delete --force web']);
  assert.deepEqual(s.get('ExecStopPost'), ['-/usr/bin/node /opt/tsrunc/bin/tsrunc delete --force web']);
  assert.deepEqual(s.get('KillMode'), ['mixed']);
  assert.deepEqual(s.get('SuccessExitStatus'), ['143']);
  assert.deepEqual(s.get('Restart'), ['on-failure']);
  assert.deepEqual(s.get('Delegate'), ['yes']);
  assert.match(text, /^\[Unit\]\nDescription=tsrunc container web\nRequiresMountsFor=\/home\/alice\/bundles\/web\n/m);
  assert.match(text, /\[Install\]\nWantedBy=default\.target\n$/);
  assert.match(text, /systemctl --user start tsrunc-web\.service/);
});

test('options: exec type (no NotifyAccess), restart policy, state root, system scope', () => {
  const s = service(renderUnit({ ...base, type: 'exec', restart: 'always', root: '/var/lib/ts', scope: 'system' }));
  assert.deepEqual(s.get('Type'), ['exec']);
  assert.equal(s.get('NotifyAccess'), undefined);
  assert.deepEqual(s.get('Restart'), ['always']);
  assert.deepEqual(s.get('ExecStart'), ['/usr/bin/node /opt/tsrunc/bin/tsrunc --root /var/lib/ts run --bundle /home/alice/bundles/web web']);
  assert.match(renderUnit({ ...base, scope: 'system' }), /WantedBy=multi-user\.target/);
});

test('paths with spaces, quotes, % and $ are quoted and escaped for systemd', () => {
  assert.equal(quoteExecArg('/plain/path'), '/plain/path');
  assert.equal(quoteExecArg('/my bundles/a'), '"/my bundles/a"');
  assert.equal(quoteExecArg('100%'), '100%%');
  assert.equal(quoteExecArg('$HOME'), '$$HOME');
  assert.equal(quoteExecArg('say "hi"\\'), '"say \\"hi\\"\\\\"');
  assert.equal(quoteExecArg(''), '""');
  const s = service(renderUnit({ ...base, bundle: '/srv/my %b' }));
  assert.deepEqual(s.get('ExecStart'), ['/usr/bin/node /opt/tsrunc/bin/tsrunc run --bundle "/srv/my %%b" web']);
});

test('unit names escape what systemd does not allow in them', () => {
  assert.equal(unitFileName('web'), 'tsrunc-web.service');
  assert.equal(unitFileName('a.b_c'), 'tsrunc-a.b_c.service');
  assert.equal(escapeUnitName('a+b-c'), 'a\\x2bb-c');
  assert.equal(escapeUnitName('.x'), '\\x2ex');
});

test('the tsrunc@.service template: the documented bundle directory, notify, mixed kill, delete on stop, restart', () => {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'systemd', 'tsrunc@.service')) && dirname(dir) !== dir) dir = dirname(dir);
  const text = readFileSync(join(dir, 'systemd', 'tsrunc@.service'), 'utf8');
  const s = service(text);
  assert.deepEqual(s.get('Type'), ['notify']);
  assert.deepEqual(s.get('ExecStart'), ['tsrunc run --bundle %h/.local/share/tsrunc/bundles/%i %i']);
  assert.deepEqual(s.get('KillMode'), ['mixed']);
  assert.deepEqual(s.get('ExecStopPost'), ['-tsrunc delete --force %i']);
  assert.deepEqual(s.get('SuccessExitStatus'), ['143']);
  assert.deepEqual(s.get('Restart'), ['on-failure']);
  assert.match(text, /~\/\.local\/share\/tsrunc\/bundles\/NAME/);
  assert.match(text, /AssertPathExists=%h\/\.local\/share\/tsrunc\/bundles\/%i\/config\.json/);
});
