// The --debug invocation log: one line per call, first, with the command line as given and the command,
// container id and pid as fields; in the --log file in its format (JSON: what containerd's shim decodes,
// RFC 3339 time), else on stderr. (log-file.test.ts checks the other lines against runc.)
import { test, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cleanup, makeBundle, runRuntime, tempDir, uniqueId, SELF } from './harness.js';

afterEach(cleanup);
after(cleanup);

interface LogLine {
  level: string;
  msg: string;
  time: string;
  [k: string]: unknown;
}

/** Every line of a JSON log, each checked to be what the shim decodes (time as RFC 3339). */
function jsonLines(file: string): LogLine[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const v = JSON.parse(l) as LogLine;
      assert.equal(typeof v.level, 'string', l);
      assert.equal(typeof v.msg, 'string', l);
      assert.match(v.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/, l);
      return v;
    });
}

test('--debug: one invocation line per call with the command, id and flags (log file, json or text; else stderr)', { skip: SELF ? 'tsrunc only' : false }, async () => {
  const dir = tempDir('log');
  const json = join(dir, 'log.json');
  const id = uniqueId('inv');
  const bundle = makeBundle({ args: ['true'] });
  const create = await runRuntime('tsrunc', ['create', '--bundle', bundle.dir, '--pid-file', join(dir, 'pid'), id], { globalArgs: ['--debug', '--log', json, '--log-format', 'json'] });
  assert.equal(create.code, 0, create.stderr);
  assert.equal(create.stderr, '', 'debug lines go to the log file');
  const del = await runRuntime('tsrunc', ['delete', '--force', id], { root: create.root, globalArgs: ['--debug', '--log', json, '--log-format', 'json'] });
  assert.equal(del.code, 0, del.stderr);
  const calls = jsonLines(json).filter((l) => l.msg.startsWith('invoked: '));
  assert.equal(calls.length, 2, readFileSync(json, 'utf8'));
  assert.deepEqual(
    calls.map((c) => [c.level, c.command, c.id, typeof c.pid]),
    [
      ['debug', 'create', id, 'number'],
      ['debug', 'delete', id, 'number'],
    ],
  );
  assert.equal(calls[0]!.msg, `invoked: tsrunc --root ${create.root} --debug --log ${json} --log-format json create --bundle ${bundle.dir} --pid-file ${join(dir, 'pid')} ${id}`);
  assert.equal(calls[1]!.msg, `invoked: tsrunc --root ${create.root} --debug --log ${json} --log-format json delete --force ${id}`);
  assert.equal(jsonLines(json)[0]!.msg, calls[0]!.msg, 'the invocation comes first');

  // Text into the file, as logrus' text formatter writes it.
  const text = join(dir, 'log.txt');
  await runRuntime('tsrunc', ['state', 'no-such-id'], { globalArgs: ['--debug', '--log', text] });
  assert.match(readFileSync(text, 'utf8').split('\n')[0]!, /^time="[^"]+" level=debug msg="invoked: tsrunc --root \S+ --debug --log \S+ state no-such-id" command="state" pid=\d+ id="no-such-id"$/);

  // No --log: stderr, as text or as a JSON line.
  const t = await runRuntime('tsrunc', ['list', '-q'], { globalArgs: ['--debug'] });
  assert.match(t.stderr.split('\n')[0]!, /^tsrunc: debug: invoked: tsrunc --root \S+ --debug list -q command="list" pid=\d+$/);
  const j = await runRuntime('tsrunc', ['kill', 'no-such-id', 'KILL'], { globalArgs: ['--debug', '--log-format', 'json'] });
  const first = JSON.parse(j.stderr.split('\n')[0]!) as LogLine;
  assert.deepEqual([first.level, first.command, first.id], ['debug', 'kill', 'no-such-id']);
  assert.equal(first.msg, `invoked: tsrunc --root ${j.root} --debug --log-format json kill no-such-id KILL`);
  assert.equal(existsSync(join(dir, 'pid')), true);
});
