// The single waiter for process exits. Our own children (the containers a Runtime or the CLI cloned)
// are reaped when SIGCHLD arrives, on the event loop, with no thread at all; any other process (a
// container another process created) through one epoll set of pidfds on which at most one koffi async
// call (one libuv threadpool thread) blocks, however many are waited for. A blocked waitid per
// container held a threadpool thread each: with more than four waiting, fs, dns and zlib work of the
// whole process stalled behind them.
import { TsruncError } from '../errors.js';
import { native } from './binding.js';

/** How a process ended: `code` is its exit status, or 128+signal when a signal killed it (null when
 * it was not our child, so its status went to its own parent); `signal` the killing signal. */
export interface ExitStatus {
  code: number | null;
  signal: number | null;
}

const EAGAIN = 11;
const ECHILD = 10;
const BATCH = 64;
const RECHECK_MS = 1000;

interface Waiter {
  resolve: (s: ExitStatus) => void;
  reject: (e: Error) => void;
}

/** One epoll set of pidfds and the one async call that waits on it. */
export class Reaper {
  #ep = -1;
  #wake = -1;
  readonly #waiting = new Map<number, Waiter>();
  /** Our children's pidfds, checked at every SIGCHLD. */
  readonly #children = new Map<number, Waiter>();
  readonly #onChild = (): void => this.#reapChildren();
  /** Keeps the event loop alive while children are waited for (a signal listener does not), and looks
   * again now and then should a SIGCHLD ever be missed (another library reaping with waitpid(-1)). */
  #keepAlive: NodeJS.Timeout | null = null;
  #armed = false;
  readonly #ready = new Int32Array(BATCH);

  /** Resolves when the process behind `pidfd` has exited, reaping it when it is our child. The
   * caller keeps owning `pidfd` and closes it after the promise settles (or after forget()). */
  exit(pidfd: number): Promise<ExitStatus> {
    if (this.#waiting.has(pidfd) || this.#children.has(pidfd)) return Promise.reject(new TsruncError('internal', `pidfd ${pidfd} is already waited for`));
    // Our child that has exited already: no need to go through the set.
    const now = native().waitNohang(pidfd);
    if (now >= 0) return Promise.resolve(toStatus(now));
    if (now === -EAGAIN) {
      // Our child, running: SIGCHLD tells when it ends. Listening first, then checking once more,
      // leaves no gap for an exit between the check above and the listener.
      return new Promise<ExitStatus>((resolve, reject) => {
        this.#children.set(pidfd, { resolve, reject });
        if (this.#children.size === 1) {
          process.on('SIGCHLD', this.#onChild);
          this.#keepAlive = setInterval(this.#onChild, RECHECK_MS);
        }
        this.#reapChildren();
      });
    }
    this.#open();
    return new Promise<ExitStatus>((resolve, reject) => {
      const r = native().reaperCtl(this.#ep, pidfd, 1);
      if (r < 0) return reject(new TsruncError('internal', `cannot watch pidfd ${pidfd}: ${native().strerror(-r) ?? r}`));
      this.#waiting.set(pidfd, { resolve, reject });
      this.#arm();
    });
  }

  /** Stops waiting on `pidfd` (its promise never settles); call before closing a pidfd early. */
  forget(pidfd: number): void {
    if (this.#children.delete(pidfd)) {
      if (this.#children.size === 0) this.#stopChildWatch();
      return;
    }
    if (!this.#waiting.delete(pidfd)) return;
    native().reaperCtl(this.#ep, pidfd, 0);
    if (this.#waiting.size === 0 && this.#armed) native().reaperPoke(this.#wake);
  }

  /** How many processes are waited for (tests). */
  get size(): number {
    return this.#waiting.size + this.#children.size;
  }

  /** Reaps the children that have exited (one SIGCHLD may stand for several exits). */
  #reapChildren(): void {
    for (const [fd, w] of this.#children) {
      let s: ExitStatus | null;
      try {
        s = statusNow(fd);
      } catch (e) {
        this.#children.delete(fd);
        w.reject(e as Error);
        continue;
      }
      if (s === null) continue;
      this.#children.delete(fd);
      w.resolve(s);
    }
    if (this.#children.size === 0) this.#stopChildWatch();
  }

  #stopChildWatch(): void {
    process.off('SIGCHLD', this.#onChild);
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  #open(): void {
    if (this.#ep >= 0) return;
    const out = new Int32Array(2);
    const r = native().reaperOpen(out);
    if (r < 0) throw new TsruncError('internal', `cannot create the exit waiter: ${native().strerror(-r) ?? r}`);
    this.#ep = out[0]!;
    this.#wake = out[1]!;
  }

  #arm(): void {
    if (this.#armed || this.#waiting.size === 0) return;
    this.#armed = true;
    native().reaperWaitAsync(this.#ep, this.#wake, this.#ready, BATCH, (err, n) => {
      this.#armed = false;
      if (err || n < 0) {
        const e = new TsruncError('internal', `waiting for process exits: ${err instanceof Error ? err.message : native().strerror(-n)}`);
        for (const [fd, w] of this.#waiting) {
          native().reaperCtl(this.#ep, fd, 0);
          w.reject(e);
        }
        this.#waiting.clear();
        return;
      }
      for (const fd of this.#ready.subarray(0, n)) {
        const w = this.#waiting.get(fd);
        if (w === undefined) continue; // the eventfd, or a pidfd forgotten meanwhile
        let s: ExitStatus | null;
        try {
          s = statusNow(fd);
        } catch (e) {
          s = null;
          this.#waiting.delete(fd);
          native().reaperCtl(this.#ep, fd, 0);
          w.reject(e as Error);
        }
        if (s === null) continue; // still running (cannot be, for a readable pidfd): keep waiting
        this.#waiting.delete(fd);
        native().reaperCtl(this.#ep, fd, 0);
        w.resolve(s);
      }
      this.#arm();
    });
  }
}

/** For a pidfd that polled readable (its process has exited): the status, reaping it; null if it
 * still runs. Not our child: exited, status unknown. */
function statusNow(pidfd: number): ExitStatus | null {
  const r = native().waitNohang(pidfd);
  if (r === -EAGAIN) return null;
  if (r === -ECHILD) return { code: null, signal: null };
  if (r < 0) throw new TsruncError('internal', `waitid on pidfd ${pidfd}: ${native().strerror(-r) ?? r}`);
  return toStatus(r);
}

function toStatus(r: number): ExitStatus {
  return { code: r & 0xff, signal: r >> 16 || null };
}

let shared: Reaper | undefined;

/** The process-wide reaper (one epoll set and at most one threadpool thread for every Runtime). */
export function reaper(): Reaper {
  shared ??= new Reaper();
  return shared;
}
