// The pure parts of the monitor's commands: the container log format `logs` reads, the exit code `wait`
// prints, the exit status schema of exit.json, and the flags of run -d / wait / logs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { parseLog } from '../../src/monitor/log-format.js';
import { exitCodeOf } from '../../src/monitor/exit-file.js';
import { exitStatusSchema } from '../../src/spec/state-schema.js';
import { createCLI } from '../../src/cli/create-cli.js';

test('log records: full lines end in a newline, partial ones do not, streams are kept apart', () => {
  const text =
    '2026-11-23T23:10:57.088837444Z stdout F hello\n' +
    '2026-11-23T23:10:57.088837444Z stdout P no newline\n' +
    '2026-11-23T23:10:57.088896948Z stderr F oops \n' +
    '2026-11-23T23:10:57.1Z stdout F \n' +
    '2026-11-23T23:10:58Z stdout F unfin';
  const { records, rest } = parseLog(text);
  assert.deepEqual(records, [
    { time: '2026-11-23T23:10:57.088837444Z', stream: 'stdout', text: 'hello\n' },
    { time: '2026-11-23T23:10:57.088837444Z', stream: 'stdout', text: 'no newline' },
    { time: '2026-11-23T23:10:57.088896948Z', stream: 'stderr', text: 'oops \n' },
    { time: '2026-11-23T23:10:57.1Z', stream: 'stdout', text: '\n' },
  ]);
  assert.equal(rest, '2026-11-23T23:10:58Z stdout F unfin', 'an unfinished line waits for the next chunk');
  assert.deepEqual(parseLog('not a record\n').records, [{ time: '', stream: 'stdout', text: 'not a record\n' }]);
});

test('wait prints the exit code, or 128+signal', () => {
  assert.equal(exitCodeOf({ code: 3, signal: null, at: '2026-01-01T00:00:00Z' }), 3);
  assert.equal(exitCodeOf({ code: null, signal: 9, at: '2026-01-01T00:00:00Z' }), 137);
  // run --keep writes 128+signal as the code and the signal: the same answer.
  assert.equal(exitCodeOf({ code: 143, signal: 15, at: '2026-01-01T00:00:00Z' }), 143);
});

test('exit.json as the monitor writes it passes the schema; a damaged one does not', () => {
  assert.ok(exitStatusSchema().safeParse({ code: 0, signal: null, at: '2026-11-23T23:10:57.088837444Z' }).success);
  assert.ok(exitStatusSchema().safeParse({ code: null, signal: 9, at: '2026-11-23T23:10:57.088837444Z' }).success);
  assert.equal(exitStatusSchema().safeParse({ code: '3', signal: null, at: '2026-11-23T23:10:57Z' }).success, false);
  assert.equal(exitStatusSchema().safeParse({ code: 3, signal: null, at: 'yesterday' }).success, false);
});

test('run -d --output FILE --rm, wait and logs -f parse', () => {
  const parse = (argv: string[]) => {
    const cli = createCLI();
    const r = cli.parse(['node', 'tsrunc', ...argv], { run: false });
    return { name: cli.matchedCommand?.name, args: r.args, options: r.options };
  };
  const run = parse(['run', '-d', '--output', 'c.log', '--rm', 'x']);
  assert.deepEqual([run.name, run.args, run.options.detach, run.options.output, run.options.rm], ['run', ['x'], true, 'c.log', true]);
  const w = parse(['wait', 'x']);
  assert.deepEqual([w.name, w.args], ['wait', ['x']]);
  const l = parse(['logs', '-f', 'x']);
  assert.deepEqual([l.name, l.args, l.options.follow], ['logs', ['x'], true]);
});
