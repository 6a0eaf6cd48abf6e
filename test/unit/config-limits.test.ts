// config.json nesting: measured before parsing, refused past the limit with one line (the fuzz suite
// found a stack overflow in the recursive steps after JSON.parse on a 3000-deep value).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nestingDepth, parseConfigText } from '../../src/spec/load.js';
import { isTsruncError } from '../../src/errors.js';
import { checkConfig } from '../../src/spec/validate.js';
import { defaultSpec } from '../../src/spec/default-spec.js';

test('nestingDepth counts brackets outside strings', () => {
  assert.equal(nestingDepth('{}'), 1);
  assert.equal(nestingDepth('{"a":[1,{"b":[]}]}'), 4);
  assert.equal(nestingDepth('{"a":"[[[{{{\\"[[["}'), 1);
  assert.equal(nestingDepth('"x"'), 0);
});

test('a config nested thousands deep is a one-line invalid-config error', () => {
  const deep = '{"ociVersion":"1.0.0","annotations":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
  assert.throws(
    () => parseConfigText(deep),
    (e) => isTsruncError(e, 'invalid-config') && e.message === 'config.json: nested deeper than 512 levels (5001)',
  );
});

test('strings the C core cannot take are config errors naming the field (found by the fuzz suite)', () => {
  const base = () => {
    const c = defaultSpec();
    c.mounts!.push({ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] });
    return c;
  };
  const first = (c: ReturnType<typeof defaultSpec>) => checkConfig(c).errors[0];
  const nul = base();
  nul.mounts!.at(-1)!.options = ['size=1m\u0000x'];
  assert.deepEqual(first(nul), { pointer: `/mounts/${nul.mounts!.length - 1}/options/0`, message: 'must not contain a NUL byte' });
  const long = base();
  long.process!.cwd = '/' + 'a'.repeat(5000);
  assert.deepEqual(first(long), { pointer: '/process/cwd', message: 'must be shorter than 4096 bytes' });
  const sysctl = base();
  sysctl.linux!.sysctl = { 'kernel.msgmax': 'x'.repeat(5000) };
  assert.deepEqual(first(sysctl), { pointer: '/linux/sysctl/kernel.msgmax', message: 'must be shorter than 4096 bytes' });
});
