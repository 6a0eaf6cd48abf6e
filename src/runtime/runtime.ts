// The embeddable API: `new Runtime(options)` and the lifecycle as promises, on the same functions the
// CLI's commands call. One Runtime keeps its context (state root, host facts, parsed configs) for every
// container, waits for all their exits through the process's one reaper, and touches no process-wide
// state per call: no signal handlers, no process.env or cwd (both are options), stdio per container.
import { EventEmitter } from 'node:events';
import { makeContext, type Context, type RuntimeOptions } from './context.js';
import { createContainer, type CreateOptions } from './create.js';
import { startContainer } from './start.js';
import { runContainerStatus } from './run.js';
import { killContainer } from './kill.js';
import { killAllContainer } from './cgroup-ops.js';
import { deleteContainer } from './delete.js';
import { containerState, listContainers } from './query.js';
import { execInContainer, type ExecOptions } from './exec.js';
import { ociState, type OciState } from './live-status.js';
import { parseSignal } from '../linux/signals.js';
import { isSameLiveProcess } from '../linux/proc.js';
import { TsruncError } from '../errors.js';
import * as native from '../native/index.js';
import type { ExitStatus } from '../native/reaper.js';
import { waitContainer } from './wait.js';
import { exitCodeOf } from '../monitor/exit-file.js';
import { Spawner } from '../native/spawner.js';
import { SystemdBuses } from '../linux/cgroups/systemd.js';
import { withCall, type Call } from './call.js';

export type { ExitStatus } from '../native/reaper.js';
export type { RuntimeOptions } from './context.js';

/** What `create` and `run` take: the bundle (relative to the Runtime's cwd) and per-container options. */
export interface ContainerOptions {
  /** Bundle directory, relative to the Runtime's `cwd` (default: that directory). */
  bundle?: string;
  /** fds that become the container process's stdin, stdout and stderr (default: this process's own). */
  stdio?: [number, number, number];
  pidFile?: string;
  noPivot?: boolean;
  /** fds 3 .. 3+N-1 of this process are handed to the container. */
  preserveFds?: number;
  /** Unix socket that receives the pty master of a container with `process.terminal`. */
  consoleSocket?: string;
}

export interface RunContainerOptions extends ContainerOptions {
  /** Keep the state after the container exits (runc's --keep); `delete` removes it. */
  keep?: boolean;
}

/** Exec in a running container: the command, or `process` fields as runc's exec flags give them. */
export type ExecContainerOptions = Omit<ExecOptions, 'forwardSignals' | 'detach'>;

/** The events a Runtime emits, with their arguments. */
export interface RuntimeEvents {
  /** A container was created (its init waits at the exec barrier). */
  create: [state: OciState];
  /** A container's process started. */
  start: [state: OciState];
  /** A container's init this Runtime created exited (reaped by it). */
  exit: [id: string, status: ExitStatus];
  /** A container was deleted (by `delete`, or by `run` once it exited). */
  delete: [id: string];
}

/** A container init this Runtime created: it is our child, so we reap it and know its exit status. */
interface Held {
  pidfd: number;
  exit: Promise<ExitStatus>;
}

/** An OCI runtime in this process. Safe to use for many containers at once. */
export class Runtime extends EventEmitter<RuntimeEvents> {
  /** The resolved options (state root, rootless, environment) every call uses. */
  readonly context: Context;
  readonly #held = new Map<string, Held>();
  /** Exits of run() containers, which runContainer itself waits for. */
  readonly #running = new Map<string, Promise<ExitStatus>>();

  constructor(options: RuntimeOptions = {}) {
    super();
    this.context = { ...makeContext(options), spawner: new Spawner(), buses: new SystemdBuses() };
  }

  /** Creates container `id`: its init is set up and waits at the exec barrier until `start`. */
  async create(id: string, opts: ContainerOptions = {}): Promise<OciState> {
    const c = await this.#asCall(() => createContainer(this.context, id, createOptions(opts)));
    native.closeFd(c.spawned.syncFd);
    native.closeFd(c.dirFd);
    this.#hold(id, c.spawned.pidfd);
    const state = ociState(c.state, 'created');
    this.emit('create', state);
    return state;
  }

  /** Lets created container `id` exec its process. */
  async start(id: string): Promise<OciState> {
    const state = ociState(await this.#asCall(async () => startContainer(this.context, id)), 'running');
    this.emit('start', state);
    return state;
  }

  /**
   * Creates and starts container `id`, waits for it to exit, removes it (unless `keep`), and resolves
   * to its exit status (code 128+signal when a signal killed it).
   */
  async run(id: string, opts: RunContainerOptions = {}): Promise<ExitStatus> {
    let exited!: (s: ExitStatus) => void;
    let failed!: (e: unknown) => void;
    const exit = new Promise<ExitStatus>((resolve, reject) => {
      exited = resolve;
      failed = reject;
    });
    exit.catch(() => {}); // a failed run rejects here too, for wait(); the caller sees run()'s own rejection
    let started = false;
    try {
      const status = await this.#asCall(() =>
        runContainerStatus(this.context, id, {
          ...createOptions(opts),
          keep: opts.keep === true,
          onStart: (st) => {
            started = true;
            this.#running.set(id, exit);
            this.emit('start', ociState(st, 'running'));
          },
        }),
      );
      this.emit('exit', id, status);
      if (opts.keep !== true) this.emit('delete', id);
      exited(status);
      return status;
    } catch (e) {
      failed(e);
      throw e;
    } finally {
      if (started) this.#running.delete(id);
    }
  }

  /**
   * Runs a process in running container `id` and resolves to its exit code once it exits (runc's
   * `exec` in the foreground).
   */
  async exec(id: string, opts: ExecContainerOptions): Promise<number> {
    return this.#asCall(() => execInContainer(this.context, id, opts));
  }

  /** Sends `signal` (a name such as 'SIGTERM' or 'KILL', or a number) to the container's init, or with
   * `all` to every process of its cgroup. */
  async kill(id: string, signal: string | number = 'SIGTERM', opts: { all?: boolean } = {}): Promise<void> {
    const sig = typeof signal === 'number' ? signal : parseSignal(signal);
    if (opts.all === true) killAllContainer(this.context, id, sig);
    else killContainer(this.context, id, sig);
  }

  /** Removes a stopped or created container; `force` kills a running one first. */
  async delete(id: string, opts: { force?: boolean } = {}): Promise<void> {
    await this.#asCall(() => deleteContainer(this.context, id, opts.force === true));
    const held = this.#held.get(id);
    // A created init killed by the delete is our child: let the reaper collect it before we let go.
    if (held !== undefined) await held.exit;
    this.emit('delete', id);
  }

  /** The OCI state of container `id`. */
  async state(id: string): Promise<OciState> {
    return containerState(this.context, id);
  }

  /** Every container in the state root. */
  async list(): Promise<(OciState & { ownerName: string })[]> {
    return listContainers(this.context);
  }

  /**
   * Resolves when container `id`'s init exits. For a container this Runtime created or runs, or one
   * with a monitor (`tsrunc run -d`), with its exit status; for one created by another process (which
   * alone can reap it), with code null.
   */
  async wait(id: string): Promise<ExitStatus> {
    const own = this.#held.get(id)?.exit ?? this.#running.get(id);
    if (own !== undefined) return own;
    const st = this.context.store.load(id);
    if (st.monitor !== undefined || st.exitStatus !== undefined) {
      const recorded = await waitContainer(this.context, id);
      return { code: exitCodeOf(recorded), signal: recorded.signal };
    }
    if (st.pid <= 0) throw new TsruncError('invalid-state', `container "${id}" has no process`);
    let pidfd: number;
    try {
      pidfd = native.pidfdOpen(st.pid);
    } catch {
      return { code: null, signal: null };
    }
    try {
      // Opened while the start time still matches: this pidfd is the container's init, not a reused pid.
      if (!isSameLiveProcess(st.pid, st.pidStartTime)) return { code: null, signal: null };
      return await native.reaper().exit(pidfd);
    } finally {
      native.closeFd(pidfd);
    }
  }

  /**
   * Stops waiting for the containers this Runtime created (they keep running; their exits are no longer
   * reported) and ends its spawner process, so that the process can end. The Runtime can still be used
   * afterwards.
   */
  close(): void {
    this.context.spawner?.close();
    this.context.buses?.close();
    for (const [, h] of this.#held) {
      native.reaper().forget(h.pidfd);
      native.closeFd(h.pidfd);
    }
    this.#held.clear();
  }

  /** Runs `fn` as a call with this Runtime's environment and directory (what hooks get), not the process's. */
  #asCall<T>(fn: () => Promise<T>): Promise<T> {
    this.#call ??= { env: this.context.env, cwd: this.context.cwd, stdout: 1, stderr: 2 };
    return withCall(this.#call, fn);
  }

  #call: Call | undefined;

  /** Watches the init of a created container until it exits: reaps it, reports the exit. */
  #hold(id: string, pidfd: number): void {
    const exit = native
      .reaper()
      .exit(pidfd)
      .then((status) => {
        if (this.#held.get(id)?.pidfd === pidfd) {
          this.#held.delete(id);
          native.closeFd(pidfd);
        }
        this.emit('exit', id, status);
        return status;
      });
    exit.catch(() => {});
    this.#held.set(id, { pidfd, exit });
  }
}

function createOptions(o: ContainerOptions): CreateOptions {
  return {
    ...(o.bundle !== undefined ? { bundle: o.bundle } : {}),
    ...(o.stdio !== undefined ? { stdio: o.stdio } : {}),
    ...(o.pidFile !== undefined ? { pidFile: o.pidFile } : {}),
    ...(o.noPivot !== undefined ? { noPivot: o.noPivot } : {}),
    ...(o.preserveFds !== undefined ? { preserveFds: o.preserveFds } : {}),
    ...(o.consoleSocket !== undefined ? { consoleSocket: o.consoleSocket } : {}),
  };
}
