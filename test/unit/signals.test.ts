import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSignal, signalNumber, signalName, SIGNALS } from '../../src/linux/signals.js';
import { TsruncError } from '../../src/errors.js';

// What runc 1.1.5's `runc kill` accepted, measured against a running container.
const ACCEPTED: [string, number][] = [
  ['KILL', 9],
  ['SIGKILL', 9],
  ['sigkill', 9],
  ['kill', 9],
  ['SigKill', 9],
  ['TERM', 15],
  ['winch', 28],
  ['sigWinch', 28],
  ['STKFLT', 16],
  ['HUP', 1],
  ['SIGSYS', 31],
  ['PWR', 30],
  ['9', 9],
  ['0', 0],
  ['+0', 0],
  ['+15', 15],
  ['34', 34],
  ['64', 64],
  ['009', 9],
];

for (const [raw, n] of ACCEPTED) {
  test(`parseSignal(${JSON.stringify(raw)}) = ${n}`, () => {
    assert.equal(parseSignal(raw), n);
  });
}

// runc: "unknown signal"; numbers outside 0..64 runc passes to the kernel, which says EINVAL.
const REFUSED = ['FOO', 'sigfoo', 'SIGIOT', 'IOT', 'POLL', 'CLD', 'RTMIN', 'RTMIN+1', 'SIGRTMIN', 'SIGRTMAX', 'Sig', 'SIG', '', ' 1', '0x1', '1.0', '65', '-1', '99999999999999999999', 'KILL '];

for (const raw of REFUSED) {
  test(`parseSignal(${JSON.stringify(raw)}) is refused`, () => {
    assert.throws(
      () => parseSignal(raw),
      (e: unknown) => e instanceof TsruncError && e.code === 'invalid-argument' && e.message === `invalid signal ${JSON.stringify(raw)}`,
    );
  });
}

test('the name table is 1..31 without gaps', () => {
  const nums = Object.values(SIGNALS).sort((a, b) => a - b);
  assert.deepEqual(nums, Array.from({ length: 31 }, (_, i) => i + 1));
});

test('signalNumber takes Node\'s full names, aliases included', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('SIGIOT'), 6);
  assert.equal(signalNumber('SIGPOLL'), 29);
  assert.throws(() => signalNumber('TERM'), TsruncError);
});

test('signalName', () => {
  assert.equal(signalName(9), 'SIGKILL');
  assert.equal(signalName(34), 'SIGRTMIN+0');
  assert.equal(signalName(64), 'SIGRTMIN+30');
  assert.equal(signalName(0), undefined);
  assert.equal(signalName(65), undefined);
});
