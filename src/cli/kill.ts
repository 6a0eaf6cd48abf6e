// tsrunc kill <id> [signal]: names with or without SIG, or numbers; SIGTERM by default.
import { context, oneId, refuse } from './common.js';
import { killContainer } from '../runtime/kill.js';
import { parseSignal } from '../linux/signals.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'kill', 1);
  refuse(flags, 'all', '--all', 'signalling every process needs a cgroup, which tsrunc does not support yet');
  const signal = parseSignal(args[1] ?? 'SIGTERM');
  killContainer(context(flags), id, signal);
  return 0;
}
