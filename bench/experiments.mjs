// Start-up experiments behind bench/FINDINGS.md: builds alternative bundles of the SAME src/ into a
// temporary directory (with a node_modules symlink to the repo's, and TSRUNC_LIBDIR pointing at the repo's
// helpers/build), and times them against the shipped dist/tsrunc.js, interleaved run by run. Writes
// nothing in the repository, so it runs as the rootless test user too.
//   node bench/experiments.mjs [--runs 20] [--bundle DIR] [--root DIR] [--only a,b] [--keep]
// Variants (each a `node <file>` command line, optionally with a preload):
//   dist        the shipped build (ESM, esbuild splitting, koffi through its JS loader)
//   esm1        ESM, one file (splitting off)
//   cjs1        CommonJS, one file (top-level await replaced by .then)
//   cjs1min     cjs1, minified
//   cjs1cache   cjs1 loaded through vm.Script with a V8 code cache file (what module.enableCompileCache does in Node 22)
//   +koffi      any of the above with `koffi` redirected to its .node file (preload)
//   +jitless    any of the above with zod's JIT off (preload sets globalThis.__zod_globalConfig)
//   +nobus      DBUS_SESSION_BUS_ADDRESS pointing nowhere: rootless, the systemd driver (and dbus-next) is
//               never tried, which is where a rootless run ends up anyway on a host whose systemd --user
//               cannot move processes (measures what trying the bus costs)
// Commands timed: `--version`, `state` of a missing container (start-up of a state command), `run` of
// the bundle's `true`. Wall time median and the mean CPU per run (children's cutime+cstime).
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, rmSync, cpSync, existsSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (n, d) => (args.includes(n) ? args[args.indexOf(n) + 1] : d);
const runs = Number(opt('--runs', '20'));
const only = opt('--only', undefined)?.split(',');
const env = { ...process.env, TSRUNC_LIBDIR: join(REPO, 'helpers', 'build') };
delete env.NODE_EXTRA_CA_CERTS;

// ---- builds: a copy of src/ whose main.ts ends without top-level await (for CJS), bundled next to dist/
const out = mkdtempSync(join(tmpdir(), 'tsrunc-exp-build-'));
symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'));
const src = join(out, 'src');
cpSync(join(REPO, 'src'), src, { recursive: true });
const mainTs = join(src, 'cli', 'main.ts');
writeFileSync(mainTs, readFileSync(mainTs, 'utf8').replace('process.exit(await main(process.argv));', 'void main(process.argv).then((c) => process.exit(c));'));
const common = { bundle: true, platform: 'node', target: 'node20', legalComments: 'none', external: ['koffi', 'dbus-next'], logLevel: 'error' };
await build({ ...common, format: 'esm', entryPoints: [mainTs], outfile: join(out, 'esm1.mjs') });
// CommonJS: the dynamic import of the external dbus-next becomes a require (vm.Script has no loader for import()).
const sdTs = join(src, 'linux', 'cgroups', 'systemd.ts');
writeFileSync(sdTs, readFileSync(sdTs, 'utf8').replace("await import('dbus-next')", "require('dbus-next')"));
const cjsCommon = {
  ...common,
  format: 'cjs',
  entryPoints: [mainTs],
  define: { 'import.meta.url': '__importMetaUrl' },
  banner: { js: 'const __importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
};
await build({ ...cjsCommon, outfile: join(out, 'cjs1.cjs') });
await build({ ...cjsCommon, minify: true, outfile: join(out, 'cjs1min.cjs') });
// A loader that compiles cjs1.cjs with a V8 code cache (produced on first run, then reused).
writeFileSync(
  join(out, 'cjs1cache.cjs'),
  `const fs = require('node:fs'), vm = require('node:vm'), path = require('node:path'), Module = require('node:module');
const file = path.join(__dirname, 'cjs1.cjs'), cacheFile = file + '.v8cache';
const code = fs.readFileSync(file, 'utf8');
let cachedData; try { cachedData = fs.readFileSync(cacheFile); } catch {}
const script = new vm.Script(Module.wrap(code), { filename: file, cachedData });
const fn = script.runInThisContext();
const m = { exports: {} };
fn.call(m.exports, m.exports, Module.createRequire(file), m, file, __dirname);
if (cachedData === undefined || script.cachedDataRejected) process.once('exit', () => { try { fs.writeFileSync(cacheFile, script.createCachedData()); } catch {} });
`,
);
const koffiNode = join(REPO, 'node_modules', '@koromix', `koffi-${process.platform}-${process.arch}`, `${process.platform}_${process.arch}`, 'koffi.node');
writeFileSync(
  join(out, 'koffi-direct.cjs'),
  `const Module = require('node:module'); const load = Module._load;
Module._load = function (req, ...rest) { return load.call(this, req === 'koffi' ? ${JSON.stringify(koffiNode)} : req, ...rest); };`,
);
writeFileSync(join(out, 'zod-jitless.cjs'), 'globalThis.__zod_globalConfig = { jitless: true };');

const files = { dist: join(REPO, 'dist', 'tsrunc.js'), esm1: join(out, 'esm1.mjs'), cjs1: join(out, 'cjs1.cjs'), cjs1min: join(out, 'cjs1min.cjs'), cjs1cache: join(out, 'cjs1cache.cjs') };
const variants = {};
for (const [k, f] of Object.entries(files)) variants[k] = [f];
variants['dist+koffi'] = ['-r', join(out, 'koffi-direct.cjs'), files.dist];
variants['dist+jitless'] = ['-r', join(out, 'zod-jitless.cjs'), files.dist];
variants['cjs1cache+koffi+jitless'] = ['-r', join(out, 'koffi-direct.cjs'), '-r', join(out, 'zod-jitless.cjs'), files.cjs1cache];
const noBus = { DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus' };
const extraEnv = {};
if (process.getuid() !== 0) {
  variants['dist+nobus'] = [files.dist];
  extraEnv['dist+nobus'] = noBus;
  variants['cjs1cache+koffi+jitless+nobus'] = variants['cjs1cache+koffi+jitless'];
  extraEnv['cjs1cache+koffi+jitless+nobus'] = noBus;
}
const chosen = Object.entries(variants).filter(([k]) => only === undefined || only.includes(k));
// The code cache variant writes its cache on the first run.
spawnSync(process.execPath, [files.cjs1cache, '--version'], { env, stdio: 'ignore' });

// ---- a bundle and a state root
const tmp = mkdtempSync(join(tmpdir(), 'tsrunc-exp-'));
const bundle = opt('--bundle', undefined) ?? join(tmp, 'bundle');
if (!existsSync(join(bundle, 'config.json'))) {
  mkdirSync(join(bundle, 'rootfs', 'bin'), { recursive: true });
  cpSync('/bin/busybox', join(bundle, 'rootfs', 'bin', 'busybox'));
  spawnSync('ln', ['-s', 'busybox', join(bundle, 'rootfs', 'bin', 'true')]);
  const spec = process.getuid() === 0 ? ['spec'] : ['spec', '--rootless', '--mappings', 'single'];
  spawnSync(process.execPath, [files.dist, ...spec, '--bundle', bundle], { env });
  const c = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  c.process.args = ['true'];
  c.process.terminal = false;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(c));
}
const root = opt('--root', undefined) ?? join(tmp, 'state');
mkdirSync(root, { recursive: true, mode: 0o700 });

const cpu = () => {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
};
const commands = {
  '--version': () => ['--version'],
  'state (missing id)': () => ['--root', root, 'state', 'nope'],
  run: (i, k) => ['--root', root, 'run', '--bundle', bundle, `exp-${k.replace(/\W/g, '')}-${i}`],
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`node ${process.version}, uid ${process.getuid()}, ${runs} runs per cell, interleaved; wall median / CPU mean (ms)`);
console.log(`| variant | ${Object.keys(commands).map((c) => `${c} wall | cpu`).join(' | ')} |`);
console.log(`| --- | ${Object.keys(commands).map(() => '---: | ---:').join(' | ')} |`);
const res = Object.fromEntries(chosen.map(([k]) => [k, Object.fromEntries(Object.keys(commands).map((c) => [c, { wall: [], cpu: 0 }]))]));
for (const [cname, mk] of Object.entries(commands)) {
  for (let i = 0; i < runs + 2; i++) {
    for (let j = 0; j < chosen.length; j++) {
      const [k, argv] = chosen[(i + j) % chosen.length];
      const c0 = cpu();
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, [...argv, ...mk(i, k)], { env: { ...env, ...extraEnv[k] }, stdio: ['ignore', 'ignore', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (cname !== 'state (missing id)' && r.status !== 0) throw new Error(`${k} ${cname}: ${r.stderr}`);
      if (i >= 2) {
        res[k][cname].wall.push(ms);
        res[k][cname].cpu += (cpu() - c0) / runs;
      }
    }
  }
}
for (const [k] of chosen) console.log(`| ${k} | ${Object.keys(commands).map((c) => `${median(res[k][c].wall).toFixed(1)} | ${res[k][c].cpu.toFixed(1)}`).join(' | ')} |`);
rmSync(tmp, { recursive: true, force: true });
if (!args.includes('--keep')) rmSync(out, { recursive: true, force: true });
else console.log(`builds kept in ${out}`);
