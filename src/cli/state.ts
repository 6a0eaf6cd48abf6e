// tsrunc state <id>: the OCI state as indented JSON, as runc prints it.
import { context, oneId } from './common.js';
import { containerState } from '../runtime/query.js';
import { out } from './output.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  out(JSON.stringify(containerState(context(flags), oneId(args, 'state')), null, 2) + '\n');
  return 0;
}
