// Shared by the exec suites: a detached container of one runtime, and the same exec cases under runc
// and tsrunc.
import assert from 'node:assert/strict';
import { freshStateRoot, makeBundle, runRuntime, uniqueId, type Bundle, type RunResult, type Runtime, type Spec } from './harness.js';

const RUNTIMES: Runtime[] = ['runc', 'tsrunc'];

/** A detached container of `runtime` running `sleep 300`, and exec into it. */
export class Running {
  readonly root: string;
  readonly id = uniqueId('exec');
  constructor(
    readonly runtime: Runtime,
    readonly bundle: Bundle,
  ) {
    this.root = freshStateRoot(runtime);
  }
  run(args: string[], input?: string): Promise<RunResult> {
    return runRuntime(this.runtime, args, { root: this.root, cwd: this.bundle.dir, input });
  }
  async start(): Promise<void> {
    const r = await this.run(['run', '-d', '--bundle', this.bundle.dir, this.id]);
    assert.equal(r.code, 0, `${this.runtime} run -d: ${r.stderr}`);
  }
  exec(args: string[]): Promise<RunResult> {
    return this.run(['exec', ...args]);
  }
  async pid(): Promise<number> {
    return (JSON.parse((await this.run(['state', this.id])).stdout) as { pid: number }).pid;
  }
  async destroy(): Promise<void> {
    await this.run(['delete', '--force', this.id]);
  }
}

export function bundleFor(mutate?: (c: Spec) => void): Bundle {
  return makeBundle({ args: ['sleep', '300'], mutate, dirs: ['work'] });
}

/** Runs `cases` (exec argument lists, with "ID" standing for the container id) under both runtimes. */
export async function sameExec(cases: string[][], mutate?: (c: Spec) => void): Promise<void> {
  const seen: Record<string, { code: number; stdout: string }[]> = {};
  for (const rt of RUNTIMES) {
    const c = new Running(rt, bundleFor(mutate));
    try {
      await c.start();
      seen[rt] = [];
      for (const args of cases) {
        const r = await c.exec(args.map((a) => (a === 'ID' ? c.id : a)));
        seen[rt].push({ code: r.code, stdout: r.stdout });
      }
    } finally {
      await c.destroy();
    }
  }
  assert.deepEqual(seen.tsrunc, seen.runc);
}

