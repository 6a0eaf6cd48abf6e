// tsrunc resume <id>: thaw a paused container.
import { context, oneId } from './common.js';
import { resumeContainer } from '../runtime/cgroup-ops.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  await resumeContainer(context(flags), oneId(args, 'resume'));
  return 0;
}
