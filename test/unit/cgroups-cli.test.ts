// The pure parts of the cgroup commands: runc's ps filter, update's flags and sizes, events' durations,
// and how the command line is prepared for cac (dashed booleans, flag values starting with "-").
import test from 'node:test';
import assert from 'node:assert/strict';
import { filterPsOutput } from '../../src/cli/ps.js';
import { resourcesFromFlags, bytesArg } from '../../src/cli/update.js';
import { parseDuration } from '../../src/cli/events.js';
import { spellDashedBooleans, prepareArgv } from '../../src/cli/common.js';
import { createCLI } from '../../src/cli/create-cli.js';
import { TsruncError } from '../../src/errors.js';

const PS = `UID          PID    PPID  C STIME TTY          TIME CMD
root           1       0  0 10:00 ?        00:00:01 /sbin/init
u1          4242       1  0 10:01 ?        00:00:00 sleep 1000
u1          4243    4242  0 10:01 ?        00:00:00 sleep 1001
u1         14242       1  0 10:01 ?        00:00:00 other
`;

test('ps keeps the header and the rows of the container\'s pids (by the PID column)', () => {
  assert.equal(filterPsOutput(PS, [4242, 4243]), PS.split('\n').filter((l, i) => i === 0 || l.includes(' 424')).filter((l) => !l.includes('14242')).join('\n') + '\n');
  assert.equal(filterPsOutput('  PID COMMAND\n    7 sh\n    8 ps\n', [8]), '  PID COMMAND\n    8 ps\n');
  assert.throws(() => filterPsOutput('COMMAND\nsh\n', [1]), /no PID column/);
});

test('update flags become linux.resources', () => {
  assert.deepEqual(resourcesFromFlags({ memory: '512m', memorySwap: '-1', pidsLimit: 30, cpuQuota: 50000, cpuPeriod: 100000, cpuShare: 512, cpusetCpus: '0-1', blkioWeight: 300 }), {
    memory: { limit: 512 * 1024 * 1024, swap: -1 },
    cpu: { shares: 512, quota: 50000, period: 100000, cpus: '0-1' },
    pids: { limit: 30 },
    blockIO: { weight: 300 },
  });
  assert.throws(() => resourcesFromFlags({}), /no limit given/);
  assert.throws(() => resourcesFromFlags({ memory: 'lots' }), (e: unknown) => e instanceof TsruncError && e.message === '--memory: "lots" is not a valid value');
  assert.throws(() => resourcesFromFlags({ kernelMemory: '1m' }), /cgroup v2/);
  assert.throws(() => resourcesFromFlags({ blkioWeight: 5 }), /between 10 and 1000/);
});

test('sizes take runc\'s suffixes', () => {
  assert.equal(bytesArg('1048576'), 1048576n);
  assert.equal(bytesArg('64k'), 65536n);
  assert.equal(bytesArg('2G'), 2n << 30n);
  assert.equal(bytesArg('1gb'), 1n << 30n);
  assert.equal(bytesArg('-1'), -1n);
  assert.throws(() => bytesArg('1x'));
});

test('events --interval takes Go durations', () => {
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('1m30s'), 90000);
  for (const bad of ['', '5', 's', '0s', '1d']) assert.throws(() => parseDuration(bad), /not a positive duration/, bad);
});

test('--systemd-cgroup keeps the command after it', () => {
  assert.deepEqual(spellDashedBooleans(['node', 'tsrunc', '--systemd-cgroup', 'run', 'x']), ['node', 'tsrunc', '--systemd-cgroup=true', 'run', 'x']);
  assert.deepEqual(spellDashedBooleans(['exec', 'x', '--', 'prog', '--systemd-cgroup']), ['exec', 'x', '--', 'prog', '--systemd-cgroup']);
});

/** What cac reads from a command line prepared as main.ts prepares it. */
function parsed(...args: string[]): { args: readonly string[]; options: Record<string, unknown> } {
  const cli = createCLI();
  const r = cli.parse(prepareArgv(cli, ['node', 'tsrunc', ...args]), { run: false });
  return { args: r.args, options: r.options };
}

test('a flag that takes a value takes the next argument even when it starts with "-" (Go\'s flag rule, as runc)', () => {
  const up = parsed('update', '--memory-swap', '-1', '--cpu-quota', '-1', '--pids-limit', '-1', '--memory', '-1', 'c1');
  assert.deepEqual(up.args, ['c1']);
  assert.deepEqual([up.options.memorySwap, up.options.cpuQuota, up.options.pidsLimit, up.options.memory], [-1, -1, -1, -1]);
  assert.equal(up.options['1'], undefined, 'no flag "-1"');
  assert.deepEqual(resourcesFromFlags(up.options), { memory: { limit: -1, swap: -1 }, cpu: { quota: -1 }, pids: { limit: -1 } });
  // Global value flags too, before or after the command; a boolean flag (delete -f) keeps its meaning.
  assert.equal(parsed('--root', '-r', 'state', 'c1').options.root, '-r');
  const del = parsed('delete', '-f', 'c1');
  assert.deepEqual([del.args, del.options.force], [['c1'], true]);
  // exec: its own value flags, and the command after the id stays untouched.
  const ex = parsed('exec', '--cwd', '-x', 'c1', 'ls', '--memory', '-1');
  assert.equal(ex.options.cwd, '-x');
  assert.deepEqual(ex.options['--'], ['ls', '--memory', '-1']);
  // "--" is never taken as a value.
  assert.deepEqual(parsed('update', 'c1', '--memory', '--').options.memory, true);
});
