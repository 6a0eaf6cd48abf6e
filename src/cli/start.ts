// tsrunc start <id>
import { context, oneId } from './common.js';
import { startContainer } from '../runtime/start.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  startContainer(context(flags), oneId(args, 'start'));
  return 0;
}
