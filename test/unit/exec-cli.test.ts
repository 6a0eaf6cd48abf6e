// exec's command line: where flags stop (runc's rule), -u parsing, and how flags change the process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitExecArgs } from '../../src/cli/exec-args.js';
import { execProcessSpec, parseUser } from '../../src/runtime/exec.js';
import type { Process } from '../../src/spec/schema.js';

const argv = (...a: string[]) => ['node', 'tsrunc', ...a];

test('splitExecArgs: "--" goes after the container id, so the command keeps its own flags', () => {
  assert.deepEqual(splitExecArgs(argv('exec', 'c1', 'sh', '-c', 'echo hi')), argv('exec', 'c1', '--', 'sh', '-c', 'echo hi'));
  assert.deepEqual(
    splitExecArgs(argv('--root', '/r', '--debug', 'exec', '-e', 'A=1', '--cwd', '/tmp', '-t', 'c1', 'ls', '-l')),
    argv('--root', '/r', '--debug', 'exec', '-e', 'A=1', '--cwd', '/tmp', '-t', 'c1', '--', 'ls', '-l'),
  );
  assert.deepEqual(splitExecArgs(argv('--rootless', 'true', 'exec', 'c1', 'id')), argv('--rootless', 'true', 'exec', 'c1', '--', 'id'));
  assert.deepEqual(splitExecArgs(argv('exec', '--process', 'p.json', 'c1')), argv('exec', '--process', 'p.json', 'c1'));
});

test('splitExecArgs: --ignore-paused does not swallow the container id (cac 7 and dashed booleans)', () => {
  assert.deepEqual(splitExecArgs(argv('exec', '--ignore-paused', 'c1', 'ls')), argv('exec', '--ignore-paused=true', 'c1', '--', 'ls'));
  assert.deepEqual(splitExecArgs(argv('exec', 'c1', 'prog', '--ignore-paused')), argv('exec', 'c1', '--', 'prog', '--ignore-paused'));
});

test('splitExecArgs: other commands and an explicit "--" are left alone', () => {
  for (const a of [argv('run', 'c1'), argv('exec', 'c1', '--', 'ls', '-l'), argv('exec', '--', 'c1'), argv('kill', 'c1', '-9'), argv()]) {
    assert.deepEqual(splitExecArgs(a), a);
  }
});

test('parseUser: uid[:gid] as numbers only', () => {
  assert.deepEqual(parseUser('1000'), { uid: 1000 });
  assert.deepEqual(parseUser('1000:100'), { uid: 1000, gid: 100 });
  for (const bad of ['root', '1000:', ':1', '-1', '1:2:3', '99999999999']) assert.throws(() => parseUser(bad), /--user/);
});

const base: Process = {
  terminal: false,
  user: { uid: 0, gid: 0 },
  args: ['sleep', '300'],
  env: ['PATH=/bin'],
  cwd: '/',
  capabilities: { bounding: ['CAP_KILL'], effective: ['CAP_KILL'], permitted: ['CAP_KILL'] },
  noNewPrivileges: false,
};

test('execProcessSpec: the container process with the command and the flags applied (runc)', () => {
  const p = execProcessSpec(base, {
    args: ['id'],
    env: ['A=1'],
    cwd: '/tmp',
    user: { uid: 5 },
    additionalGids: [7],
    caps: ['CAP_CHOWN'],
    noNewPrivs: true,
  });
  assert.deepEqual(p.args, ['id']);
  assert.deepEqual(p.env, ['PATH=/bin', 'A=1']);
  assert.equal(p.cwd, '/tmp');
  assert.deepEqual(p.user, { uid: 5, gid: 0, additionalGids: [7] });
  assert.equal(p.noNewPrivileges, true);
  assert.deepEqual(p.capabilities, { bounding: ['CAP_KILL', 'CAP_CHOWN'], effective: ['CAP_KILL', 'CAP_CHOWN'], permitted: ['CAP_KILL', 'CAP_CHOWN'] });
  assert.deepEqual(base.args, ['sleep', '300'], 'the base is not changed');
  // Ambient only alongside inheritable capabilities.
  const q = execProcessSpec({ ...base, capabilities: { inheritable: [] } }, { args: ['id'], caps: ['CAP_CHOWN'] });
  assert.deepEqual(q.capabilities?.ambient, ['CAP_CHOWN']);
  assert.throws(() => execProcessSpec(base, { args: ['id'], cwd: 'rel' }), /absolute/);
});
