import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validateId } from '../../src/runtime/state-store.js';
import { assertCanStart, assertCanKill, assertCanDelete, type Status } from '../../src/runtime/status.js';
import { nowTimestamp } from '../../src/runtime/time.js';
import { defaultStateRoot } from '../../src/runtime/paths.js';
import { table } from '../../src/cli/list.js';
import { formatLogLine } from '../../src/cli/output.js';
import { invocationLine } from '../../src/cli/invocation.js';
import { TsruncError } from '../../src/errors.js';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

test('container ids follow runc\'s rule', () => {
  for (const ok of ['x', 'a.b', 'A_b-c+d', '0123456789abcdef'.repeat(4)]) assert.doesNotThrow(() => validateId(ok), ok);
  for (const bad of ['', '.', '..', '../x', 'a/b', 'a b', 'é', 'x'.repeat(256), 'a\nb']) {
    assert.throws(() => validateId(bad), (e: unknown) => e instanceof TsruncError && e.code === 'invalid-argument', bad);
  }
});

test('the status owns its transitions', () => {
  const all: Status[] = ['creating', 'created', 'running', 'paused', 'stopped'];
  assert.deepEqual(all.filter((s) => { try { assertCanStart('x', s); return true; } catch { return false; } }), ['created']);
  assert.deepEqual(all.filter((s) => { try { assertCanKill('x', s); return true; } catch { return false; } }), ['created', 'running', 'paused']);
  // containerd's shim maps "container not running" to "process already finished" (runc's words).
  assert.throws(() => assertCanKill('x', 'stopped'), /^TsruncError: cannot kill container "x": container not running \(it is stopped\)$/);
  assert.deepEqual(all.filter((s) => { try { assertCanDelete('x', s, false); return true; } catch { return false; } }), ['created', 'stopped']);
  assert.deepEqual(all.filter((s) => { try { assertCanDelete('x', s, true); return true; } catch { return false; } }), all);
});

test('timestamps are RFC 3339 UTC with nine fractional digits, like runc', () => {
  assert.match(nowTimestamp(), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
});

test('the default state root follows the caller', () => {
  assert.equal(defaultStateRoot(false, {}, 0).root, '/run/tsrunc');
  const me = process.geteuid!();
  const own = defaultStateRoot(true, { XDG_RUNTIME_DIR: tmpOwnedByMe() }, me);
  assert.ok(own.root.endsWith('/tsrunc') && own.notice === undefined);
  const other = defaultStateRoot(true, { XDG_RUNTIME_DIR: '/' }, me === 0 ? 1 : me);
  assert.match(other.notice ?? '', /belongs to uid 0/);
  const missing = defaultStateRoot(true, { XDG_RUNTIME_DIR: '/nonexistent-xdg' }, me);
  assert.match(missing.notice ?? '', /does not exist/);
  assert.ok(defaultStateRoot(true, {}, me).root.includes('tsrunc'));
});

function tmpOwnedByMe(): string {
  return mkdtempSync(join(tmpdir(), 'tsrunc-xdg-'));
}

test('list renders like Go\'s tabwriter (min width 12, padding 3)', () => {
  const t = table([['ID', 'PID', 'STATUS', 'BUNDLE', 'CREATED', 'OWNER'], ['x', '4851', 'created', '/home/tsrunc-test/b', '2026-11-23T20:22:54.107581174Z', 'tsrunc-test']]);
  assert.equal(
    t,
    'ID          PID         STATUS      BUNDLE                CREATED                          OWNER\n' +
      'x           4851        created     /home/tsrunc-test/b   2026-11-23T20:22:54.107581174Z   tsrunc-test\n',
  );
});

test('log lines match logrus\' JSON and text forms', () => {
  assert.equal(formatLogLine('json', 'error', 'boom "x"', 'T'), '{"level":"error","msg":"boom \\"x\\"","time":"T"}\n');
  assert.equal(formatLogLine('text', 'warning', 'a b', 'T'), 'time="T" level=warning msg="a b"\n');
  assert.equal(formatLogLine('json', 'debug', 'm', 'T', { id: 'c1', pid: 7 }), '{"level":"debug","msg":"m","time":"T","id":"c1","pid":7}\n');
  assert.equal(formatLogLine('text', 'debug', 'm', 'T', { id: 'c1', pid: 7 }), 'time="T" level=debug msg="m" id="c1" pid=7\n');
});

test('the --debug invocation line: the command line as a shell would read it, command, id and pid', () => {
  assert.deepEqual(invocationLine(['--root', '/r', 'exec', '-e', 'A=b c', 'c1', 'sh', "it's"], 'exec', ['c1', 'sh', "it's"], 9), {
    msg: `invoked: tsrunc --root /r exec -e 'A=b c' c1 sh 'it'\\''s'`,
    fields: { command: 'exec', pid: 9, id: 'c1' },
  });
  assert.deepEqual(invocationLine(['list'], 'list', [], 9).fields, { command: 'list', pid: 9 });
  assert.deepEqual(invocationLine(['bogus'], undefined, ['bogus'], 9).fields, { command: '', pid: 9 });
});
