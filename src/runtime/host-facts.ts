// Host facts a context reads at most once: who the owner is, the ID-map helpers on PATH, the LSMs,
// /proc/kcore, the caller's cgroup2 directory. A CLI call lives one command; a Runtime reuses them for
// every container it creates instead of reading /etc/passwd, PATH and /proc again each time.
import type { Caller } from '../linux/host.js';
import { hostHasKcore, ownCgroup2Dir, readOr, userName } from '../linux/host.js';
import { hostSecurity, type HostSecurity } from '../linux/lsm.js';
import { findMapHelpers, type MapFacts } from '../linux/id-maps.js';

export class HostFacts {
  #owner: string | undefined;
  #kcore: boolean | undefined;
  #security: HostSecurity | undefined;
  #helpers: MapFacts['helpers'] | undefined;
  #cgroup2Dir: string | null | undefined;
  readonly #other = new Map<string, unknown>();

  constructor(
    private readonly caller: Caller,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** The caller's login name (its uid as text when it has none), the state's `owner`. */
  owner(): string {
    this.#owner ??= userName(this.caller.uid) ?? String(this.caller.uid);
    return this.#owner;
  }

  hasKcore(): boolean {
    this.#kcore ??= hostHasKcore();
    return this.#kcore;
  }

  security(): HostSecurity {
    this.#security ??= hostSecurity();
    return this.#security;
  }

  /** newuidmap and newgidmap on the context's PATH (both, or null). */
  mapHelpers(): MapFacts['helpers'] {
    if (this.#helpers === undefined) this.#helpers = findMapHelpers(this.env.PATH);
    return this.#helpers;
  }

  /** Any other fact, read by `read` on first use under `key` (the cgroup driver's host facts). */
  once<T>(key: string, read: () => T): T {
    if (!this.#other.has(key)) this.#other.set(key, read());
    return this.#other.get(key) as T;
  }

  /** The caller's own cgroup2 directory (bound when cgroup2 cannot be mounted), or null. */
  ownCgroup2Dir(): string | null {
    if (this.#cgroup2Dir === undefined) this.#cgroup2Dir = ownCgroup2Dir(readOr('/proc/self/mountinfo', ''), readOr('/proc/self/cgroup', ''));
    return this.#cgroup2Dir;
  }
}
