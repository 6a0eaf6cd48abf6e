// What belongs to one call of the runtime rather than to the process: its environment, working
// directory, stdout/stderr, and who spawns its containers. The CLI run directly has one call, the
// process itself; the warm server (src/server/) runs many at once, each under its own Call, so nothing
// on a request's path may read process.env, process.cwd() or fds 1 and 2 directly.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { SpawnRequest, Spawned } from '../native/plan.js';

/**
 * A process of the caller's that clones the containers of a call, so that the init is its child (with
 * its stdio, cgroup and rlimits) and it reaps it: the C front end (helpers/frontend.c).
 */
export interface CallerSpawner {
  /** spawn() done by the spawner; `hold` names the container it must remove should this process die. */
  spawn(req: SpawnRequest, hold: { root: string; id: string }): Spawned;
  /** The exit of a process the spawner cloned (it is the parent that reaps it). */
  wait(s: Spawned): Promise<{ code: number; signal: number | null }>;
}

export interface Call {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: number;
  stderr: number;
  spawner?: CallerSpawner;
}

const calls = new AsyncLocalStorage<Call>();

/** This process as a call (the CLI run directly, the embedded API). */
const own: Call = {
  get env() {
    return process.env;
  },
  get cwd() {
    return process.cwd();
  },
  stdout: 1,
  stderr: 2,
};

/** The call being served: the one `withCall` set up, else this process's own (the same object each time). */
export function currentCall(): Call {
  return calls.getStore() ?? own;
}

/** Runs `fn` (and everything it awaits) as `call`. */
export function withCall<T>(call: Call, fn: () => Promise<T>): Promise<T> {
  return calls.run(call, fn);
}

/** What a call served by a spawner's server cannot do (relay a terminal): the caller runs the Node CLI
 * itself instead. Thrown before the call changed anything. */
export class NeedsOwnProcess extends Error {}

/** The caller of a served call is gone (its front end was killed): the call ends without a word, leaving
 * what it made as a killed runc would. */
export class CallerGone extends Error {}
