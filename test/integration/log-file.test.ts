// `--log FILE --log-format json`, as conmon and containerd's shim pass it: logrus-shaped lines
// ({"level","msg","time"}) in the file, the error of a failed command there and on stderr, and
// warnings in the file only: an engine hands the runtime the container's own stdio, so a warning on
// stderr would end up in the container's log. Compared with runc doing the same.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SELF, cleanup, makeBundle, missingPrerequisites, runRuntime, tempDir, uniqueId, type RunResult, type Runtime, type BundleOptions } from './harness.js';

after(cleanup);

const missing = missingPrerequisites();
if (missing) throw new Error(missing);

interface LogLine {
  level: string;
  msg: string;
  time: string;
}

/** Runs `args` with `--log-format json --log FILE`; the lines of FILE parsed, each checked for its shape. */
async function runLogged(rt: Runtime, bundleOpts: BundleOptions, args: (dir: string, id: string) => string[]): Promise<{ r: RunResult; lines: LogLine[] }> {
  const bundle = makeBundle(bundleOpts);
  const logFile = join(tempDir('log'), 'log.json');
  const r = await runRuntime(rt, args(bundle.dir, uniqueId('log')), { cwd: bundle.dir, globalArgs: ['--log-format', 'json', '--log', logFile] });
  const text = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  const lines = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const o = JSON.parse(l) as Record<string, unknown>;
      // logrus adds fields such as "error" to some of runc's lines; tsrunc writes these three.
      for (const k of ['level', 'msg', 'time']) assert.equal(typeof o[k], 'string', `${rt}: "${k}" in ${l}`);
      if (rt === 'tsrunc' && !SELF) assert.deepEqual(Object.keys(o), ['level', 'msg', 'time'], l);
      assert.match(String(o.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$/, `${rt}: RFC 3339 time in ${l}`);
      return o as unknown as LogLine;
    });
  return { r, lines };
}

test('a failing create: one error line in the log file, the same message on stderr, exit 1', async () => {
  for (const rt of ['runc', 'tsrunc'] as const) {
    const { r, lines } = await runLogged(
      rt,
      { args: ['true'], mutate: (c) => c.mounts!.push({ destination: '/x', type: 'bind', source: '/nonexistent-log-test', options: ['bind'] }) },
      (dir, id) => ['create', '--bundle', dir, id],
    );
    assert.equal(r.code, 1, `${rt}: ${r.stderr}`);
    const errors = lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, `${rt}: ${JSON.stringify(lines)}`);
    assert.match(errors[0]!.msg, /nonexistent-log-test/);
    assert.ok(r.stderr.trim().endsWith(errors[0]!.msg.trim()), `${rt}: stderr ${JSON.stringify(r.stderr)} vs log ${errors[0]!.msg}`);
  }
});

test('a warning goes to the log file as level "warning", not to stderr', async () => {
  for (const rt of ['runc', 'tsrunc'] as const) {
    const { r, lines } = await runLogged(
      rt,
      {
        args: ['sh', '-c', 'echo out'],
        mutate: (c) => {
          c.process!.capabilities = { bounding: ['CAP_KILL', 'CAP_BOGUS'] };
        },
      },
      (dir, id) => ['run', '--bundle', dir, id],
    );
    assert.equal(r.code, 0, `${rt}: ${r.stderr}`);
    assert.equal(r.stdout, 'out\n');
    assert.equal(r.stderr, '', `${rt}: nothing on stderr`);
    assert.ok(lines.some((l) => l.level === 'warning' && l.msg.includes('CAP_BOGUS')), `${rt}: ${JSON.stringify(lines)}`);
  }
});
