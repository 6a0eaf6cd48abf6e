// tsrunc run [--bundle DIR] [-d] [--keep] [--pid-file F] [--no-pivot] [--preserve-fds N] <id>
import { context, oneId, intFlag } from './common.js';
import { runContainer } from '../runtime/run.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'run');
  return runContainer(context(flags), id, {
    bundle: String(flags.bundle ?? '.'),
    pidFile: typeof flags.pidFile === 'string' ? flags.pidFile : undefined,
    noPivot: flags.pivot === false,
    preserveFds: intFlag(flags, 'preserveFds', '--preserve-fds'),
    consoleSocket: typeof flags.consoleSocket === 'string' && flags.consoleSocket !== '' ? flags.consoleSocket : undefined,
    detach: flags.detach === true,
    keep: flags.keep === true,
    forwardSignals: true,
  });
}
