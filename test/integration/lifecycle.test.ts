// The container lifecycle through the CLI (create, start, state, list, kill, delete, run), compared step
// by step with runc doing the same sequence on the same bundle.
import { after, afterEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  SELF,
  cleanup,
  freshStateRoot,
  makeBundle,
  missingPrerequisites,
  processesMentioning,
  runRuntime,
  stateLeftovers,
  tempDir,
  uniqueId,
  waitFor,
  type Bundle,
  type RunResult,
  type Runtime,
} from './harness.js';

const RUNTIMES: Runtime[] = ['runc', 'tsrunc'];

/** A runtime bound to one state root and one bundle. */
class Session {
  readonly root: string;
  constructor(
    readonly runtime: Runtime,
    readonly bundle: Bundle,
  ) {
    this.root = freshStateRoot(runtime);
  }

  run(args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return runRuntime(this.runtime, args, { root: this.root, cwd: this.bundle.dir, ...opts });
  }

  async status(id: string): Promise<string | undefined> {
    const r = await this.run(['state', id]);
    if (r.code !== 0) return undefined;
    return (JSON.parse(r.stdout) as { status: string }).status;
  }

  /** Poll `state` until the container has `status` (undefined: until it is gone). */
  async waitStatus(id: string, status: string | undefined, timeoutMs = 10_000): Promise<string | undefined> {
    const end = Date.now() + timeoutMs;
    let last = await this.status(id);
    while (last !== status && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 50));
      last = await this.status(id);
    }
    return last;
  }

  /** Best-effort removal of a container, whatever its state. */
  async destroy(id: string): Promise<void> {
    await this.run(['kill', id, 'KILL']);
    await this.run(['delete', '--force', id]);
  }
}

// --- comparing state and list output ------------------------------------------------------------------

type Json = Record<string, unknown>;

/** State fields that may differ between two runs of the same sequence. */
const VOLATILE = ['pid', 'created', 'ociVersion'];

function stable(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (!VOLATILE.includes(k)) out[k] = v;
  return out;
}

/** Checks that hold for one runtime's state JSON on its own. */
function checkStateShape(s: Json, ctx: string): void {
  assert.equal(typeof s.ociVersion, 'string', `ociVersion ${ctx}`);
  assert.match(String(s.ociVersion), /^\d+\.\d+\.\d+/, `ociVersion ${ctx}`);
  assert.equal(typeof s.pid, 'number', `pid ${ctx}`);
  assert.ok(!Number.isNaN(Date.parse(String(s.created))), `created is a timestamp ${ctx}`);
  if (s.status === 'created' || s.status === 'running') assert.ok((s.pid as number) > 0, `pid > 0 ${ctx}`);
}

interface Table {
  header: string[];
  rows: string[][];
}

/** Parse `list` (table): fields split on blanks, and every row aligned with the header's columns. */
function parseTable(text: string, ctx: string): Table {
  const lines = text.split('\n').filter((l) => l.length > 0);
  assert.ok(lines.length >= 1, `list prints a header ${ctx}`);
  const starts = (l: string): number[] => [...l.matchAll(/\S+/g)].map((m) => m.index ?? -1);
  const headerStarts = starts(lines[0]!);
  for (const l of lines.slice(1)) assert.deepEqual(starts(l), headerStarts, `list columns are aligned ${ctx}:\n${text}`);
  return { header: lines[0]!.trim().split(/\s+/), rows: lines.slice(1).map((l) => l.trim().split(/\s+/)) };
}

interface Snapshot {
  stateCode: number;
  state: Json | null;
  table: Table;
  json: Json[];
  quiet: string;
}

async function snapshot(s: Session, id: string, step: string): Promise<Snapshot> {
  const ctx = `(${s.runtime}, ${step})`;
  const st = await s.run(['state', id]);
  const table = await s.run(['list']);
  const json = await s.run(['list', '--format', 'json']);
  const quiet = await s.run(['list', '-q']);
  assert.equal(table.code, 0, `list ${ctx}: ${table.stderr}`);
  assert.equal(json.code, 0, `list --format json ${ctx}: ${json.stderr}`);
  assert.equal(quiet.code, 0, `list -q ${ctx}: ${quiet.stderr}`);
  const state = st.code === 0 ? (JSON.parse(st.stdout) as Json) : null;
  // runc prints `null` for no containers; an empty array means the same.
  const listed = (JSON.parse(json.stdout) as Json[] | null) ?? [];
  const parsedTable = parseTable(table.stdout, ctx);
  if (state) {
    checkStateShape(state, ctx);
    const inList = listed.find((c) => c.id === id);
    assert.ok(inList, `list --format json shows ${id} ${ctx}`);
    assert.equal(inList.pid, state.pid, `same pid in state and list ${ctx}`);
    assert.equal(inList.created, state.created, `same created in state and list ${ctx}`);
    const row = parsedTable.rows.find((r) => r[0] === id);
    assert.ok(row, `list shows ${id} ${ctx}`);
    assert.equal(row[1], String(state.pid), `list PID column ${ctx}`);
    assert.equal(row[2], state.status, `list STATUS column ${ctx}`);
  }
  return {
    stateCode: st.code,
    state: state ? stable(state) : null,
    table: { header: parsedTable.header, rows: parsedTable.rows.map((r) => [r[0]!, ...r.slice(2, 4), ...r.slice(5)]) },
    json: listed.map(stable),
    quiet: quiet.stdout,
  };
}

describe('lifecycle', { skip: missingPrerequisites() }, () => {
  afterEach(cleanup);
  after(cleanup);

  test('create → start → kill → delete: state and list match runc at each step', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    const id = uniqueId('lc');
    const walk = async (rt: Runtime): Promise<Record<string, unknown>> => {
      const s = new Session(rt, bundle);
      const seen: Record<string, unknown> = {};
      try {
        seen.empty = await snapshot(s, id, 'before create');
        const create = await s.run(['create', '--bundle', bundle.dir, id]);
        seen.createCode = create.code;
        assert.equal(create.code, 0, `${rt} create: ${create.stderr}`);
        seen.created = await snapshot(s, id, 'created');
        const start = await s.run(['start', id]);
        seen.startCode = start.code;
        assert.equal(start.code, 0, `${rt} start: ${start.stderr}`);
        seen.running = await snapshot(s, id, 'running');
        const kill = await s.run(['kill', id, 'KILL']);
        seen.killCode = kill.code;
        assert.equal(await s.waitStatus(id, 'stopped'), 'stopped', `${rt}: stopped after kill`);
        seen.stopped = await snapshot(s, id, 'stopped');
        const del = await s.run(['delete', id]);
        seen.deleteCode = del.code;
        seen.deleteOut = del.stdout;
        seen.deleted = await snapshot(s, id, 'deleted');
        assert.deepEqual(stateLeftovers(s.root), [], `${rt} leaves nothing in its state root`);
        assert.deepEqual(processesMentioning(bundle.rootfs), [], `${rt} leaves no process`);
      } finally {
        await s.destroy(id);
      }
      return seen;
    };
    const runc = await walk('runc');
    const tsrunc = await walk('tsrunc');
    assert.equal((runc.deleted as Snapshot).stateCode, 1);
    for (const step of Object.keys(runc)) assert.deepEqual(tsrunc[step], runc[step], `step ${step}`);
  });

  test('run exits with the container\'s exit code and removes the container', async () => {
    const bundle = makeBundle({ args: ['sh', '-c', 'echo out; exit 42'] });
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('run');
      const r = await s.run(['run', '--bundle', bundle.dir, id]);
      assert.equal(r.code, 42, `${rt}: ${r.stderr}`);
      assert.equal(r.stdout, 'out\n');
      assert.equal((await s.run(['state', id])).code === 0, false, `${rt}: no state after run`);
      assert.deepEqual(stateLeftovers(s.root), [], rt);
    }
  });

  test('kill -9 while run is in the foreground makes run exit 137', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('fg');
      const running = s.run(['run', '--bundle', bundle.dir, id]);
      try {
        assert.equal(await s.waitStatus(id, 'running'), 'running', rt);
        const k = await s.run(['kill', id, '9']);
        assert.equal(k.code, 0, `${rt} kill: ${k.stderr}`);
        const r = await running;
        assert.equal(r.code, 137, `${rt} run: ${r.stderr}`);
        assert.deepEqual(stateLeftovers(s.root), [], rt);
      } finally {
        await s.destroy(id);
        await running;
      }
    }
  });

  test('kill without a signal sends SIGTERM', async () => {
    const bundle = makeBundle({ args: ['sh', '-c', 'trap "exit 5" TERM; echo ready; while :; do sleep 0.1; done'] });
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('term');
      const running = s.run(['run', '--bundle', bundle.dir, id]);
      try {
        assert.equal(await s.waitStatus(id, 'running'), 'running', rt);
        await new Promise((r) => setTimeout(r, 200)); // let the shell install its trap
        const k = await s.run(['kill', id]);
        assert.equal(k.code, 0, `${rt} kill: ${k.stderr}`);
        const r = await running;
        assert.equal(r.code, 5, `${rt} run: ${r.stderr}`);
      } finally {
        await s.destroy(id);
        await running;
      }
    }
  });

  for (const signal of ['KILL', 'SIGKILL', '9']) {
    test(`kill ${signal}`, async () => {
      const bundle = makeBundle({ args: ['sleep', '300'] });
      const codes: Record<string, number[]> = {};
      for (const rt of RUNTIMES) {
        const s = new Session(rt, bundle);
        const id = uniqueId('kill');
        try {
          const c = await s.run(['create', '--bundle', bundle.dir, id]);
          assert.equal(c.code, 0, `${rt} create: ${c.stderr}`);
          const st = await s.run(['start', id]);
          assert.equal(st.code, 0, `${rt} start: ${st.stderr}`);
          const k = await s.run(['kill', id, signal]);
          const status = await s.waitStatus(id, 'stopped');
          codes[rt] = [c.code, st.code, k.code];
          assert.equal(k.code, 0, `${rt} kill ${signal}: ${k.stderr}`);
          assert.equal(status, 'stopped', rt);
        } finally {
          await s.destroy(id);
        }
      }
      assert.deepEqual(codes.tsrunc, codes.runc);
    });
  }

  test('delete of a running container fails without --force and succeeds with it', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    const seen: Record<string, unknown[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('del');
      try {
        const r = await s.run(['run', '--detach', '--bundle', bundle.dir, id]);
        assert.equal(r.code, 0, `${rt} run -d: ${r.stderr}`);
        const plain = await s.run(['delete', id]);
        assert.notEqual(plain.code, 0, `${rt}: delete without --force must fail`);
        const still = await s.status(id);
        const forced = await s.run(['delete', '--force', id]);
        assert.equal(forced.code, 0, `${rt} delete --force: ${forced.stderr}`);
        const gone = await s.run(['state', id]);
        assert.ok(await waitFor(() => processesMentioning(bundle.rootfs).length === 0), `${rt}: the process is gone`);
        assert.deepEqual(stateLeftovers(s.root), [], rt);
        seen[rt] = [plain.code, still, forced.code, gone.code];
      } finally {
        await s.destroy(id);
      }
    }
    assert.deepEqual(seen.runc, [1, 'running', 0, 1]);
    assert.deepEqual(seen.tsrunc, seen.runc);
  });

  // podman deletes with --force after a create that failed, whether or not the container was made.
  test('delete of a container that does not exist: an error, but with --force silent success', async () => {
    const bundle = makeBundle({ args: ['true'] });
    const seen: Record<string, unknown[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('nodel');
      const plain = await s.run(['delete', id]);
      const forced = await s.run(['delete', '--force', id]);
      seen[rt] = [plain.code, /does not exist/.test(plain.stderr), forced.code, forced.stdout, forced.stderr];
    }
    assert.deepEqual(seen.runc, [1, true, 0, '', '']);
    assert.deepEqual(seen.tsrunc, seen.runc);
  });

  test('a second create of the same id fails and leaves the first alone', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    const seen: Record<string, unknown[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('dup');
      try {
        const first = await s.run(['create', '--bundle', bundle.dir, id]);
        assert.equal(first.code, 0, `${rt} create: ${first.stderr}`);
        const pid1 = JSON.parse((await s.run(['state', id])).stdout).pid as number;
        const second = await s.run(['create', '--bundle', bundle.dir, id]);
        const st = JSON.parse((await s.run(['state', id])).stdout) as { pid: number; status: string };
        assert.equal(st.pid, pid1, `${rt}: the first container is untouched`);
        seen[rt] = [first.code, second.code, st.status];
      } finally {
        await s.destroy(id);
      }
    }
    assert.deepEqual(seen.runc, [0, 1, 'created']);
    assert.deepEqual(seen.tsrunc, seen.runc);
  });

  test('two concurrent deletes do not both act (poststop hook runs once)', async () => {
    // runc 1.1 runs the poststop hook twice here (DIFFERENCES.md); tsrunc must run it exactly once.
    for (const rt of RUNTIMES) {
      const counter = join(tempDir('hook'), 'count');
      writeFileSync(counter, '');
      const bundle = makeBundle({
        args: ['sleep', '300'],
        mutate: (c) => {
          c.hooks = { poststop: [{ path: '/bin/sh', args: ['sh', '-c', `echo x >> ${counter}`] }] };
        },
      });
      const s = new Session(rt, bundle);
      const id = uniqueId('cdel');
      try {
        const c = await s.run(['create', '--bundle', bundle.dir, id]);
        assert.equal(c.code, 0, `${rt} create: ${c.stderr}`);
        await s.run(['kill', id, 'KILL']);
        assert.equal(await s.waitStatus(id, 'stopped'), 'stopped', rt);
        const [a, b] = await Promise.all([s.run(['delete', id]), s.run(['delete', id])]);
        const ran = readFileSync(counter, 'utf8').split('\n').filter(Boolean).length;
        assert.ok(a.code === 0 || b.code === 0, `${rt}: one delete succeeds\n${a.stderr}\n${b.stderr}`);
        assert.deepEqual(stateLeftovers(s.root), [], rt);
        if (rt === 'runc' || SELF) assert.ok(ran === 1 || ran === 2, `runc ran the hook ${ran} times`);
        else {
          assert.equal(ran, 1, 'the poststop hook ran exactly once');
          for (const r of [a, b]) {
            if (r.code !== 0) assert.match(r.stderr, /^tsrunc: [^\n]*\n?$/, 'the loser prints one line');
          }
        }
      } finally {
        await s.destroy(id);
      }
    }
  });

  test('run --detach returns at once and the container is running', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    const seen: Record<string, unknown[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('det');
      try {
        const r = await s.run(['run', '--detach', '--bundle', bundle.dir, id], { timeoutMs: 15_000 });
        assert.equal(r.timedOut, false, `${rt}: run -d returns`);
        seen[rt] = [r.code, await s.status(id)];
      } finally {
        await s.destroy(id);
      }
    }
    assert.deepEqual(seen.runc, [0, 'running']);
    assert.deepEqual(seen.tsrunc, seen.runc);
  });

  test('--pid-file holds the container pid, as runc writes it', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    const seen: Record<string, unknown[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('pidf');
      const pidFile = join(tempDir('pidfile'), 'pid');
      try {
        const r = await s.run(['create', '--pid-file', pidFile, '--bundle', bundle.dir, id]);
        assert.equal(r.code, 0, `${rt} create: ${r.stderr}`);
        const text = readFileSync(pidFile, 'utf8');
        const state = JSON.parse((await s.run(['state', id])).stdout) as { pid: number };
        assert.equal(Number(text.trim()), state.pid, `${rt}: pid file matches state`);
        seen[rt] = [text.replace(/\d+/, 'N')];
      } finally {
        await s.destroy(id);
      }
    }
    assert.deepEqual(seen.tsrunc, seen.runc);
  });

  test('run --detach --pid-file', async () => {
    const bundle = makeBundle({ args: ['sleep', '300'] });
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('dpid');
      const pidFile = join(tempDir('pidfile'), 'pid');
      try {
        const r = await s.run(['run', '--detach', '--pid-file', pidFile, '--bundle', bundle.dir, id]);
        assert.equal(r.code, 0, `${rt}: ${r.stderr}`);
        assert.ok(existsSync(pidFile), rt);
        const state = JSON.parse((await s.run(['state', id])).stdout) as { pid: number };
        assert.equal(Number(readFileSync(pidFile, 'utf8').trim()), state.pid, rt);
      } finally {
        await s.destroy(id);
      }
    }
  });

  test('run --keep keeps the stopped container until delete', async () => {
    const bundle = makeBundle({ args: ['sh', '-c', 'exit 3'] });
    const seen: Record<string, unknown[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('keep');
      try {
        const r = await s.run(['run', '--keep', '--bundle', bundle.dir, id]);
        const status = await s.status(id);
        const listed = (await s.run(['list', '-q'])).stdout;
        const del = await s.run(['delete', id]);
        seen[rt] = [r.code, status, listed === `${id}\n`, del.code, stateLeftovers(s.root)];
      } finally {
        await s.destroy(id);
      }
    }
    assert.deepEqual(seen.runc, [3, 'stopped', true, 0, []]);
    assert.deepEqual(seen.tsrunc, seen.runc);
  });

  test('kill of a stopped container fails like runc\'s', async () => {
    const bundle = makeBundle({ args: ['true'] });
    const seen: Record<string, number[]> = {};
    for (const rt of RUNTIMES) {
      const s = new Session(rt, bundle);
      const id = uniqueId('kst');
      try {
        const r = await s.run(['run', '--keep', '--bundle', bundle.dir, id]);
        const k = await s.run(['kill', id, 'KILL']);
        seen[rt] = [r.code, k.code];
      } finally {
        await s.destroy(id);
      }
    }
    assert.deepEqual(seen.tsrunc, seen.runc);
  });
});
