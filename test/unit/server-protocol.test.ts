import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeRequest, encodeRecord, exitOfStatus, FE_REQUEST, SV_HOLD } from '../../src/server/protocol.js';

/** A request record as helpers/frontend.c builds it. */
function request(umask: number, argv: string[], env: string[], cwd: string, type = FE_REQUEST): Uint8Array {
  const text = Buffer.from([...argv, ...env, cwd].map((s) => s + '\0').join(''));
  const buf = new Uint8Array(16 + text.length);
  const view = new DataView(buf.buffer);
  [type, umask, argv.length, env.length].forEach((w, k) => view.setUint32(k * 4, w, true));
  buf.set(text, 16);
  return buf;
}

test('a front end request decodes to argv, env (first of a name wins, as getenv), cwd and umask', () => {
  const buf = request(0o027, ['--root', '/r', 'run', 'x'], ['A=1', 'B=x=y', 'A=2', 'EMPTY=', 'junk'], '/home/me');
  assert.deepEqual(decodeRequest(buf, buf.length), { umask: 0o027, argv: ['--root', '/r', 'run', 'x'], env: { A: '1', B: 'x=y', EMPTY: '' }, cwd: '/home/me' });
});

test('malformed requests are refused: wrong type, counts that do not match, a relative cwd, short', () => {
  const good = request(0o022, ['list'], ['A=1'], '/');
  assert.ok(decodeRequest(good, good.length));
  const wrongType = request(0o022, ['list'], [], '/', 0x12345678);
  assert.equal(decodeRequest(wrongType, wrongType.length), undefined);
  const counts = request(0o022, ['list'], ['A=1'], '/');
  new DataView(counts.buffer).setUint32(8, 3, true);
  assert.equal(decodeRequest(counts, counts.length), undefined);
  const relative = request(0o022, ['list'], [], 'here');
  assert.equal(decodeRequest(relative, relative.length), undefined);
  assert.equal(decodeRequest(good, 12), undefined);
  assert.equal(decodeRequest(good, good.length - 1), undefined, 'the last string must be NUL-ended');
});

test('records: words then NUL-ended strings; wait statuses as exit codes', () => {
  assert.deepEqual([...encodeRecord(SV_HOLD, [7], ['/r', 'id'])], [0x54, 0x53, 0x48, 0x4f, 7, 0, 0, 0, 0x2f, 0x72, 0, 0x69, 0x64, 0]);
  assert.deepEqual(exitOfStatus(42 << 8), { code: 42, signal: null });
  assert.deepEqual(exitOfStatus(9), { code: 137, signal: 9 });
  assert.deepEqual(exitOfStatus(15 | 0x80), { code: 143, signal: 15 }, 'a core dump flag is not part of the signal');
});
