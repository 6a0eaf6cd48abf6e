// What a foreground `run` or `exec` of the CLI does with the signals it receives: pass them on to the
// container's process, as runc does. Only the CLI asks for it: a process embedding the Runtime keeps
// its own signal handling.
import * as native from '../native/index.js';
import { signalNumber } from '../linux/signals.js';

/** The signals relayed, as runc's foreground `run` and `exec`. */
const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR2', 'SIGALRM', 'SIGCONT', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGWINCH', 'SIGPIPE'];

/** Relays this process's signals to the process behind `pidfd` until the returned function is called. */
export function relaySignals(pidfd: number): () => void {
  const relay = (sig: NodeJS.Signals): void => {
    try {
      native.pidfdSignal(pidfd, signalNumber(sig));
    } catch {
      // the process is already gone: its exit is reported by whoever waits for it
    }
  };
  for (const sig of FORWARDED) process.on(sig, relay);
  return () => {
    for (const sig of FORWARDED) process.off(sig, relay);
  };
}
