// process.terminal: the pty master the init hands over (helpers/handoff.c, op `console`) goes to the
// --console-socket (SCM_RIGHTS, what conmon and containerd's shim expect), or a foreground `run`/`exec`
// relays it to its own terminal: raw mode, both directions, window sizes, restored on every exit path.
import { createReadStream, writeSync } from 'node:fs';
import { TsruncError } from '../errors.js';
import { native } from '../native/binding.js';

/** The MSG_SYNC value of the console op's record (TSR_TAG_CONSOLE in helpers/plan.h). */
export const CONSOLE_TAG = 256;

/** runc's rules for --console-socket and process.terminal. */
export function checkConsoleOptions(terminal: boolean, consoleSocket: string | undefined, detach: boolean): void {
  if (terminal && detach && consoleSocket === undefined) {
    throw new TsruncError('invalid-argument', 'cannot allocate a terminal (process.terminal) for a detached container without --console-socket');
  }
  if (consoleSocket !== undefined && (!terminal || !detach)) {
    throw new TsruncError('invalid-argument', '--console-socket: only for a detached container with a terminal (process.terminal: true)');
  }
}

/** Sends the pty master over the unix socket at `path`, as runc does (the name as data, the fd attached). */
export function sendConsole(path: string, master: number): void {
  const r = native().sendFd(path, new TextEncoder().encode('/dev/ptmx'), '/dev/ptmx'.length, master);
  if (r < 0) {
    throw new TsruncError('invalid-argument', `--console-socket ${path}: cannot send the terminal: ${native().strerror(-r) ?? `errno ${-r}`}`);
  }
}

/** Sets a terminal's window size (best effort: the container may be gone). */
export function setWinsize(fd: number, rows: number, cols: number): void {
  if (rows > 0 && cols > 0) native().setWinsize(fd, rows, cols);
}

/** Gives the pty our own terminal's window size, when we have a terminal. */
export function followHostSize(master: number): void {
  if (process.stdout.isTTY === true) setWinsize(master, process.stdout.rows, process.stdout.columns);
}

/**
 * Relays the pty `master` to this process' stdin/stdout until stop() is called; stdin (when it is a
 * terminal) is in raw mode meanwhile and the container's window follows ours (unless `fixedSize`).
 * stop() waits briefly for the last output, then restores the terminal; it runs at process exit too.
 */
export function relayTerminal(master: number, fixedSize: boolean): { stop(): Promise<void> } {
  const stdin = process.stdin;
  // runc's raw mode (cfmakeraw) on our terminal, restored at the end.
  const saved = new Uint8Array(256);
  const raw = stdin.isTTY === true && native().ttyRaw(0, saved, saved.length) === 0;
  const restore = (): void => {
    if (raw) native().ttyRestore(0, saved, saved.length);
  };
  process.once('exit', restore);

  const resize = (): void => followHostSize(master);
  if (!fixedSize) {
    resize();
    process.on('SIGWINCH', resize);
  }

  const onInput = (chunk: Buffer): void => {
    try {
      writeSync(master, chunk);
    } catch {
      // the container closed its terminal
    }
  };
  stdin.on('data', onInput);
  stdin.resume();

  const out = createReadStream('', { fd: master, autoClose: false, highWaterMark: 16384 });
  const ended = new Promise<void>((resolve) => {
    out.on('data', (chunk) => process.stdout.write(chunk));
    // EIO once every replica is closed: the normal end.
    out.on('error', () => resolve());
    out.on('end', () => resolve());
  });

  let stopped: Promise<void> | null = null;
  const stop = async (): Promise<void> => {
    await Promise.race([ended, new Promise((r) => setTimeout(r, 500))]);
    out.destroy();
    stdin.off('data', onInput);
    stdin.pause();
    process.off('SIGWINCH', resize);
    restore();
    process.off('exit', restore);
    native().close(master);
  };
  return { stop: () => (stopped ??= stop()) };
}
