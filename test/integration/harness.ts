// Helpers for the integration suites: busybox bundles built from `runc spec`, running runc and tsrunc
// side by side on identical bundles, and the checks that a failed command left nothing behind.
//
// Set TSRUNC_DIFF_SELF=1 to put runc on both sides: it proves the harness and the expectations of the
// differential and lifecycle cases sound on this host before tsrunc can run anything.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  closeSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';

// ---------------------------------------------------------------------------------------------------
// Where things are

/** The repository root: the nearest directory above this module that holds a package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

/** The CLI under test: the C front end (helpers/frontend.c), which runs the Node CLI or its server. */
export function tsruncBin(): string {
  return join(repoRoot(), 'bin', 'tsrunc');
}

/** The Node CLI itself, which the front end runs for a direct call (and `generate` puts in units). */
export function cliScript(): string {
  return join(repoRoot(), 'dist', 'tsrunc.js');
}

/** True when TSRUNC_DIFF_SELF=1: "tsrunc" is replaced by runc everywhere in the harness. */
export const SELF = process.env.TSRUNC_DIFF_SELF === '1';

/** True when the tests run as root (the root suite); false for the rootless suite. */
export const IS_ROOT = process.getuid?.() === 0;

const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox'];

function findInPath(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/local/sbin', '/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    if (d && existsSync(join(d, name))) return join(d, name);
  }
  return undefined;
}

/** Absolute path of the reference runc, or undefined when it is not installed. */
export function runcPath(): string | undefined {
  return findInPath('runc');
}

/** Absolute path of a static busybox, or undefined. */
export function busyboxPath(): string | undefined {
  return BUSYBOX_CANDIDATES.find((p) => existsSync(p));
}

/**
 * Why the integration suites cannot run here (runc or busybox missing), or false. Pass it as the
 * `skip` option of a file's top-level `describe`, so the whole file skips with the reason printed.
 * CI installs both, so in CI nothing skips.
 */
export function missingPrerequisites(): string | false {
  const missing: string[] = [];
  if (!runcPath()) missing.push('runc (apt-get install runc)');
  if (!busyboxPath()) missing.push('busybox (apt-get install busybox-static)');
  if (missing.length === 0) return false;
  const reason = `requires ${missing.join(' and ')}`;
  console.log(`# skipping integration suite: ${reason}`);
  return reason;
}

/**
 * A test that belongs to the root suite: registered only when running as root. CI runs `npm test` once
 * as root and once as an unprivileged user, so it runs there, and neither suite reports a skip.
 */
export function rootSuiteTest(name: string, fn: (t: TestContext) => Promise<void> | void): void {
  if (IS_ROOT) test(name, fn);
}

/** A test that belongs to the rootless suite: registered only when not running as root. */
export function rootlessSuiteTest(name: string, fn: (t: TestContext) => Promise<void> | void): void {
  if (!IS_ROOT) test(name, fn);
}

/** Why this environment cannot run the session suite, or null when a systemd user manager answers on the bus. */
function sessionProblem(): string | null {
  if (IS_ROOT) return 'requires an unprivileged user with a systemd user session';
  if (!process.env.DBUS_SESSION_BUS_ADDRESS) return 'requires systemd user bus (DBUS_SESSION_BUS_ADDRESS is not set)';
  const r = spawnSync('systemctl', ['--user', 'show', '-p', 'Version', '--value'], { encoding: 'utf8' });
  if (r.status !== 0 || r.stdout.trim() === '') return `requires systemd user bus (systemctl --user: ${(r.stderr || r.error?.message || '').trim()})`;
  return null;
}

/**
 * For the *.session tests: in the session suite (TSRUNC_TEST_SESSION=1) a missing manager is a
 * failure; anywhere else the test skips with the reason. True when the test may go on.
 */
export function requireSession(t: TestContext): boolean {
  const why = sessionProblem();
  if (why === null) return true;
  if (process.env.TSRUNC_TEST_SESSION === '1') assert.fail(`the session suite runs without a session: ${why}`);
  t.skip(why);
  return false;
}

/** Skip `t` unless running as root; returns true when the test may go on. */
export function requireRoot(t: TestContext): boolean {
  if (IS_ROOT) return true;
  t.skip('requires root');
  return false;
}

/** Skip `t` when running as root; returns true when the test may go on. */
export function requireNonRoot(t: TestContext): boolean {
  if (!IS_ROOT) return true;
  t.skip('requires an unprivileged user (rootless)');
  return false;
}

// ---------------------------------------------------------------------------------------------------
// Temporary directories, removed by cleanup()

const temps: string[] = [];

/** A fresh directory under os.tmpdir(), removed by cleanup() (or at process exit). */
export function tempDir(prefix: string, mode = 0o755): string {
  const dir = mkdtempSync(join(tmpdir(), `tsrunc-it-${prefix}-`));
  chmodSync(dir, mode);
  temps.push(dir);
  return dir;
}

/**
 * Deletes (--force) what a state root still holds: a container a test ran detached and never deleted
 * keeps its cgroup directory until `delete`, as with runc, and removing the state root would leak it.
 */
function deleteLeftContainers(dir: string): void {
  const runtime = /\/tsrunc-it-state-(tsrunc|runc)-[^/]*$/.exec(dir)?.[1] as Runtime | undefined;
  if (runtime === undefined) return;
  let ids: string[];
  try {
    ids = readdirSync(dir).filter((id) => existsSync(join(dir, id, 'state.json')));
  } catch {
    return;
  }
  if (ids.length === 0) return;
  const [cmd, pre] = runtimeCommand(runtime);
  for (const id of ids) spawnSync(cmd, [...pre, '--root', dir, 'delete', '--force', id], { env: runtimeEnv(), stdio: 'ignore', timeout: 30_000 });
}

/** Remove every temporary directory made so far (call it from `afterEach()` and `after()`). */
export function cleanup(): void {
  while (temps.length > 0) {
    const dir = temps.pop();
    if (dir === undefined) break;
    deleteLeftContainers(dir);
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // A file left read-only by a container: make it writable and try once more.
      spawnSync('chmod', ['-R', 'u+rwX', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }
}
process.on('exit', cleanup);
// An interrupted run (Ctrl-C, the runner's timeout) still removes its directories.
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
  process.once(signal, () => {
    cleanup();
    process.exit(code);
  });
}

let idCounter = 0;

/** A container id unique to this process. */
export function uniqueId(tag = 'c'): string {
  idCounter += 1;
  return `it-${tag}-${process.pid}-${idCounter}`;
}

// ---------------------------------------------------------------------------------------------------
// The OCI config, as far as the tests touch it

export interface SpecMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: SpecIdMapping[];
  gidMappings?: SpecIdMapping[];
}

export interface SpecNamespace {
  type: string;
  path?: string;
}

export interface SpecIdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

export interface SpecCapabilities {
  bounding?: string[];
  effective?: string[];
  permitted?: string[];
  inheritable?: string[];
  ambient?: string[];
}

export interface SpecDevice {
  path: string;
  type: string;
  major: number;
  minor: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** The subset of the OCI runtime-spec config that the tests read and change. */
export interface Spec {
  ociVersion: string;
  process?: {
    terminal?: boolean;
    user: { uid: number; gid: number; umask?: number; additionalGids?: number[] };
    args?: string[];
    env?: string[];
    cwd: string;
    capabilities?: SpecCapabilities;
    rlimits?: { type: string; hard: number; soft: number }[];
    noNewPrivileges?: boolean;
    oomScoreAdj?: number;
    [k: string]: unknown;
  };
  root?: { path: string; readonly?: boolean };
  hostname?: string;
  domainname?: string;
  mounts?: SpecMount[];
  linux?: {
    uidMappings?: SpecIdMapping[];
    gidMappings?: SpecIdMapping[];
    namespaces?: SpecNamespace[];
    maskedPaths?: string[];
    readonlyPaths?: string[];
    devices?: SpecDevice[];
    rootfsPropagation?: string;
    resources?: unknown;
    [k: string]: unknown;
  };
  [k: string]: unknown;
}

/** Set the value at a JSON pointer (RFC 6901) in `doc`, creating objects on the way; `undefined` deletes. */
export function setPointer(doc: unknown, pointer: string, value: unknown): void {
  const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const last = parts.pop();
  if (last === undefined) throw new Error(`cannot set the whole document: ${pointer}`);
  let cur = doc as Record<string, unknown>;
  for (const p of parts) {
    const next = cur[p];
    if (typeof next !== 'object' || next === null) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  if (value === undefined) delete cur[last];
  else cur[last] = value;
}

/** Remove namespaces of the given type from a config. */
export function dropNamespace(config: Spec, type: string): void {
  if (config.linux?.namespaces) config.linux.namespaces = config.linux.namespaces.filter((n) => n.type !== type);
}

/** Add (or replace) a namespace entry in a config. */
export function setNamespace(config: Spec, type: string, path?: string): void {
  config.linux ??= {};
  config.linux.namespaces = (config.linux.namespaces ?? []).filter((n) => n.type !== type);
  config.linux.namespaces.push(path === undefined ? { type } : { type, path });
}

/** True when the config asks for a namespace of this type. */
export function hasNamespace(config: Spec, type: string): boolean {
  return (config.linux?.namespaces ?? []).some((n) => n.type === type);
}

let cachedSpec: string | undefined;

/** The text of `runc spec --rootless` (not root) or `runc spec` (root), generated once per process. */
export function referenceSpecText(): string {
  if (cachedSpec !== undefined) return cachedSpec;
  const runc = runcPath();
  if (!runc) throw new Error('runc is not installed');
  const dir = tempDir('spec');
  const r = spawnSync(runc, IS_ROOT ? ['spec'] : ['spec', '--rootless'], { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`runc spec failed: ${r.stderr}`);
  cachedSpec = readFileSync(join(dir, 'config.json'), 'utf8');
  return cachedSpec;
}

// ---------------------------------------------------------------------------------------------------
// Bundles

/** Busybox applets linked into every rootfs (umask and ulimit are shell builtins). */
export const DEFAULT_APPLETS = [
  'sh', 'id', 'hostname', 'cat', 'ls', 'echo', 'env', 'grep', 'sleep', 'true', 'false', 'mount', 'stat',
  'touch', 'mkdir', 'kill', 'ps', 'pwd', 'head', 'wc', 'cut', 'sort', 'readlink', 'tr', 'sed', 'awk',
  'test', 'rm', 'printf', 'ln', 'tail', 'uname',
];

export interface BundleOptions {
  /** process.args. */
  args: string[];
  /** Change the generated config; `bundle` gives the paths of this copy (for bind-mount sources). */
  mutate?: (config: Spec, bundle: Bundle) => void;
  /** Extra files in the rootfs: path relative to rootfs → content. */
  files?: Record<string, string>;
  /** Extra directories in the rootfs (relative to rootfs). */
  dirs?: string[];
  /** Host-side preparation run before the config is written (create bind-mount sources…). */
  setup?: (bundle: Bundle) => void;
  /** Write config.json verbatim (after mutate) instead of JSON.stringify, for malformed-file cases. */
  rawConfig?: string;
  /** Do not write config.json at all. */
  noConfig?: boolean;
  /** Do not create rootfs/. */
  noRootfs?: boolean;
}

export interface Bundle {
  /** The bundle directory (holds config.json and rootfs/). */
  dir: string;
  rootfs: string;
  configPath: string;
  /** The config as written. */
  config: Spec;
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n';
const GROUP = 'root:x:0:\nnobody:x:65534:\n';

/**
 * A bundle in a fresh temporary directory (mode 0755): rootfs/ holds busybox with its applet links and
 * /etc/passwd and /etc/group, config.json is the reference spec with terminal off, the given args,
 * `linux.resources` dropped as root, then the mutator applied.
 */
export function makeBundle(opts: BundleOptions): Bundle {
  const dir = tempDir('bundle');
  const rootfs = join(dir, 'rootfs');
  const configPath = join(dir, 'config.json');
  const config = JSON.parse(referenceSpecText()) as Spec;
  const bundle: Bundle = { dir, rootfs, configPath, config };
  if (!opts.noRootfs) {
    const busybox = busyboxPath();
    if (!busybox) throw new Error('busybox is not installed');
    for (const d of ['bin', 'etc', 'root', 'tmp', 'proc', 'sys', 'dev', 'mnt']) mkdirSync(join(rootfs, d), { recursive: true, mode: 0o755 });
    chmodSync(join(rootfs, 'tmp'), 0o1777);
    copyFileSync(busybox, join(rootfs, 'bin', 'busybox'));
    chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of DEFAULT_APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
    writeFileSync(join(rootfs, 'etc', 'passwd'), PASSWD);
    writeFileSync(join(rootfs, 'etc', 'group'), GROUP);
    for (const d of opts.dirs ?? []) mkdirSync(join(rootfs, d), { recursive: true, mode: 0o755 });
    for (const [p, content] of Object.entries(opts.files ?? {})) {
      mkdirSync(dirname(join(rootfs, p)), { recursive: true });
      writeFileSync(join(rootfs, p), content);
    }
  }
  if (config.process) {
    config.process.terminal = false;
    config.process.args = opts.args;
  }
  if (IS_ROOT && config.linux) delete config.linux.resources;
  opts.setup?.(bundle);
  opts.mutate?.(config, bundle);
  if (!opts.noConfig) writeFileSync(configPath, opts.rawConfig ?? JSON.stringify(config, null, 2));
  return bundle;
}

// ---------------------------------------------------------------------------------------------------
// Running the runtimes

export type Runtime = 'runc' | 'tsrunc';

export interface RunOptions {
  /** State root passed as `--root`; a fresh one per call when absent. */
  root?: string;
  /** Working directory (the bundle, for `create`/`run` without --bundle). */
  cwd?: string;
  /** Bytes written to the runtime's stdin, then closed; otherwise stdin is /dev/null. */
  input?: string;
  /** Kill the runtime after this long (default 30 s); the result then has `timedOut`. */
  timeoutMs?: number;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Global flags placed before the command (e.g. `--log-format json`); a `--root` here replaces ours. */
  globalArgs?: string[];
}

export interface RunResult {
  /** Exit status, or 128+signal when the runtime itself died of a signal. */
  code: number;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The state root used. */
  root: string;
  timedOut: boolean;
}

/** A fresh, empty state root for one runtime (mode 0700, as runc makes its own). */
export function freshStateRoot(runtime: Runtime): string {
  return tempDir(`state-${runtime}`, 0o700);
}

/** The command line that starts `runtime` (`tsrunc` becomes runc under TSRUNC_DIFF_SELF=1). */
export function runtimeCommand(runtime: Runtime): [string, string[]] {
  if (runtime === 'runc' || SELF) {
    const runc = runcPath();
    if (!runc) throw new Error('runc is not installed');
    return [runc, []];
  }
  return [tsruncBin(), []];
}

/** The environment the runtimes run with: ours, XDG_RUNTIME_DIR set when not root. */
export function runtimeEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.NODE_TEST_CONTEXT;
  delete env.NODE_OPTIONS;
  if (!IS_ROOT && !env.XDG_RUNTIME_DIR) env.XDG_RUNTIME_DIR = `/run/user/${process.getuid?.() ?? 0}`;
  return env;
}

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

/**
 * Run `<runtime> --root <root> [globalArgs] <args…>` and wait for it to exit. stdout and stderr go
 * to files, not pipes, so a detached container holding them open cannot make this hang.
 */
export async function runRuntime(runtime: Runtime, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const root = opts.root ?? freshStateRoot(runtime);
  const [cmd, pre] = runtimeCommand(runtime);
  const io = tempDir('io');
  const outPath = join(io, 'stdout');
  const errPath = join(io, 'stderr');
  const outFd = openSync(outPath, 'w');
  const errFd = openSync(errPath, 'w');
  // A case that passes its own --root (e.g. a bad one) gets only that one.
  const rootArgs = opts.globalArgs?.includes('--root') ? [] : ['--root', root];
  const child = spawn(cmd, [...pre, ...rootArgs, ...(opts.globalArgs ?? []), ...args], {
    cwd: opts.cwd,
    env: runtimeEnv(opts.env),
    stdio: [opts.input === undefined ? 'ignore' : 'pipe', outFd, errFd],
    detached: true,
  });
  closeSync(outFd);
  closeSync(errFd);
  if (opts.input !== undefined && child.stdin) {
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input);
  }
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL');
    }
  }, opts.timeoutMs ?? 30_000);
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (c, s) => resolve([c, s]));
  });
  clearTimeout(timer);
  const stdout = readFileSync(outPath, 'utf8');
  const stderr = readFileSync(errPath, 'utf8');
  rmSync(io, { recursive: true, force: true });
  return {
    code: code ?? 128 + (signal ? SIGNAL_NUMBERS[signal] ?? 0 : 0),
    signal,
    stdout,
    stderr,
    root,
    timedOut,
  };
}

export interface BothOptions {
  /** Applied to both stdouts before comparing (e.g. mask pids or mount ids). */
  normalize?: (stdout: string) => string;
  input?: string;
  timeoutMs?: number;
  /** Extra flags for `run` (e.g. `--no-pivot`). */
  runArgs?: string[];
  /** The container id (default: a fresh one, the same for both runtimes). */
  id?: string;
}

export interface SideResult extends RunResult {
  bundle: Bundle;
  /** stdout after `normalize`. */
  normalized: string;
}

export interface BothResult {
  runc: SideResult;
  tsrunc: SideResult;
}

/**
 * `run <id>` under runc and under tsrunc, each on its own copy of the same bundle and with its own
 * fresh state root, one after the other (runc first).
 */
export async function runBoth(bundleOpts: BundleOptions, opts: BothOptions = {}): Promise<BothResult> {
  const id = opts.id ?? uniqueId('d');
  const normalize = opts.normalize ?? ((s: string) => s);
  const side = async (rt: Runtime): Promise<SideResult> => {
    const bundle = makeBundle(bundleOpts);
    const r = await runRuntime(rt, ['run', ...(opts.runArgs ?? []), '--bundle', bundle.dir, id], {
      cwd: bundle.dir,
      input: opts.input,
      timeoutMs: opts.timeoutMs,
    });
    return { ...r, bundle, normalized: normalize(r.stdout) };
  };
  const runc = await side('runc');
  const tsrunc = await side('tsrunc');
  return { runc, tsrunc };
}

function describeRun(name: string, r: RunResult): string {
  return `${name}: exit ${r.code}${r.timedOut ? ' (timed out)' : ''}\n--- stdout\n${r.stdout}--- stderr\n${r.stderr}`;
}

/** Same exit code and same (normalized) stdout; neither side timed out. */
export function assertSameRun(a: SideResult, b: SideResult): void {
  const ctx = `\n${describeRun('runc', a)}\n${describeRun(SELF ? 'runc (as tsrunc)' : 'tsrunc', b)}`;
  assert.equal(a.timedOut, false, `runc timed out${ctx}`);
  assert.equal(b.timedOut, false, `tsrunc timed out${ctx}`);
  assert.equal(b.code, a.code, `exit codes differ${ctx}`);
  assert.equal(b.normalized, a.normalized, `stdout differs${ctx}`);
}

/** runBoth + assertSameRun; returns the results for further checks. */
export async function expectSame(bundleOpts: BundleOptions, opts: BothOptions = {}): Promise<BothResult> {
  const r = await runBoth(bundleOpts, opts);
  if (process.env.TSRUNC_DIFF_SHOW === '1') console.log(describeRun('runc', r.runc));
  assertSameRun(r.runc, r.tsrunc);
  return r;
}

/**
 * For a deliberate difference (listed in DIFFERENCES.md): run both, check runc's side with `runcCheck`
 * and tsrunc's with `tsruncCheck`. Under TSRUNC_DIFF_SELF=1 both sides are runc, so both get `runcCheck`.
 */
export async function expectDifference(
  bundleOpts: BundleOptions,
  checks: { runc: (r: SideResult) => void; tsrunc: (r: SideResult) => void },
  opts: BothOptions = {},
): Promise<BothResult> {
  const r = await runBoth(bundleOpts, opts);
  if (process.env.TSRUNC_DIFF_SHOW === '1') console.log(describeRun('runc', r.runc));
  checks.runc(r.runc);
  (SELF ? checks.runc : checks.tsrunc)(r.tsrunc);
  return r;
}

// ---------------------------------------------------------------------------------------------------
// Traces left behind

/** Everything left in a state root (relative paths, recursively); [] when it does not exist. */
export function stateLeftovers(root: string): string[] {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      out.push(`${rel || '.'} (unreadable)`);
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      if (e.isDirectory()) walk(join(dir, e.name), r);
    }
  };
  walk(root, '');
  return out;
}

/** Lines of /proc/self/mountinfo whose mount point or source mentions `path`. */
export function mountsMentioning(path: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(path));
}

/**
 * Processes whose command line mentions `needle` or whose root directory is under it (a container
 * left running from a bundle), other than this test process. Entries are "pid cmdline".
 */
export function processesMentioning(needle: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    let cmdline = '';
    let root = '';
    try {
      cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    try {
      root = readlinkSync(`/proc/${name}/root`);
    } catch {
      // Another user's process, or one that is not dumpable: only its cmdline can tell.
    }
    if (cmdline.includes(needle) || (root !== '' && root.startsWith(needle))) out.push(`${name} ${cmdline}`);
  }
  return out;
}

/**
 * cgroup2 directories (paths below the visible cgroup2 mount) whose name mentions `needle`: a cgroup a
 * container left behind. [] where no cgroup2 hierarchy is mounted.
 */
export function cgroupsMentioning(needle: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => / - cgroup2 /.test(l));
  const top = mounts.at(-1)?.split(' ')[4];
  if (top === undefined) return [];
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // gone meanwhile, or not ours to read
    }
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      if (e.name.includes(needle)) out.push(join(dir, e.name).slice(top.length));
      if (depth < 8) walk(join(dir, e.name), depth + 1);
    }
  };
  walk(top, 0);
  return out;
}

/** Wait until `check()` is true, polling; false when `timeoutMs` passed first. */
export async function waitFor(check: () => boolean, timeoutMs = 5000, stepMs = 25): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (check()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return check();
}

/**
 * stderr without the one warning a run gets when the host gives the container no cgroup (issue 5's
 * disabled driver: rootless here without a delegated subtree). Suites about other things count their
 * own lines with it; the cgroup suites check that warning itself.
 */
export function stderrBesidesCgroupWarning(r: RunResult): string {
  return r.stderr
    .split('\n')
    .filter((l) => !/^tsrunc: warning: container "[^"]*" runs without a cgroup/.test(l))
    .join('\n');
}

/** Parse the JSON printed by `state`, or throw with the output. */
export function parseState(r: RunResult): { id: string; pid: number; status: string; bundle: string; [k: string]: unknown } {
  try {
    return JSON.parse(r.stdout) as { id: string; pid: number; status: string; bundle: string };
  } catch {
    throw new Error(`state did not print JSON: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
  }
}

/** Resolves once some process holds a shared flock on `path` (read from /proc/locks). */
export async function sharedLockHeld(path: string): Promise<boolean> {
  const st = statSync(path);
  // The kernel's dev_t encoding (major in bits 8-19, minor in 0-7 and 20-31), printed "%02x:%02x".
  const d = Number(st.dev);
  const major = (d >>> 8) & 0xfff;
  const minor = (d & 0xff) | ((d >>> 12) & 0xfff00);
  const dev = `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
  const want = new RegExp(`FLOCK\\s+ADVISORY\\s+READ\\s+\\d+\\s+${dev}:${st.ino}\\s`);
  return waitFor(() => want.test(readFileSync('/proc/locks', 'utf8')), 10_000);
}
