// `npm test`: type-check, compile the tests with esbuild, then run them with node's own test runner.
// Unit tests always run; integration tests run real containers as the current user. Files named
// `*.rootless.test.ts` make up the rootless suite (run as an unprivileged user), `*.root.test.ts` the
// root suite; CI runs `npm test` once as each. Anything else runs in both.
import { build } from 'esbuild';
import { readdirSync, rmSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const only = args.find((a) => !a.startsWith('-')); // e.g. "unit" or "integration" or a file filter
const skipTypecheck = args.includes('--no-typecheck');

function testFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? testFiles(join(dir, e.name)) : e.name.endsWith('.test.ts') ? [join(dir, e.name)] : [],
  );
}

if (!skipTypecheck) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '--noEmit', '-p', '.'], { stdio: 'inherit' });
  if (tsc.status !== 0) process.exit(tsc.status ?? 1);
}

if (!existsSync('dist/tsrunc.js') || !existsSync('helpers/build/libtsrunc.so')) {
  console.error('tsrunc: not built: run `npm run build` first');
  process.exit(1);
}

const isRoot = process.getuid?.() === 0;
const otherSuite = isRoot ? '.rootless.test.ts' : '.root.test.ts';
// *.session.test.ts need a real systemd --user and its bus: .ci/run starts one and runs that suite alone
// inside it with TSRUNC_TEST_SESSION=1; the other runs leave those files out.
const sessionSuite = process.env.TSRUNC_TEST_SESSION === '1';
const files = testFiles('test').filter(
  (f) => (!only || f.includes(only)) && !f.endsWith(otherSuite) && f.endsWith('.session.test.ts') === sessionSuite,
);
console.log(`tsrunc tests: the ${isRoot ? 'root' : 'rootless'} suite (${files.length} files; the ${isRoot ? 'rootless' : 'root'} suite runs as ${isRoot ? 'an unprivileged user' : 'root'})`);
rmSync('build/test', { recursive: true, force: true });
await build({
  entryPoints: files,
  outdir: 'build/test',
  outbase: 'test',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  outExtension: { '.js': '.mjs' },
  logLevel: 'warning',
});
const compiled = files.map((f) => join('build', f).replace(/\.ts$/, '.mjs'));
const r = spawnSync(process.execPath, ['--test', '--test-concurrency=1', ...compiled], { stdio: 'inherit' });
process.exit(r.status ?? 1);
