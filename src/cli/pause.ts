// tsrunc pause <id>: freeze every process of the container (cgroup.freeze) and wait until it is frozen.
import { context, oneId } from './common.js';
import { pauseContainer } from '../runtime/cgroup-ops.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  await pauseContainer(context(flags), oneId(args, 'pause'));
  return 0;
}
