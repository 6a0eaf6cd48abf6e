// tsrunc exited [--rm] <id>: internal, run by a detached container's monitor when its init has ended.
import { context, oneId } from './common.js';
import { containerExited } from '../runtime/exited.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  await containerExited(context(flags), oneId(args, 'exited'), flags.rm === true);
  return 0;
}
