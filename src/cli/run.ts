// tsrunc run [--bundle DIR] [-d [--output FILE] [--rm]] [--keep] [--pid-file F] [--no-pivot] [--preserve-fds N] <id>
import { resolve } from 'node:path';
import { TsruncError } from '../errors.js';
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
    ...(flags.output !== undefined ? { output: outputFlag(flags.output) } : {}),
    rm: flags.rm === true,
  });
}

/** --output FILE, made absolute (the monitor does not share our working directory's meaning later). */
function outputFlag(v: unknown): string {
  if (typeof v !== 'string' || v === '') throw new TsruncError('invalid-argument', '--output: needs a file name');
  return resolve(v);
}
