// tsrunc logs [-f] <id>: the output captured by `run -d --output FILE`. Not in runc.
import { context, oneId } from './common.js';
import { containerLogs } from '../runtime/logs.js';
import { err, out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  await containerLogs(context(flags), oneId(args, 'logs'), flags.follow === true, (r) => (r.stream === 'stderr' ? err : out)(r.text));
  return 0;
}
