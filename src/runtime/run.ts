// `run`: create and start in one process; in the foreground, forward signals to the init, wait for
// it, clean up (unless --keep) and report its exit code (128+signal when killed).
import * as native from '../native/index.js';
import type { Context } from './context.js';
import { createContainer, type CreateOptions } from './create.js';
import { startContainer } from './start.js';
import { hooksOf, runHostHooksWarn } from './hooks.js';
import { ociState } from './live-status.js';
import { releaseCgroup } from './cgroup.js';
import { followHostSize, relayTerminal } from './terminal.js';
import { bindNotifySocket, hostNotifySocket, relayNotify } from './notify.js';
import { relaySignals } from './signal-relay.js';
import type { ExitStatus } from '../native/reaper.js';
import type { StateFile } from '../spec/state-schema.js';
import { TsruncError } from '../errors.js';
import { findCli, spawnUnderMonitor, type Monitored } from '../monitor/spawn.js';

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  /** Keep the state after the container exits (runc's --keep). */
  keep?: boolean;
  /** Relay this process's signals to the container while it runs in the foreground (the CLI's `run`). */
  forwardSignals?: boolean;
  /** Called once the container runs (its state as saved), before `run` waits for it. */
  onStart?: (state: StateFile) => void;
  /** With detach: the monitor writes the container's stdout and stderr to this log (absolute path). */
  output?: string;
  /** With detach: the monitor removes the container when it ends. */
  rm?: boolean;
}

/** Runs container `id`; resolves to the exit code `run` should exit with. */
export async function runContainer(ctx: Context, id: string, opts: RunOptions): Promise<number> {
  return (await runContainerStatus(ctx, id, opts)).code ?? 0;
}

/** runContainer with the whole exit status (a detached run resolves to code 0 once started). */
export async function runContainerStatus(ctx: Context, id: string, opts: RunOptions): Promise<ExitStatus> {
  checkRunOptions(opts);
  // A detached container is cloned by its monitor, which stays with it (src/monitor/).
  let monitored: Monitored | undefined;
  const spawner: CreateOptions['spawner'] =
    opts.detach === true
      ? (req, container) => {
          if (container.terminal && opts.output !== undefined) {
            throw new TsruncError('invalid-argument', '--output: the container has a terminal (process.terminal): its output goes to the --console-socket');
          }
          const exitStep = opts.rm === true || container.poststop ? exitCommand(ctx, id, opts.rm === true) : undefined;
          monitored = spawnUnderMonitor(req, {
            stateDir: ctx.store.dir(id),
            env: ctx.env,
            ...(opts.output !== undefined ? { output: opts.output } : {}),
            ...(exitStep ? { exitCommand: exitStep } : {}),
          });
          return monitored.spawned;
        }
      : undefined;
  let created: Awaited<ReturnType<typeof createContainer>>;
  try {
    created = await createContainer(ctx, id, { ...opts, foreground: opts.detach !== true, startNow: true, ...(spawner ? { spawner } : {}) });
  } catch (e) {
    monitored?.abandon();
    throw e;
  }
  const { spawned, dirFd } = created;
  if (monitored !== undefined) created.state.monitor = monitored.monitor;
  let state = created.state;
  // The process must see our window size from its first instruction: size the pty before it starts.
  if (created.console !== undefined) followHostSize(created.console);
  const notifyHost = hostNotifySocket(ctx.env);
  let notify: number | null = null;
  try {
    if (notifyHost !== undefined) notify = bindNotifySocket(ctx.store.dir(id));
    state = startContainer(ctx, id, { dirFd, state });
  } catch (e) {
    native.abort(spawned);
    monitored?.abandon();
    if (notify !== null) native.closeFd(notify);
    if (created.console !== undefined) native.closeFd(created.console);
    await releaseCgroup(ctx, state.cgroup).catch(() => {});
    ctx.store.remove(id);
    runHostHooksWarn('poststop', hooksOf(state.hooks), ociState(state, 'stopped'), ctx.logger);
    throw e;
  } finally {
    // Closing the directory drops the lock, so `kill` and `delete --force` work while we wait.
    native.closeFd(dirFd);
  }
  const init = { pid: state.pid, startTime: state.pidStartTime };
  opts.onStart?.(state);
  if (opts.detach === true) {
    // From here on the monitor records how the init ends (and runs the exit step).
    monitored?.commit(state.pid);
    native.closeFd(spawned.pidfd);
    native.closeFd(spawned.syncFd);
    // As runc: a detached run returns once the container is ready (or gone), the init as MAINPID.
    if (notify !== null) await relayNotify(notify, notifyHost!, state.pid, init, (m) => ctx.logger.warn(m));
    return { code: 0, signal: null };
  }
  // In the foreground `run` itself is the main process the service manager watches. Awaited after the
  // exit: a READY=1 the container sent just before it ended must still reach the caller.
  const relaying = notify !== null ? relayNotify(notify, notifyHost!, process.pid, init, (m) => ctx.logger.warn(m)) : null;

  // The caller's front end, when it cloned the init, is its parent: it relays signals and reaps it.
  const caller = ctx.callerSpawner;
  const stopRelay = opts.forwardSignals === true && caller === undefined ? relaySignals(spawned.pidfd) : null;
  // A terminal without --console-socket: relayed here, and the host terminal restored however we end.
  const terminal = created.console !== undefined ? relayTerminal(created.console, false) : null;
  try {
    const exit = caller !== undefined ? await caller.wait(spawned) : await native.waitExit(spawned.pidfd);
    // The relay ends at READY, or at its next look (≤ 100 ms) once the init is gone.
    await relaying?.catch((e: unknown) => ctx.logger.warn(`NOTIFY_SOCKET relay: ${e instanceof Error ? e.message : String(e)}`));
    await terminal?.stop();
    if (opts.keep === true) {
      state.status = 'stopped';
      state.exitStatus = { code: exit.code, signal: exit.signal, at: new Date().toISOString() };
      ctx.store.save(state);
    } else {
      await releaseCgroup(ctx, state.cgroup);
      ctx.store.remove(id);
      runHostHooksWarn('poststop', hooksOf(state.hooks), ociState(state, 'stopped'), ctx.logger);
    }
    return exit;
  } finally {
    await terminal?.stop();
    stopRelay?.();
    native.closeFd(spawned.pidfd);
    native.closeFd(spawned.syncFd);
  }
}

/** --output and --rm belong to a detached run (a foreground run holds the output and removes the
 * container itself); --rm contradicts --keep. */
function checkRunOptions(opts: RunOptions): void {
  if (opts.detach !== true) {
    if (opts.output !== undefined) throw new TsruncError('invalid-argument', '--output: only with --detach (a foreground run passes the output through)');
    if (opts.rm === true) throw new TsruncError('invalid-argument', '--rm: only with --detach (a foreground run removes the container unless --keep)');
  }
  if (opts.keep === true && opts.rm === true) throw new TsruncError('invalid-argument', '--rm and --keep contradict each other');
}

/** The command the monitor runs when the init has ended: this tsrunc's internal `exited` step. */
function exitCommand(ctx: Context, id: string, rm: boolean): string[] {
  return [process.execPath, findCli(), '--root', ctx.store.root, '--rootless', ctx.rootless ? 'true' : 'false', 'exited', ...(rm ? ['--rm'] : []), id];
}
