// A Runtime's spawner: helpers/build/tsrunc-spawner, started once, clones each container for us from
// its small address space (CLONE_PARENT: the container is still our child, reaped by our reaper). A
// clone from Node itself copies Node's page tables, turns every later write to those pages into a
// copy-on-write fault, and the child's execve tears the copy down: about a millisecond of CPU per
// container, growing with the embedding program's memory.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { findLibrary } from './binding.js';
import { closeFd, seqpacketPair, spawn, spawnVia } from './index.js';
import type { SpawnRequest, Spawned } from './plan.js';

const SPAWNER = 'tsrunc-spawner';

/** Where tsrunc-spawner is: beside libtsrunc.so. */
export function findSpawner(): string | undefined {
  const lib = findLibrary();
  if (lib === undefined) return undefined;
  const p = join(dirname(lib), SPAWNER);
  return existsSync(p) ? p : undefined;
}

/** Spawns through a tsrunc-spawner child of this process, started on first use. */
export class Spawner {
  #sock = -1;
  #pid = 0;
  #broken = false;

  /** The pid of the spawner process (0 before it is started): its CPU is part of what containers cost. */
  get pid(): number {
    return this.#pid;
  }

  /**
   * Clones the child for `req` through the spawner, or in this process when it cannot help: preserved
   * fds (they are fds of this process), no spawner binary, or a spawner that died.
   */
  async spawn(req: SpawnRequest): Promise<Spawned> {
    if (req.preserveFds > 0 || this.#broken) return spawn(req);
    const sock = await this.#connection();
    if (sock < 0) return spawn(req);
    // The child's stdio defaults to ours, not the spawner's (which has none worth inheriting).
    const stdio = (req.stdio ?? [-1, -1, -1]).map((fd, k) => (fd < 0 ? k : fd)) as [number, number, number];
    try {
      return spawnVia(sock, { ...req, stdio }, { sibling: true });
    } catch (e) {
      if (!/process that was to spawn the container is gone/.test((e as Error).message)) throw e;
      this.close();
      this.#broken = true;
      return spawn(req);
    }
  }

  /** Ends the spawner (it exits when its connection closes). */
  close(): void {
    if (this.#sock >= 0) closeFd(this.#sock);
    this.#sock = -1;
    this.#pid = 0;
  }

  async #connection(): Promise<number> {
    if (this.#sock >= 0) return this.#sock;
    const path = findSpawner();
    if (path === undefined) {
      this.#broken = true;
      return -1;
    }
    const [mine, theirs] = seqpacketPair();
    try {
      const { spawn: start } = await import('node:child_process');
      const child = start(path, [], { stdio: ['ignore', 'ignore', 'inherit', theirs], env: {} });
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
      // It lives as long as its connection: it must keep no event loop of ours alive.
      child.unref();
      this.#pid = child.pid ?? 0;
    } catch {
      closeFd(mine);
      this.#broken = true;
      return -1;
    } finally {
      closeFd(theirs);
    }
    this.#sock = mine;
    return mine;
  }
}
