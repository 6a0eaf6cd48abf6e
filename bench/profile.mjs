// Where a tsrunc CLI invocation spends its time: runs one command K times under
// `node --cpu-prof --import bench/probe.mjs` and prints, averaged over the runs,
//   - the probe's timeline (Node bootstrap, koffi/dbus-next loads, config read, newuidmap, exit),
//   - inclusive CPU time of the named functions that matter (config parse, plan, spawn, cgroups…),
//   - self time per file (node internals, the bundle's chunks, koffi, dbus-next) and per function.
//
//   node bench/profile.mjs [--runs 10] [--interval 100] [--top 25] [--tsrunc dist/tsrunc.js] [--node-arg A]… [--env K=V]… -- run --bundle B --root R
// A container id is appended to `run`/`create` (prof-<n>) and `create` is followed by `delete --force`.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const sep = argv.indexOf('--');
if (sep < 0) {
  process.stderr.write('usage: node bench/profile.mjs [--runs N] [--interval µs] [--top N] [--tsrunc FILE] -- <tsrunc args>\n');
  process.exit(2);
}
const own = argv.slice(0, sep);
const cmd = argv.slice(sep + 1);
const opt = (name, dflt) => {
  const i = own.indexOf(name);
  return i >= 0 ? own[i + 1] : dflt;
};
const runs = Number(opt('--runs', '10'));
const interval = Number(opt('--interval', '100'));
const top = Number(opt('--top', '25'));
const cli = resolve(opt('--tsrunc', join(REPO, 'dist', 'tsrunc.js')));
const repeated = (name) => own.flatMap((a, i) => (a === name ? [own[i + 1]] : []));
const nodeArgs = repeated('--node-arg');
const extraEnv = Object.fromEntries(repeated('--env').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));

const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
const dir = mkdtempSync(join(tmpdir(), 'tsrunc-prof-'));
const probeOut = join(dir, 'probe.jsonl');

// Named functions whose inclusive time is worth knowing (missing ones are simply not printed).
const WATCH = [
  'main', 'createCLI', 'action', 'context', 'makeContext', 'runContainer', 'createContainer', 'startContainer', 'deleteContainer',
  'loadConfig', 'parseJsonLossless', 'configSchema', 'parseConfig', 'safeParse', 'validateConfig', 'unsupportedFields',
  'planCgroup', 'readSelectFacts', 'openDriver', 'placeCgroup', 'releaseCgroup', 'planFor', 'buildPlan', 'compileSeccomp',
  'encodePlan', 'encode', 'spawn', 'native', 'load', 'writeIdMaps', 'findMapHelpers', 'readSubIds', 'waitUntilReady',
  'releaseWithHooks', 'waitExit', 'save', 'remove', 'reserve', 'openDir', 'readCaller', 'userName', 'isRootless',
  'hostHasKcore', 'lookupExecUser', 'readRootfsFile', 'readProcStat', 'checkPrivateRoot', 'liveStatus',
];

const probes = [];
const profiles = [];
const walls = [];
for (let i = 0; i < runs; i++) {
  const id = `prof-${process.pid}-${i}`;
  const args = [...cmd];
  const ci = args.findIndex((a) => a === 'run' || a === 'create');
  if (ci >= 0) args.push(id);
  const profDir = join(dir, `p${i}`);
  const t0 = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', profDir, '--cpu-prof-interval', String(interval), '--import', join(REPO, 'bench', 'probe.mjs'), ...nodeArgs, cli, ...args], {
    env: { ...env, ...extraEnv, TSRUNC_PROBE: probeOut },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  walls.push(Number(process.hrtime.bigint() - t0) / 1e6);
  if (r.status !== 0) {
    process.stderr.write(`profile: tsrunc ${args.join(' ')}: exit ${r.status}: ${r.stderr}\n`);
    process.exit(1);
  }
  if (args[ci] === 'create') {
    const rootIdx = args.indexOf('--root');
    spawnSync(process.execPath, [cli, ...(rootIdx >= 0 ? ['--root', args[rootIdx + 1]] : []), 'delete', '--force', id], { env, stdio: 'ignore' });
  }
  for (const f of readdirSync(profDir)) profiles.push(JSON.parse(readFileSync(join(profDir, f), 'utf8')));
}
for (const line of readFileSync(probeOut, 'utf8').trim().split('\n')) probes.push(JSON.parse(line));

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const pad = (s, n) => String(s).padEnd(n);
const num = (v) => v.toFixed(1).padStart(7);

console.log(`tsrunc ${cmd.join(' ')} — ${runs} runs under --cpu-prof (interval ${interval} µs); wall median ${median(walls).toFixed(1)} ms (profiling inflates it)`);

// ---- probe timeline: median per mark name (first occurrence in each run)
console.log('\ntimeline (ms since process start, median over runs):');
const node = Object.keys(probes[0].node);
for (const k of node) console.log(`  ${pad('node ' + k, 40)}${num(median(probes.map((p) => p.node[k])))}`);
const names = [];
for (const p of probes) for (const [n] of p.marks) if (!names.includes(n)) names.push(n);
for (const n of names) {
  const xs = probes.map((p) => p.marks.find(([m]) => m === n)?.[1]).filter((x) => x !== undefined);
  console.log(`  ${pad(n, 40)}${num(median(xs))}${xs.length < probes.length ? `  (${xs.length}/${probes.length} runs)` : ''}`);
}
console.log(`  ${pad('RSS at exit (MiB)', 40)}${num(median(probes.map((p) => p.rssMiB)))}`);

// ---- CPU profile aggregation
function analyse(prof) {
  const byId = new Map(prof.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map(); // node id → ms
  for (let i = 0; i < prof.samples.length; i++) {
    const dt = (prof.timeDeltas[i + 1] ?? 0) / 1000;
    self.set(prof.samples[i], (self.get(prof.samples[i]) ?? 0) + dt);
  }
  const incl = new Map(); // function name → ms (counted once per sample even when recursive)
  const selfFn = new Map();
  const selfFile = new Map();
  const fileOf = (url) => {
    if (url === '') return '(native/vm)';
    if (url.startsWith('node:')) return 'node internals';
    const u = url.replace(/^file:\/\//, '');
    if (u.includes('node_modules/')) return u.replace(/^.*node_modules\//, '').split('/').slice(0, u.includes('@') ? 2 : 1).join('/');
    return basename(u);
  };
  for (const [id, ms] of self) {
    const n = byId.get(id);
    const fn = n.callFrame.functionName || `(anonymous ${fileOf(n.callFrame.url)}:${n.callFrame.lineNumber})`;
    const key = `${fn} [${fileOf(n.callFrame.url)}]`;
    selfFn.set(key, (selfFn.get(key) ?? 0) + ms);
    selfFile.set(fileOf(n.callFrame.url) === '(native/vm)' ? n.callFrame.functionName || '(native/vm)' : fileOf(n.callFrame.url), (selfFile.get(fileOf(n.callFrame.url) === '(native/vm)' ? n.callFrame.functionName || '(native/vm)' : fileOf(n.callFrame.url)) ?? 0) + ms);
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const f = byId.get(cur).callFrame.functionName;
      if (WATCH.includes(f) && !seen.has(f)) {
        seen.add(f);
        incl.set(f, (incl.get(f) ?? 0) + ms);
      }
    }
  }
  const total = (prof.endTime - prof.startTime) / 1000;
  return { incl, selfFn, selfFile, total };
}
const as = profiles.map(analyse);
const avg = (pick) => {
  const sum = new Map();
  for (const a of as) for (const [k, v] of pick(a)) sum.set(k, (sum.get(k) ?? 0) + v / as.length);
  return [...sum].sort((x, y) => y[1] - x[1]);
};
console.log(`\nprofiled span (from profiler start to exit): ${num(as.reduce((s, a) => s + a.total, 0) / as.length)} ms average`);
console.log('\ninclusive time of watched functions (ms, average per run):');
for (const [k, v] of avg((a) => a.incl)) if (v >= 0.2) console.log(`  ${pad(k, 40)}${num(v)}`);
console.log('\nself time per file (ms, average per run):');
for (const [k, v] of avg((a) => a.selfFile).slice(0, top)) if (v >= 0.2) console.log(`  ${pad(k, 40)}${num(v)}`);
console.log(`\nself time per function, top ${top} (ms, average per run):`);
for (const [k, v] of avg((a) => a.selfFn).slice(0, top)) console.log(`  ${pad(k.slice(0, 70), 72)}${num(v)}`);
if (!own.includes('--keep')) rmSync(dir, { recursive: true, force: true });
else console.log(`\nprofiles kept in ${dir}`);
void existsSync;
