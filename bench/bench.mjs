#!/usr/bin/env node
// `npm run bench [-- --quick] [--json FILE]`: tsrunc against Debian's runc (and crun when it works on
// this host), on one busybox bundle, as the calling user, runtimes interleaved run by run so that drift
// hits all of them equally. Prints a table (median, min, max, tsrunc/runc ratio) and optionally JSON.
//
// Cases:
//   1 run        foreground `run` of `true`, wall time of one CLI invocation
//   2 lifecycle  youki's shape: `create` + `start` + `delete --force` of `true`, back to back, no wait
//   3 seq100     100 sequential `run`s (crun's README shape), total wall time (20 with --quick)
//   4 conc20     20 concurrent `run`s, wall time until the last one exits
//   5 rss        peak RSS of the runtime's CLI process during `run` (/usr/bin/time -f %M), and the RSS
//                of whatever the runtime leaves running beside a detached container
//   6 embedded   containers per second through tsrunc's embedded API (Runtime.run), 200 sequential
//
// Options: --quick, --json FILE, --runs N (cases 1, 2), --cases 1,2,5, --runtimes tsrunc,runc,crun,
//          --tsrunc CMD (default: <repo>/bin/tsrunc), --keep (leave the temporary directory),
//          --mappings single|auto (rootless: the caller's own IDs, the default, or its subordinate ranges,
//          which both runtimes then write through newuidmap/newgidmap),
//          --direct (TSRUNC_SERVER=0: every tsrunc call is the direct Node CLI, the route engines take;
//          by default, as for users, calls go through the warm per-caller server, TSRUNC_SERVER=1;
//          --server says so explicitly),
//          --seccomp (add a Docker-like profile to the config: default ERRNO, every syscall of the host's
//          <asm/unistd_64.h> allowed — what podman and docker pass; needs linux-libc-dev).
// Works as root (config from `tsrunc spec`) and as an unprivileged user (`tsrunc spec --rootless
// --mappings single`, the one mapping runc can also do without newuidmap); the state roots are in a
// temporary directory passed with --root, so nothing outside it is touched.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, copyFileSync, symlinkSync, readFileSync, writeFileSync, rmSync, openSync, closeSync, existsSync, readdirSync, chmodSync, statSync } from 'node:fs';
import { tmpdir, release, cpus, loadavg } from 'node:os';
import { join, dirname, resolve, delimiter } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');

// ---------------------------------------------------------------- options
function parseArgs(argv) {
  const o = { quick: false, json: undefined, runs: undefined, cases: [1, 2, 3, 4, 5, 6], runtimes: undefined, tsrunc: undefined, keep: false, mappings: 'single', seccomp: false, server: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) die(`${a} needs a value`);
      return argv[++i];
    };
    if (a === '--quick') o.quick = true;
    else if (a === '--json') o.json = val();
    else if (a === '--runs') o.runs = positive(val(), a);
    else if (a === '--cases') o.cases = val().split(',').map((c) => positive(c, a));
    else if (a === '--runtimes') o.runtimes = val().split(',');
    else if (a === '--tsrunc') o.tsrunc = val();
    else if (a === '--keep') o.keep = true;
    else if (a === '--seccomp') o.seccomp = true;
    else if (a === '--server') o.server = true;
    else if (a === '--direct') o.server = false;
    else if (a === '--mappings') {
      o.mappings = val();
      if (o.mappings !== 'single' && o.mappings !== 'auto') die(`--mappings: "${o.mappings}" is not one of single, auto`);
    }
    else if (a === '-h' || a === '--help') {
      process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
      process.exit(0);
    } else die(`unknown option ${a} (see --help)`);
  }
  return o;
}

function positive(s, flag) {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 1) die(`${flag}: "${s}" is not a positive integer`);
  return n;
}

function die(msg) {
  process.stderr.write(`bench: ${msg}\n`);
  process.exit(2);
}

const opts = parseArgs(process.argv.slice(2));
const Q = opts.quick;
const N_SINGLE = opts.runs ?? (Q ? 10 : 30); // cases 1 and 2: samples per runtime
const WARMUP = Q ? 2 : 3;
const SEQ_COUNT = Q ? 20 : 100; // case 3
const SEQ_ROUNDS = Q ? 1 : 3;
const CONC_COUNT = 20; // case 4
const CONC_ROUNDS = Q ? 3 : 5;
const RSS_RUNS = Q ? 3 : 5; // case 5
const EMB_COUNT = 200; // case 6
const EMB_ROUNDS = Q ? 1 : 3;

// The children's environment: NODE_EXTRA_CA_CERTS costs every Node start ~50 ms on these machines and is
// not a property of the program.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
// tsrunc's front end hands calls to its warm server unless TSRUNC_SERVER=0 (runc ignores it): both
// spelled out, so the run says which it measured whatever the default.
env.TSRUNC_SERVER = opts.server ? '1' : '0';

const uid = process.getuid();
const rootless = uid !== 0;

// ---------------------------------------------------------------- runtimes
function which(cmd) {
  for (const d of (env.PATH ?? '').split(delimiter)) {
    if (d === '') continue;
    const p = join(d, cmd);
    try {
      execFileSync('test', ['-x', p]);
      return p;
    } catch {
      // next
    }
  }
  return null;
}

function firstLine(cmd, args) {
  try {
    return execFileSync(cmd, args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n')[0].trim();
  } catch {
    return null;
  }
}

const tsruncCmd = opts.tsrunc !== undefined ? opts.tsrunc.split(' ') : [join(REPO, 'bin', 'tsrunc')];
const distIndex = join(REPO, 'dist', 'index.js');
if (opts.tsrunc === undefined && !existsSync(join(REPO, 'dist', 'tsrunc.js'))) die('dist/tsrunc.js is missing: run `npm run build` first');

/** name → argv prefix; crun and runc only when installed. */
const candidates = { tsrunc: tsruncCmd };
for (const rt of ['runc', 'crun']) {
  const p = which(rt);
  if (p !== null) candidates[rt] = [p];
}
const wanted = opts.runtimes ?? ['tsrunc', 'runc', 'crun'];

// ---------------------------------------------------------------- bundle
const tmp = mkdtempSync(join(tmpdir(), 'tsrunc-bench-'));
chmodSync(tmp, 0o755);
const bundle = join(tmp, 'bundle');
const rootfs = join(bundle, 'rootfs');
mkdirSync(join(rootfs, 'bin'), { recursive: true });
for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(rootfs, d), { recursive: true });
copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
for (const a of ['sh', 'true', 'sleep']) symlinkSync('busybox', join(rootfs, 'bin', a));
writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');

const specArgs = rootless ? ['spec', '--rootless', '--mappings', opts.mappings] : ['spec'];
const specRun = spawnSync(tsruncCmd[0], [...tsruncCmd.slice(1), ...specArgs, '--bundle', bundle], { env, encoding: 'utf8' });
if (specRun.status !== 0) die(`tsrunc ${specArgs.join(' ')} failed: ${specRun.stderr.trim()}`);
const config = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
config.process.args = ['true'];
config.process.terminal = false;
// crun 1.8 refuses "1.2.0" ("unknown version specified"); runc 1.1 reports spec 1.0.2-dev. The version
// string is the only change, and it is the same for every runtime.
if (opts.seccomp) {
  const header = ['/usr/include/x86_64-linux-gnu/asm/unistd_64.h', '/usr/include/asm/unistd_64.h'].find((p) => existsSync(p));
  if (header === undefined) die('--seccomp: <asm/unistd_64.h> not found (apt-get install linux-libc-dev)');
  const names = [...readFileSync(header, 'utf8').matchAll(/#define __NR_(\w+)\s+\d+/g)].map((m) => m[1]);
  config.linux.seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
    syscalls: [{ names, action: 'SCMP_ACT_ALLOW' }],
  };
}
const specVersion = config.ociVersion;
config.ociVersion = '1.0.2';
writeFileSync(join(bundle, 'config.json'), JSON.stringify(config, null, 2));
// Case 5's detached container: the same config running `sleep`, in a second bundle on the same rootfs.
const sleepBundle = join(tmp, 'sleep-bundle');
mkdirSync(sleepBundle);
writeFileSync(join(sleepBundle, 'config.json'), JSON.stringify({ ...config, root: { ...config.root, path: rootfs }, process: { ...config.process, args: ['sleep', '1000'] } }, null, 2));
chmodSync(bundle, 0o755);

const stateRoots = {};
for (const rt of Object.keys(candidates)) {
  stateRoots[rt] = join(tmp, 'state', rt);
  mkdirSync(stateRoots[rt], { recursive: true, mode: 0o700 });
}
const errLog = join(tmp, 'stderr.log');

// ---------------------------------------------------------------- invoking
let seq = 0;
const nextId = (rt, tag) => `${tag}-${rt}-${process.pid}-${seq++}`;
const argvFor = (rt, args) => [...candidates[rt], '--root', stateRoots[rt], ...args];

/** CPU time (user + system, ms) of all the children this process has reaped: /proc/self/stat cutime +
 * cstime, in clock ticks (10 ms); cumulative, so a difference over many runs is exact to one tick. */
function childCpuMs() {
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** CPU time (ms) of tsrunc's warm servers of this uid (TSRUNC_SERVER=1, see the README): their own and
 * their reaped children's, which a CLI call served by them costs besides the front end's. */
function serverCpuMs() {
  let ms = 0;
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      // Only ours: other users' servers on the machine are not this run's cost.
      if (statSync(`/proc/${d}`).uid !== uid) continue;
      if (!readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('\0--tsrunc-server\0')) continue;
      const f = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ');
      ms += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 10;
    } catch {
      // gone, or another user's
    }
  }
  return ms;
}

/** The largest VmRSS (KiB) seen of our tsrunc servers, sampled after each case (--server). */
let serverRssKb = 0;
function noteServerRss() {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (statSync(`/proc/${d}`).uid !== uid || !readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('\0--tsrunc-server\0')) continue;
      serverRssKb = Math.max(serverRssKb, readStatusKb(Number(d), 'VmRSS') ?? 0);
    } catch {
      // gone
    }
  }
}

/** CPU of a runtime's calls: the children this process reaped, and for tsrunc its servers too. */
const cpuNow = (rt) => childCpuMs() + (rt === 'tsrunc' ? serverCpuMs() : 0);

/** Runs one CLI command synchronously; returns its wall time in ms, throws with its stderr on failure. */
function timed(rt, args, extraEnv) {
  const argv = argvFor(rt, args);
  const fd = openSync(errLog, 'w');
  const t0 = process.hrtime.bigint();
  const r = spawnSync(argv[0], argv.slice(1), { env: extraEnv ? { ...env, ...extraEnv } : env, stdio: ['ignore', 'ignore', fd], cwd: tmp });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  closeSync(fd);
  if (r.status !== 0 || r.error !== undefined) {
    const err = readFileSync(errLog, 'utf8').trim();
    throw new Error(`${argv.join(' ')}: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}${err !== '' ? `: ${err}` : ''}`);
  }
  return ms;
}

/** The same, asynchronously (case 4). */
function timedAsync(rt, args) {
  const argv = argvFor(rt, args);
  return new Promise((res, rej) => {
    const c = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'ignore', 'pipe'], cwd: tmp });
    let err = '';
    c.stderr.on('data', (d) => (err += d));
    c.on('error', rej);
    c.on('close', (code, sig) => (code === 0 ? res() : rej(new Error(`${argv.join(' ')}: exit ${code ?? sig}: ${err.trim()}`))));
  });
}

const runArgs = (rt, tag = 'run') => ['run', '--bundle', bundle, nextId(rt, tag)];

// Which runtimes work here: one `run` each; a failing one is reported and left out.
const runtimes = [];
const skipped = {};
for (const rt of wanted) {
  if (candidates[rt] === undefined) {
    skipped[rt] = 'not installed';
    continue;
  }
  try {
    timed(rt, runArgs(rt, 'probe'));
    runtimes.push(rt);
  } catch (e) {
    skipped[rt] = String(e.message).split('\n').pop().replace(/^.*?: exit \d+: /, '');
  }
}
if (!runtimes.includes('tsrunc')) die(`tsrunc does not run the bench bundle: ${skipped.tsrunc}`);

const versions = {
  node: process.version,
  kernel: release(),
  cpus: `${cpus().length} × ${cpus()[0]?.model ?? '?'}`,
  tsrunc: firstLine(candidates.tsrunc[0], [...candidates.tsrunc.slice(1), '--version']),
  tsruncCommit: (() => {
    try {
      // safe.directory: the rootless user reads a tree it does not own.
      const git = (...a) => execFileSync('git', ['-c', `safe.directory=${REPO}`, '-C', REPO, ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      const head = git('rev-parse', '--short', 'HEAD');
      const dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
      return head + (dirty ? '+dirty' : '');
    } catch {
      return null;
    }
  })(),
  runc: candidates.runc ? firstLine(candidates.runc[0], ['--version']) : null,
  crun: candidates.crun ? firstLine(candidates.crun[0], ['--version']) : null,
};

// ---------------------------------------------------------------- statistics
function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1], n: s.length, samples };
}

/** Runtime order for round `i`: rotated, so no runtime always goes first (cache, CPU frequency). */
const order = (i) => runtimes.map((_, k) => runtimes[(i + k) % runtimes.length]);

const log = (m) => process.stderr.write(m + '\n');
const results = [];
const record = (id, name, unit, better, perRuntime, note) => {
  const r = { id, name, unit, better, results: {}, ratio: null, note };
  for (const [rt, samples] of Object.entries(perRuntime)) if (samples.length > 0) r.results[rt] = stats(samples);
  if (r.results.tsrunc && r.results.runc && r.results.runc.median > 0) r.ratio = r.results.tsrunc.median / r.results.runc.median;
  results.push(r);
};
const empty = () => Object.fromEntries(runtimes.map((rt) => [rt, []]));

// ---------------------------------------------------------------- cases
function case1() {
  log(`case 1: run of true, ${N_SINGLE} runs each (+${WARMUP} warm-up)`);
  const t = empty();
  const cpu = Object.fromEntries(runtimes.map((rt) => [rt, 0]));
  for (let i = 0; i < WARMUP + N_SINGLE; i++) {
    for (const rt of order(i)) {
      const c0 = cpuNow(rt);
      const ms = timed(rt, runArgs(rt));
      if (i >= WARMUP) {
        t[rt].push(ms);
        cpu[rt] += cpuNow(rt) - c0;
      }
    }
  }
  record('run', 'run (foreground, `true`)', 'ms', 'lower', t);
  // Less sensitive than wall time to other load on the machine: the mean, so there is no min/max.
  record('run.cpu', '  CPU user+sys per run (mean)', 'ms', 'lower', Object.fromEntries(runtimes.map((rt) => [rt, [cpu[rt] / N_SINGLE]])), 'mean CPU time of the runtime and everything it waited for (the container too), from cutime+cstime over all runs, plus tsrunc\'s warm servers\' CPU (TSRUNC_SERVER=1)');
}

function case2() {
  log(`case 2: create + start + delete --force, ${N_SINGLE} runs each (+${WARMUP} warm-up)`);
  const t = empty();
  const phases = { create: empty(), start: empty(), delete: empty() };
  const cpu = Object.fromEntries(runtimes.map((rt) => [rt, 0]));
  for (let i = 0; i < WARMUP + N_SINGLE; i++) {
    for (const rt of order(i)) {
      const id = nextId(rt, 'life');
      const c0 = cpuNow(rt);
      const c = timed(rt, ['create', '--bundle', bundle, id]);
      const s = timed(rt, ['start', id]);
      const d = timed(rt, ['delete', '--force', id]);
      if (i >= WARMUP) {
        cpu[rt] += cpuNow(rt) - c0;
        t[rt].push(c + s + d);
        phases.create[rt].push(c);
        phases.start[rt].push(s);
        phases.delete[rt].push(d);
      }
    }
  }
  record('lifecycle', 'create + start + delete --force', 'ms', 'lower', t, 'youki shape: three CLI calls back to back, `true` as the process, delete --force without waiting');
  for (const p of ['create', 'start', 'delete']) record(`lifecycle.${p}`, `  of which ${p}`, 'ms', 'lower', phases[p]);
  record('lifecycle.cpu', '  CPU user+sys per lifecycle (mean)', 'ms', 'lower', Object.fromEntries(runtimes.map((rt) => [rt, [cpu[rt] / N_SINGLE]])));
}

function case3() {
  log(`case 3: ${SEQ_COUNT} sequential runs, ${SEQ_ROUNDS} round(s), interleaved run by run`);
  const t = empty();
  for (let round = 0; round < SEQ_ROUNDS; round++) {
    const sum = Object.fromEntries(runtimes.map((rt) => [rt, 0]));
    for (let i = 0; i < SEQ_COUNT; i++) for (const rt of order(i)) sum[rt] += timed(rt, runArgs(rt, 'seq'));
    for (const rt of runtimes) t[rt].push(sum[rt]);
  }
  record('seq', `${SEQ_COUNT} sequential runs (total)`, 'ms', 'lower', t, 'total = sum of back-to-back run wall times, runtimes interleaved run by run');
}

async function case4() {
  log(`case 4: ${CONC_COUNT} concurrent runs, ${CONC_ROUNDS} rounds`);
  const t = empty();
  for (let round = 0; round < CONC_ROUNDS; round++) {
    for (const rt of order(round)) {
      const t0 = process.hrtime.bigint();
      await Promise.all(Array.from({ length: CONC_COUNT }, () => timedAsync(rt, runArgs(rt, 'conc'))));
      t[rt].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  record('conc', `${CONC_COUNT} concurrent runs (wall)`, 'ms', 'lower', t, 'all started at once from the bench process; rounds interleave runtimes');
}

function readStatusKb(pid, field) {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** All processes of ours (same real uid) as pid → {ppid, comm}. */
function processes() {
  const out = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const st = readFileSync(`/proc/${d}/status`, 'utf8');
      const u = /^Uid:\s+(\d+)/m.exec(st);
      if (u === null || Number(u[1]) !== uid) continue;
      out.set(Number(d), { ppid: Number(/^PPid:\s+(\d+)/m.exec(st)[1]), comm: /^Name:\s+(.*)$/m.exec(st)[1], rssKb: Number(/^VmRSS:\s+(\d+)/m.exec(st)?.[1] ?? 0) });
    } catch {
      // gone
    }
  }
  return out;
}

function case5() {
  const time = existsSync('/usr/bin/time') ? '/usr/bin/time' : null;
  const peak = empty();
  if (time === null) {
    log('case 5: /usr/bin/time is missing (apt-get install time): peak RSS skipped');
  } else {
    log(`case 5: peak RSS of run, ${RSS_RUNS} runs each`);
    for (let i = 0; i < RSS_RUNS; i++) {
      for (const rt of order(i)) {
        const out = join(tmp, 'time.out');
        const argv = argvFor(rt, runArgs(rt, 'rss'));
        const r = spawnSync(time, ['-o', out, '-f', '%M', ...argv], { env, stdio: ['ignore', 'ignore', 'pipe'], cwd: tmp });
        if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}`);
        peak[rt].push(Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024);
      }
    }
    record('rss.peak', 'peak RSS of the CLI during run', 'MiB', 'lower', peak, '/usr/bin/time %M: the largest of the CLI process and the children it reaped');
  }

  // What each runtime leaves running beside a detached container: once the CLI has exited, anything it
  // left is re-parented to the same reaper as the container's init (pid 1 or the nearest subreaper).
  // The CLI runs with BENCH_DETACH_MARK=<token> in its environment, which whatever it forks inherits
  // (the container's init gets the config's env instead). So: processes that appeared with `run -d`
  // and carry the token — or whose environment is unreadable (non-dumpable) and whose parent is that
  // reaper — minus the init and its descendants, plus their own descendants; summed VmRSS 300 ms after
  // the CLI returned, counting only those still there one second later. Other people's processes on the
  // machine are not counted.
  log('case 5: what stays beside a detached container');
  const beside = empty();
  const initRss = empty();
  const details = {};
  for (const rt of order(0)) {
    const id = nextId(rt, 'det');
    const before = processes();
    const token = `bench-${process.pid}-${id}`;
    timed(rt, ['run', '--detach', '--bundle', sleepBundle, id], { BENCH_DETACH_MARK: token });
    const pidAfter = Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    void pidAfter;
    const after = processes();
    let initPid = null;
    try {
      const st = spawnSync(argvFor(rt, [])[0], [...argvFor(rt, ['state', id]).slice(1)], { env, encoding: 'utf8' });
      initPid = JSON.parse(st.stdout).pid;
    } catch {
      // leave null
    }
    const closure = (roots) => {
      const set = new Set(roots);
      for (let grew = true; grew; ) {
        grew = false;
        for (const [pid, p] of after) if (!set.has(pid) && set.has(p.ppid)) (set.add(pid), (grew = true));
      }
      return set;
    };
    const inContainer = closure(initPid !== null ? [initPid] : []);
    const reaper = initPid !== null ? (after.get(initPid)?.ppid ?? 1) : 1;
    const marked = (pid, p) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`BENCH_DETACH_MARK=${token}`);
      } catch (e) {
        return e.code === 'EACCES' && p.ppid === reaper && p.rssKb > 0; // non-dumpable: judge by parent
      }
    };
    const orphans = [...after].filter(([pid, p]) => !before.has(pid) && !inContainer.has(pid) && marked(pid, p)).map(([pid]) => pid);
    const leftSet = closure(orphans);
    // Steady, not transient (a helper still exiting under load): still there a second later.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
    const later = processes();
    // The container itself is not "left beside" it, also when what stays (a monitor) is its parent.
    const left = [...after]
      .filter(([pid]) => leftSet.has(pid) && !inContainer.has(pid) && !before.has(pid) && later.get(pid)?.comm === after.get(pid).comm)
      .map(([pid, p]) => [pid, later.get(pid) ?? p]);
    beside[rt].push(left.reduce((s, [, p]) => s + p.rssKb, 0) / 1024);
    details[rt] = { initPid, initComm: initPid !== null ? after.get(initPid)?.comm : null, left: left.map(([pid, p]) => ({ pid, comm: p.comm, rssKb: p.rssKb })) };
    if (initPid !== null) initRss[rt].push((readStatusKb(initPid, 'VmRSS') ?? 0) / 1024);
    try {
      timed(rt, ['delete', '--force', id]);
    } catch (e) {
      log(`  cleanup of ${id}: ${e.message}`);
    }
  }
  record('rss.beside', 'RSS left beside a detached container', 'MiB', 'lower', beside, JSON.stringify(details));
  record('rss.init', '  (the container init itself: busybox sleep)', 'MiB', 'lower', initRss);

  // The created-but-not-started init: a clone of the CLI waiting at the exec barrier.
  const created = empty();
  for (const rt of order(0)) {
    const id = nextId(rt, 'cr');
    timed(rt, ['create', '--bundle', sleepBundle, id]);
    const st = spawnSync(argvFor(rt, [])[0], [...argvFor(rt, ['state', id]).slice(1)], { env, encoding: 'utf8' });
    const pid = JSON.parse(st.stdout).pid;
    created[rt].push((readStatusKb(pid, 'VmRSS') ?? 0) / 1024);
    timed(rt, ['delete', '--force', id]);
  }
  record('rss.created', 'RSS of a created (not started) init', 'MiB', 'lower', created, 'VmRSS counts pages shared copy-on-write with the CLI that cloned it');
}

function case6() {
  log(`case 6: embedded API, ${EMB_ROUNDS} round(s) of ${EMB_COUNT} sequential Runtime.run`);
  const r = spawnSync(process.execPath, [join(REPO, 'bench', 'embedded.mjs'), '--dist', distIndex, '--bundle', bundle, '--root', join(tmp, 'state', 'embedded'), '--count', String(EMB_COUNT), '--rounds', String(EMB_ROUNDS)], {
    env,
    encoding: 'utf8',
    cwd: tmp,
  });
  if (r.status !== 0) throw new Error(`embedded API: ${r.stderr.trim()}`);
  const out = JSON.parse(r.stdout);
  record('embedded', `embedded API: ${EMB_COUNT} sequential Runtime.run`, 'containers/s', 'higher', { tsrunc: out.rates }, `first container ${out.firstMs.toFixed(1)} ms after import; heap ${out.heapMiB.toFixed(1)} MiB, RSS ${out.rssMiB.toFixed(1)} MiB after`);
  record('embedded.cpu', '  CPU-bound rate (1000 / CPU ms per container)', 'containers/s', 'higher', { tsrunc: out.cpuRates }, "CPU of the embedding process, the containers it reaped and its live children (the Runtime's spawner): the rate one idle core would give");
  // For scale: the CLI rate of case 3.
  const seqr = results.find((x) => x.id === 'seq');
  if (seqr) {
    const per = {};
    for (const [rt, s] of Object.entries(seqr.results)) per[rt] = s.samples.map((ms) => (SEQ_COUNT * 1000) / ms);
    record('cli.rate', '  for scale: CLI rate of case 3', 'containers/s', 'higher', per);
  }
}

// ---------------------------------------------------------------- main
// Ctrl-C reaches the runtime being timed too (same process group): its failure ends the case, and the
// finally below cleans up instead of Node exiting on the spot.
process.on('SIGINT', () => log('bench: interrupted'));
process.on('SIGTERM', () => log('bench: terminated'));
const started = new Date();
const loadBefore = loadavg()[0];
log(`bench: ${runtimes.join(', ')} as uid ${uid}${rootless ? ' (rootless)' : ''} in ${tmp}${Object.keys(skipped).length ? `; skipped: ${Object.entries(skipped).map(([k, v]) => `${k} (${v})`).join('; ')}` : ''}`);
let failed = null;
try {
  for (const c of opts.cases) {
    if (c === 1) case1();
    else if (c === 2) case2();
    else if (c === 3) case3();
    else if (c === 4) await case4();
    else if (c === 5) case5();
    else if (c === 6) case6();
    else die(`no case ${c}`);
    noteServerRss();
  }
} catch (e) {
  failed = e;
} finally {
  // Containers a failed (or interrupted) case left behind: delete --force whatever each state root lists.
  for (const rt of runtimes) {
    let ids = [];
    try {
      ids = readdirSync(stateRoots[rt]).filter((d) => existsSync(join(stateRoots[rt], d, 'state.json')));
    } catch {
      // no state root
    }
    for (const id of ids) spawnSync(argvFor(rt, [])[0], argvFor(rt, ['delete', '--force', id]).slice(1), { env, stdio: 'ignore' });
    if (ids.length > 0) log(`bench: removed ${ids.length} ${rt} container(s) left by a failed case`);
  }
  if (!opts.keep) rmSync(tmp, { recursive: true, force: true });
}

// ---------------------------------------------------------------- report
const fmt = (v, unit) => (v === undefined ? '—' : unit === 'ms' && v >= 1000 ? `${(v / 1000).toFixed(2)} s` : v.toFixed(unit === 'containers/s' ? 0 : 1));
const lines = [];
lines.push(`tsrunc ${versions.tsrunc ?? '?'} (${versions.tsruncCommit ?? 'no git'}) · node ${versions.node} · kernel ${versions.kernel} · ${versions.cpus}`);
lines.push(`runc: ${versions.runc ?? 'not installed'} · crun: ${versions.crun ?? 'not installed'}${skipped.crun ? ` (skipped: ${skipped.crun})` : ''}`);
lines.push(`load average ${loadBefore.toFixed(2)} at start, ${loadavg()[0].toFixed(2)} at end (${cpus().length} CPUs; other work on the machine inflates wall times)`);
lines.push(`uid ${uid}${rootless ? `, rootless, config from \`tsrunc ${specArgs.join(' ')}\`` : ', config from `tsrunc spec`'}; process ["true"]${opts.seccomp ? `; seccomp: ${config.linux.seccomp.syscalls[0].names.length} syscalls allowed, default ERRNO` : ''}; NODE_EXTRA_CA_CERTS unset; ${opts.server ? 'TSRUNC_SERVER=1 (calls through the warm server)' : 'TSRUNC_SERVER=0 (the direct Node CLI)'}${Q ? '; --quick' : ''}`);
lines.push('');
const cols = ['case', 'unit', ...runtimes.flatMap((rt) => [`${rt} median`, 'min', 'max']), 'tsrunc/runc'];
const rows = results.map((r) => [
  r.name,
  r.unit,
  ...runtimes.flatMap((rt) => {
    const s = r.results[rt];
    return s ? [fmt(s.median, r.unit), fmt(s.min, r.unit), fmt(s.max, r.unit)] : ['—', '—', '—'];
  }),
  r.ratio === null ? '—' : r.ratio.toFixed(2),
]);
lines.push('| ' + cols.join(' | ') + ' |');
lines.push('| ' + cols.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ') + ' |');
for (const row of rows) lines.push('| ' + row.join(' | ') + ' |');
const notes = results.filter((r) => r.note && !r.note.startsWith('{')).map((r) => `- ${r.name.trim()}: ${r.note}`);
const beside = results.find((r) => r.id === 'rss.beside');
if (beside) {
  for (const [rt, d] of Object.entries(JSON.parse(beside.note))) {
    notes.push(`- beside a detached ${rt} container (init pid ${d.initPid}, ${d.initComm}): ${d.left.length === 0 ? 'nothing' : d.left.map((p) => `${p.comm} ${(p.rssKb / 1024).toFixed(1)} MiB`).join(', ')}`);
  }
}
if (opts.server) notes.push(`- the warm tsrunc server (a Node process that stays 10 s after the last call): VmRSS up to ${(serverRssKb / 1024).toFixed(1)} MiB, sampled after each case; the CLI rows are the C front end's`);
lines.push('', ...notes);
process.stdout.write(lines.join('\n') + '\n');

if (opts.json !== undefined) {
  const doc = {
    started: started.toISOString(),
    finished: new Date().toISOString(),
    uid,
    rootless,
    loadAverage: { start: loadBefore, end: loadavg()[0] },
    quick: Q,
    server: opts.server ? { maxRssKb: serverRssKb } : false,
    versions,
    skipped,
    config: { from: specArgs.join(' '), specOciVersion: specVersion, ociVersion: config.ociVersion, args: config.process.args, seccompSyscalls: config.linux.seccomp?.syscalls[0].names.length ?? 0 },
    cases: results.map((r) => ({ ...r, note: r.id === 'rss.beside' ? JSON.parse(r.note) : r.note })),
    error: failed ? String(failed.message) : undefined,
  };
  writeFileSync(opts.json, JSON.stringify(doc, null, 2) + '\n');
  log(`bench: JSON written to ${opts.json}`);
}
if (failed) {
  log(`bench: ${failed.message}`);
  process.exit(1);
}
