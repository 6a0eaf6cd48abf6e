// What every lifecycle operation needs: where state lives, who the caller is, how to report warnings.
import { StateStore } from './state-store.js';
import { overflowUid, readCaller, isRootless, type Caller } from '../linux/host.js';
import { defaultStateRoot, checkPrivateRoot } from './paths.js';
import { resolve } from 'node:path';
import { HostFacts } from './host-facts.js';
import type { ConfigCache } from '../spec/load.js';
import type { Spawner } from '../native/spawner.js';
import type { SystemdBuses } from '../linux/cgroups/systemd.js';
import type { CallerSpawner } from './call.js';

/** Where warnings and debug lines go (the CLI writes them to stderr or the --log file). */
export interface Logger {
  warn(msg: string): void;
  debug(msg: string): void;
}

export interface RuntimeOptions {
  /** State root (--root); default per DESIGN.md. */
  root?: string;
  /** --rootless auto|true|false. */
  rootless?: 'auto' | 'true' | 'false';
  logger?: Logger;
  env?: NodeJS.ProcessEnv;
  /** The directory relative bundle and state paths are resolved against (default: process.cwd()). */
  cwd?: string;
  /** --systemd-cgroup: the systemd cgroup driver is required. */
  systemdCgroup?: boolean;
  /** The caller's process clones and reaps the inits (the C front end, for the server's calls). */
  callerSpawner?: CallerSpawner;
}

export interface Context {
  store: StateStore;
  caller: Caller;
  rootless: boolean;
  logger: Logger;
  /** The environment (bus addresses, XDG_RUNTIME_DIR). */
  env: NodeJS.ProcessEnv;
  /** --systemd-cgroup was given. */
  systemdCgroup: boolean;
  /** Relative paths (bundle, pid file) are resolved against this. */
  cwd: string;
  /** Host facts read once for this context. */
  facts: HostFacts;
  /** Configs already parsed, by path (reused while their text is unchanged). */
  configs: ConfigCache;
  /** Clones containers from a small helper process instead of this one (a Runtime sets it). */
  spawner?: Spawner;
  /** systemd bus connections kept between containers (a Runtime sets it). */
  buses?: SystemdBuses;
  /** The caller's own process clones and reaps the inits, signals reach them through it (the server's calls). */
  callerSpawner?: CallerSpawner;
}

const silent: Logger = { warn: () => {}, debug: () => {} };

/** Resolves the options into a context: state root chosen and checked lazily by the store. */
export function makeContext(opts: RuntimeOptions = {}): Context {
  // A copy: process.env is a slow accessor object, and later changes to it must not reach this context.
  const env = { ...(opts.env ?? process.env) };
  const caller = readCaller();
  const rootless = isRootless(caller, opts.rootless ?? 'auto', env);
  const logger = opts.logger ?? silent;
  const cwd = opts.cwd ?? process.cwd();
  let root: string;
  if (opts.root !== undefined && opts.root !== '') {
    root = resolve(cwd, opts.root);
  } else {
    const choice = defaultStateRoot(rootless, env, caller.uid);
    if (choice.notice !== undefined) logger.warn(choice.notice);
    root = choice.root;
    if (rootless) checkPrivateRoot(root, caller.uid, caller.inUserNamespace ? overflowUid() : null);
  }
  return {
    store: new StateStore(root),
    caller,
    rootless,
    logger,
    env,
    systemdCgroup: opts.systemdCgroup === true,
    cwd,
    facts: new HostFacts(caller, env),
    configs: new Map(),
    ...(opts.callerSpawner !== undefined ? { callerSpawner: opts.callerSpawner } : {}),
  };
}
