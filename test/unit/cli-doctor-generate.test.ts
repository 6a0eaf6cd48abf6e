// Parsing of the doctor and generate commands (createCLI parses without running anything).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createCLI } from '../../src/cli/create-cli.js';

function parse(...args: string[]) {
  const cli = createCLI();
  const parsed = cli.parse(['node', 'tsrunc', ...args], { run: false });
  return { name: cli.matchedCommand?.name, args: parsed.args, options: parsed.options };
}

test('doctor takes --format (-f), text by default', () => {
  assert.equal(parse('doctor').options.format, 'text');
  assert.equal(parse('doctor', '-f', 'json').options.format, 'json');
  assert.equal(parse('doctor', '--format', 'json').name, 'doctor');
});

test('generate systemd takes the target, the name, --bundle, --install, --type, --restart and the global --root', () => {
  const p = parse('--root', '/tmp/st', 'generate', 'systemd', '--bundle', '/srv/b', 'web', '--install', '--type', 'exec', '--restart', 'always');
  assert.equal(p.name, 'generate');
  assert.deepEqual(p.args, ['systemd', 'web']);
  assert.equal(p.options.bundle, '/srv/b');
  assert.equal(p.options.install, true);
  assert.equal(p.options.type, 'exec');
  assert.equal(p.options.restart, 'always');
  assert.equal(p.options.root, '/tmp/st');
  const d = parse('generate', 'systemd', 'web');
  assert.deepEqual([d.options.bundle, d.options.type, d.options.restart, d.options.install], ['.', 'notify', 'on-failure', undefined]);
});
