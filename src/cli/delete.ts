// tsrunc delete [--force] <id>
import { context, oneId } from './common.js';
import { deleteContainer } from '../runtime/delete.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  await deleteContainer(context(flags), oneId(args, 'delete'), flags.force === true);
  return 0;
}
