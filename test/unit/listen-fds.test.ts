// Socket activation: which LISTEN_FDS are ours, and the environment the container gets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { handOnFds, listenFds } from '../../src/runtime/listen-fds.js';

test('listenFds: only for our pid, only a positive count', () => {
  assert.equal(listenFds({ LISTEN_FDS: '2', LISTEN_PID: '42' }, 42), 2);
  assert.equal(listenFds({ LISTEN_FDS: '2', LISTEN_PID: '41' }, 42), 0);
  assert.equal(listenFds({ LISTEN_FDS: '2' }, 42), 0);
  assert.equal(listenFds({ LISTEN_FDS: 'x', LISTEN_PID: '42' }, 42), 0);
  assert.equal(listenFds({}, 42), 0);
});

test('handOnFds: LISTEN_FDS/LISTEN_PID=1 replace the config\'s, fds counted with --preserve-fds', () => {
  // fds 0-2 are always open; 3+ may not be in a test runner, so only count 0 fds here.
  assert.deepEqual(handOnFds(['A=1'], 0, {}, 1), { env: ['A=1'], fds: 0 });
  assert.throws(() => handOnFds([], 1000), /preserved fd 3 \(--preserve-fds 1000\) is not open|preserved fd \d+/);
  assert.throws(() => handOnFds([], 0, { LISTEN_FDS: '900', LISTEN_PID: '7' }, 7), /LISTEN_FDS fd \d+ is not open/);
});
