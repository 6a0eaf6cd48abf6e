// tsrunc wait <id>: prints the exit code of a container started with `run -d` (128+signal when a signal
// killed it), waiting while it runs. Not in runc.
import { context, oneId } from './common.js';
import { waitContainer } from '../runtime/wait.js';
import { exitCodeOf } from '../monitor/exit-file.js';
import { out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const status = await waitContainer(context(flags), oneId(args, 'wait'));
  out(`${exitCodeOf(status)}\n`);
  return 0;
}
