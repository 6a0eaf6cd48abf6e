// Malformed configs and bad invocations: each must fail with exactly one `tsrunc: ` line on stderr that
// names the problem (a JSON pointer, a flag, an id), no stack trace, and leave nothing behind.
// Under TSRUNC_DIFF_SELF=1 runc plays tsrunc: then only "fails and leaves nothing" is checked, and the
// cases runc 1.1 accepts are checked to be accepted (DIFFERENCES.md lists them).
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  IS_ROOT,
  SELF,
  cleanup,
  dropNamespace,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  mountsMentioning,
  processesMentioning,
  runRuntime,
  setPointer,
  stateLeftovers,
  tempDir,
  uniqueId,
  type Bundle,
  type BundleOptions,
  type RunResult,
} from './harness.js';

interface Ctx {
  bundle: Bundle;
  id: string;
  root: string;
  /** Run tsrunc (runc under TSRUNC_DIFF_SELF=1) with this case's state root, in the bundle. */
  run: (args: string[], globalArgs?: string[]) => Promise<RunResult>;
}

interface ErrorCase {
  name: string;
  /** What the one stderr line must contain: the JSON pointer, the flag, the id… */
  mentions: string | RegExp;
  /** The bundle (default: `true` as the program). */
  bundle?: Partial<BundleOptions>;
  /** The failing command (default: `run --bundle <dir> <id>`). */
  argv?: (ctx: Ctx) => string[];
  /** Global flags before the command. */
  globalArgs?: (ctx: Ctx) => string[];
  /** Set up first (a container that already exists…); its traces are not counted as leftovers. */
  before?: (ctx: Ctx) => Promise<void>;
  /** runc 1.1.5 accepts this: the reason, for DIFFERENCES.md. */
  runcAccepts?: string;
  rootOnly?: boolean;
  nonRootOnly?: boolean;
}

const config = (mutate: (c: Record<string, unknown>) => void): Partial<BundleOptions> => ({
  mutate: (c) => mutate(c as unknown as Record<string, unknown>),
});
const set = (pointer: string, value: unknown): Partial<BundleOptions> => config((c) => setPointer(c, pointer, value));
const runArgs = (ctx: Ctx): string[] => ['run', '--bundle', ctx.bundle.dir, ctx.id];
const createArgs = (ctx: Ctx): string[] => ['create', '--bundle', ctx.bundle.dir, ctx.id];

async function mustSucceed(r: Promise<RunResult>, what: string): Promise<void> {
  const res = await r;
  assert.equal(res.code, 0, `${what}: ${res.stderr}`);
}

const CASES: ErrorCase[] = [
  // --- config.json itself ----------------------------------------------------------------------------
  { name: 'config.json is not JSON', mentions: 'config.json', bundle: { rawConfig: '{ "ociVersion": "1.0.2", ' } },
  { name: 'config.json is missing', mentions: 'config.json', bundle: { noConfig: true } },
  { name: 'config.json is a JSON array', mentions: 'config.json', bundle: { rawConfig: '[]' } },
  { name: 'ociVersion is not a string', mentions: '/ociVersion', bundle: set('/ociVersion', 1) },
  { name: 'root is missing', mentions: '/root', bundle: set('/root', undefined) },
  { name: 'root.path is not a string', mentions: '/root/path', bundle: set('/root/path', 42) },
  { name: 'the rootfs directory is missing', mentions: '/root/path', bundle: { noRootfs: true } },
  {
    name: 'the rootfs is a file',
    mentions: '/root/path',
    bundle: { setup: (b) => writeFileSync(join(b.dir, 'rootfile'), 'x'), mutate: (c) => (c.root!.path = 'rootfile') },
  },
  // --- process ---------------------------------------------------------------------------------------
  { name: 'process is missing', mentions: '/process', bundle: set('/process', undefined) },
  { name: 'process.args is a string', mentions: '/process/args', bundle: set('/process/args', 'true') },
  { name: 'process.args is empty', mentions: '/process/args', bundle: set('/process/args', []) },
  { name: 'process.args holds a number', mentions: '/process/args/1', bundle: set('/process/args', ['echo', 3]) },
  { name: 'process.cwd is relative', mentions: '/process/cwd', bundle: set('/process/cwd', 'tmp') },
  { name: 'process.cwd is a file', mentions: '/process/cwd', bundle: set('/process/cwd', '/etc/passwd') },
  { name: 'process.user.uid is a string', mentions: '/process/user/uid', bundle: set('/process/user/uid', '0') },
  { name: 'process.user.uid is negative', mentions: '/process/user/uid', bundle: set('/process/user/uid', -1) },
  { name: 'process.env is not an array', mentions: '/process/env', bundle: set('/process/env', 'PATH=/bin') },
  { name: 'process.env entry without =', mentions: '/process/env/1', bundle: set('/process/env', ['PATH=/bin', 'NOEQUALS']) },
  { name: 'process.terminal is a string', mentions: '/process/terminal', bundle: set('/process/terminal', 'no') },
  { name: 'unknown rlimit type', mentions: '/process/rlimits/0/type', bundle: set('/process/rlimits', [{ type: 'RLIMIT_BOGUS', soft: 1, hard: 1 }]) },
  { name: 'rlimit soft above hard', mentions: '/process/rlimits/0', bundle: set('/process/rlimits', [{ type: 'RLIMIT_NOFILE', soft: 2048, hard: 1024 }]) },
  { name: 'oomScoreAdj out of range', mentions: '/process/oomScoreAdj', bundle: set('/process/oomScoreAdj', 5000) },
  { name: 'args[0] is a directory', mentions: '/process/args', bundle: set('/process/args', ['/bin']) },
  // --- namespaces, mounts, devices ---------------------------------------------------------------------
  {
    name: 'unknown namespace type',
    mentions: /\/linux\/namespaces\/\d+/,
    bundle: config((c) => (c.linux as { namespaces: unknown[] }).namespaces.push({ type: 'bogus' })),
  },
  {
    name: 'a namespace type twice',
    mentions: /\/linux\/namespaces\/\d+/,
    bundle: config((c) => (c.linux as { namespaces: unknown[] }).namespaces.push({ type: 'ipc' })),
  },
  {
    name: 'namespace path does not exist',
    mentions: /\/linux\/namespaces\/\d+\/path/,
    bundle: { mutate: (c) => (c.linux!.namespaces!.find((n) => n.type === 'ipc')!.path = '/proc/no-such/ns/ipc') },
  },
  {
    name: 'hostname without a uts namespace',
    mentions: '/hostname',
    bundle: { mutate: (c) => (dropNamespace(c, 'uts'), (c.hostname = 'nope')) },
  },
  {
    name: 'uid mappings without a user namespace',
    mentions: '/linux/uidMappings',
    rootOnly: true,
    bundle: { mutate: (c) => (c.linux!.uidMappings = [{ containerID: 0, hostID: 0, size: 1 }]) },
    runcAccepts: 'runc 1.1 ignores id mappings when there is no user namespace (runc 1.2 rejects them)',
  },
  {
    name: 'a user that is not mapped',
    mentions: '/process/user',
    nonRootOnly: true,
    bundle: set('/process/user/uid', 1000),
  },
  {
    name: 'mount destination is relative',
    mentions: /\/mounts\/\d+\/destination/,
    bundle: { mutate: (c) => c.mounts!.push({ destination: 'mnt', type: 'tmpfs', source: 'tmpfs' }) },
    runcAccepts: 'runc 1.1 warns and treats a relative destination as relative to /',
  },
  {
    name: 'mount destination with ..',
    mentions: /\/mounts\/\d+\/destination/,
    bundle: { mutate: (c) => c.mounts!.push({ destination: '/tmp/../mnt', type: 'tmpfs', source: 'tmpfs' }) },
    runcAccepts: 'runc 1.1 cleans the path to /mnt',
  },
  {
    name: 'mount options is not an array',
    mentions: /\/mounts\/\d+\/options/,
    bundle: config((c) => (c.mounts as unknown[]).push({ destination: '/mnt', type: 'tmpfs', source: 'tmpfs', options: 'ro' })),
  },
  {
    name: 'mount of an unknown filesystem type',
    mentions: /\/mounts\/\d+/,
    bundle: { mutate: (c) => c.mounts!.push({ destination: '/mnt', type: 'nosuchfs', source: 'none' }) },
  },
  {
    name: 'bind mount source does not exist',
    mentions: /\/mounts\/\d+/,
    bundle: { mutate: (c, b) => c.mounts!.push({ destination: '/mnt', type: 'bind', source: join(b.dir, 'missing'), options: ['bind'] }) },
  },
  {
    name: 'tmpcopyup on a mount that is not a tmpfs',
    mentions: /\/mounts\/\d+\/options: "tmpcopyup"/,
    bundle: { mutate: (c, b) => c.mounts!.push({ destination: '/mnt', type: 'bind', source: b.rootfs, options: ['rbind', 'tmpcopyup'] }) },
    runcAccepts: 'runc 1.1 ignores tmpcopyup on anything but a tmpfs',
  },
  { name: 'unknown device type', mentions: '/linux/devices/0/type', bundle: set('/linux/devices', [{ path: '/dev/x', type: 'q', major: 1, minor: 3 }]) },
  { name: 'unknown rootfsPropagation', mentions: '/linux/rootfsPropagation', bundle: set('/linux/rootfsPropagation', 'sideways') },
  // --- ids -----------------------------------------------------------------------------------------
  { name: 'id with ../', mentions: '../x', argv: (ctx) => ['run', '--bundle', ctx.bundle.dir, '../x'] },
  { name: 'id with a slash', mentions: 'a/b', argv: (ctx) => ['create', '--bundle', ctx.bundle.dir, 'a/b'] },
  { name: 'empty id', mentions: /id/i, argv: (ctx) => ['run', '--bundle', ctx.bundle.dir, ''] },
  { name: 'id with a space', mentions: 'a b', argv: (ctx) => ['create', '--bundle', ctx.bundle.dir, 'a b'] },
  {
    name: 'duplicate id',
    mentions: 'ID',
    before: (ctx) => mustSucceed(ctx.run(createArgs(ctx)), 'first create'),
    argv: createArgs,
  },
  // --- commands on containers that are missing or in the wrong state ----------------------------------
  { name: 'state of a missing id', mentions: 'ID', argv: (ctx) => ['state', ctx.id] },
  { name: 'kill of a missing id', mentions: 'ID', argv: (ctx) => ['kill', ctx.id, 'KILL'] },
  { name: 'delete of a missing id', mentions: 'ID', argv: (ctx) => ['delete', ctx.id] },
  { name: 'start of a missing id', mentions: 'ID', argv: (ctx) => ['start', ctx.id] },
  {
    name: 'start of a running container',
    mentions: 'ID',
    bundle: { args: ['sleep', '300'] },
    before: (ctx) => mustSucceed(ctx.run(['run', '--detach', '--bundle', ctx.bundle.dir, ctx.id]), 'run -d'),
    argv: (ctx) => ['start', ctx.id],
  },
  {
    name: 'start of a stopped container',
    mentions: 'ID',
    before: (ctx) => mustSucceed(ctx.run(['run', '--keep', '--bundle', ctx.bundle.dir, ctx.id]), 'run --keep'),
    argv: (ctx) => ['start', ctx.id],
  },
  {
    name: 'bad signal name',
    mentions: 'NOSUCHSIG',
    bundle: { args: ['sleep', '300'] },
    before: (ctx) => mustSucceed(ctx.run(createArgs(ctx)), 'create'),
    argv: (ctx) => ['kill', ctx.id, 'NOSUCHSIG'],
  },
  {
    name: 'signal number out of range',
    mentions: '999',
    bundle: { args: ['sleep', '300'] },
    before: (ctx) => mustSucceed(ctx.run(createArgs(ctx)), 'create'),
    argv: (ctx) => ['kill', ctx.id, '999'],
  },
  // --- the command line ------------------------------------------------------------------------------
  { name: 'unknown command', mentions: 'frobnicate', argv: () => ['frobnicate'] },
  { name: 'unknown flag', mentions: '--frobnicate', argv: (ctx) => ['run', '--frobnicate', '--bundle', ctx.bundle.dir, ctx.id] },
  { name: 'unknown global flag', mentions: '--bogus-global', argv: () => ['list'], globalArgs: () => ['--bogus-global'] },
  { name: 'state without an id', mentions: 'state', argv: () => ['state'] },
  { name: 'kill with too many arguments', mentions: 'extra', argv: (ctx) => ['kill', ctx.id, 'KILL', 'extra'] },
  { name: '--bundle that does not exist', mentions: '/no/such/bundle', argv: (ctx) => ['run', '--bundle', '/no/such/bundle', ctx.id] },
  { name: 'list --format bogus', mentions: 'bogus', argv: () => ['list', '--format', 'bogus'] },
  {
    name: '--root is a file',
    mentions: 'root-file',
    globalArgs: (ctx) => {
      const f = join(tempDir('rootfile'), 'root-file');
      writeFileSync(f, '');
      void ctx;
      return ['--root', f];
    },
    argv: (ctx) => ['run', '--bundle', ctx.bundle.dir, ctx.id],
  },
  {
    name: '--pid-file in a missing directory',
    mentions: 'pidfile-missing',
    argv: (ctx) => ['create', '--pid-file', join(ctx.bundle.dir, 'pidfile-missing', 'pid'), '--bundle', ctx.bundle.dir, ctx.id],
  },
];

/** Turn the placeholder "ID" in `mentions` into this case's id. */
function expected(c: ErrorCase, id: string): string | RegExp {
  return c.mentions === 'ID' ? id : c.mentions;
}

function assertOneLine(r: RunResult, mentions: string | RegExp): void {
  const lines = r.stderr.split('\n').filter((l) => l.length > 0);
  const show = `\n--- stderr\n${r.stderr}--- stdout\n${r.stdout}`;
  assert.doesNotMatch(r.stderr, /^\s+at /m, `no stack trace${show}`);
  assert.equal(lines.length, 1, `exactly one line on stderr${show}`);
  assert.ok(lines[0]!.startsWith('tsrunc: '), `the line starts with "tsrunc: "${show}`);
  if (typeof mentions === 'string') assert.ok(lines[0]!.includes(mentions), `the line names ${JSON.stringify(mentions)}${show}`);
  else assert.match(lines[0]!, mentions, `the line names the problem${show}`);
}

describe('errors: one line, non-zero, nothing left behind', { skip: missingPrerequisites() }, () => {
  afterEach(cleanup);
  after(cleanup);

  test('there are enough cases', () => {
    assert.ok(CASES.length >= 30, `${CASES.length} cases`);
  });

  for (const c of CASES) {
    // A case of one suite only is registered in that suite (CI runs both).
    if ((c.rootOnly && !IS_ROOT) || (c.nonRootOnly && IS_ROOT)) continue;
    test(c.name, async () => {
      const bundle = makeBundle({ args: ['true'], ...c.bundle });
      const id = uniqueId('err');
      const root = freshStateRoot('tsrunc');
      const ctx: Ctx = {
        bundle,
        id,
        root,
        run: (args, globalArgs) => runRuntime('tsrunc', args, { root, cwd: bundle.dir, globalArgs }),
      };
      try {
        await c.before?.(ctx);
        const stateBefore = stateLeftovers(root);
        const mountsBefore = mountsMentioning(bundle.dir);
        const procsBefore = processesMentioning(bundle.dir).concat(processesMentioning(id));
        const r = await ctx.run((c.argv ?? runArgs)(ctx), c.globalArgs?.(ctx));
        if (process.env.TSRUNC_DIFF_SHOW === '1') console.log(`exit ${r.code}\n${r.stderr}`);
        assert.equal(r.timedOut, false, 'the command returns');
        if (SELF && c.runcAccepts) {
          assert.equal(r.code, 0, `runc accepts this (${c.runcAccepts}); if it does not any more, drop runcAccepts\n${r.stderr}`);
          return;
        }
        assert.notEqual(r.code, 0, `exits non-zero\n${r.stdout}${r.stderr}`);
        if (SELF) assert.match(r.stderr, /\S/, 'runc says something');
        else assertOneLine(r, expected(c, id));
        assert.deepEqual(stateLeftovers(root), stateBefore, 'nothing new in the state root');
        assert.deepEqual(mountsMentioning(bundle.dir), mountsBefore, 'no new mounts');
        assert.deepEqual(processesMentioning(bundle.dir).concat(processesMentioning(id)), procsBefore, 'no new processes');
      } finally {
        await ctx.run(['kill', id, 'KILL']);
        await ctx.run(['delete', '--force', id]);
      }
    });
  }
});
