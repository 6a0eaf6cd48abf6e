// tsrunc kill <id> [signal]: names with or without SIG, or numbers; SIGTERM by default.
import { context, oneId } from './common.js';
import { killContainer } from '../runtime/kill.js';
import { killAllContainer } from '../runtime/cgroup-ops.js';
import { parseSignal } from '../linux/signals.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'kill', 1);
  const signal = parseSignal(args[1] ?? 'SIGTERM');
  if (flags.all === true) killAllContainer(context(flags), id, signal);
  else killContainer(context(flags), id, signal);
  return 0;
}
