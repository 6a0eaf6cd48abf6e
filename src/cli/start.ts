// tsrunc start <id>
import { context, oneId } from './common.js';
import { startContainer } from '../runtime/start.js';

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const ctx = context(flags);
  const id = oneId(args, 'start');
  const { bindNotifySocket, hostNotifySocket, relayNotify } = await import('../runtime/notify.js');
  const host = hostNotifySocket(ctx.env);
  // Bound before the process runs, so that an early READY=1 is not lost (runc binds it here too).
  const notify = host !== undefined ? bindNotifySocket(ctx.store.dir(id)) : null;
  let state;
  try {
    state = startContainer(ctx, id);
  } catch (e) {
    if (notify !== null) (await import('../native/index.js')).closeFd(notify);
    throw e;
  }
  if (notify !== null) await relayNotify(notify, host!, state.pid, { pid: state.pid, startTime: state.pidStartTime }, (m) => ctx.logger.warn(m));
  return 0;
}
