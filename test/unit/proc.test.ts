import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseProcStat, isSameLiveProcess, readProcStat } from '../../src/linux/proc.js';

test('stat parsing survives spaces and parentheses in the command name', () => {
  const text = '4851 (a (b) c) S 1 4851 4851 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 1234 56 18446744073709551615';
  assert.deepEqual(parseProcStat(text), { state: 'S', startTime: '987654' });
  assert.equal(parseProcStat('garbage'), null);
  assert.equal(parseProcStat('1 (x) S 1'), null);
});

test('our own process is live with its start time, and not with another', () => {
  const st = readProcStat(process.pid);
  assert.ok(st);
  assert.equal(isSameLiveProcess(process.pid, st.startTime), true);
  assert.equal(isSameLiveProcess(process.pid, st.startTime + '1'), false);
  assert.equal(isSameLiveProcess(0, st.startTime), false);
  assert.equal(isSameLiveProcess(2 ** 22 + 1, '1'), false);
});
