// tsrunc run [--bundle DIR] [-d] [--keep] [--pid-file F] [--no-pivot] [--preserve-fds N] <id>
import { context, oneId, intFlag, refuse } from './common.js';
import { runContainer } from '../runtime/run.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'run');
  refuse(flags, 'consoleSocket', '--console-socket', 'terminals are not supported by tsrunc yet');
  return runContainer(context(flags), id, {
    bundle: String(flags.bundle ?? '.'),
    pidFile: typeof flags.pidFile === 'string' ? flags.pidFile : undefined,
    noPivot: flags.pivot === false,
    preserveFds: intFlag(flags, 'preserveFds', '--preserve-fds'),
    detach: flags.detach === true,
    keep: flags.keep === true,
  });
}
