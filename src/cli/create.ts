// tsrunc create [--bundle DIR] [--pid-file F] [--no-pivot] [--preserve-fds N] <id>
import { context, oneId, intFlag } from './common.js';
import { createContainer } from '../runtime/create.js';
import { closeFd } from '../native/index.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'create');
  const ctx = context(flags);
  const c = await createContainer(ctx, id, {
    bundle: String(flags.bundle ?? '.'),
    pidFile: typeof flags.pidFile === 'string' ? flags.pidFile : undefined,
    noPivot: flags.pivot === false,
    preserveFds: intFlag(flags, 'preserveFds', '--preserve-fds'),
    consoleSocket: typeof flags.consoleSocket === 'string' && flags.consoleSocket !== '' ? flags.consoleSocket : undefined,
  });
  closeFd(c.spawned.pidfd);
  closeFd(c.spawned.syncFd);
  closeFd(c.dirFd);
  return 0;
}
