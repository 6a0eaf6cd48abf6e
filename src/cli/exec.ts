// tsrunc exec [--process F] [-d] [--pid-file F] [-e K=V]… [--cwd D] [-u uid[:gid]] [--additional-gids G]…
//             [--cap CAP]… [--no-new-privs] [--preserve-fds N] [--ignore-paused] [-t] <id> [command…]
import { TsruncError } from '../errors.js';
import { context, intFlag, oneId, refuse } from './common.js';

/** A repeatable flag: cac gives one value as a scalar and several as an array. */
function many(flags: Record<string, unknown>, name: string): string[] {
  const v = flags[name];
  if (v === undefined || v === false) return [];
  return (Array.isArray(v) ? v : [v]).map(String);
}

export async function action(args: string[], flags: Record<string, unknown>): Promise<number> {
  const id = oneId(args, 'exec', Number.MAX_SAFE_INTEGER);
  const command = [...args.slice(1), ...((flags['--'] as unknown[] | undefined) ?? []).map(String)];
  refuse(flags, 'processLabel', '--process-label', 'SELinux labels are not supported by tsrunc yet');
  refuse(flags, 'apparmor', '--apparmor', 'AppArmor profiles are not supported by tsrunc yet');
  refuse(flags, 'cgroup', '--cgroup', 'choosing a sub-cgroup is not supported by tsrunc yet');
  const { execInContainer, parseUser } = await import('../runtime/exec.js');
  const gids = many(flags, 'additionalGids').flatMap((g) => g.split(',')).map((g) => {
    if (!/^\d+$/.test(g)) throw new TsruncError('invalid-argument', `--additional-gids: "${g}" is not a group id`);
    return Number(g);
  });
  const env = many(flags, 'env');
  for (const e of env) if (e.indexOf('=') <= 0) throw new TsruncError('invalid-argument', `--env: "${e}" is not NAME=value`);
  if (command.length === 0 && typeof flags.process !== 'string') {
    throw new TsruncError('invalid-argument', 'exec: missing the command to run (or --process FILE)');
  }
  const ctx = context(flags);
  const opts = {
    args: command,
    processFile: typeof flags.process === 'string' ? flags.process : undefined,
    env,
    cwd: typeof flags.cwd === 'string' ? flags.cwd : undefined,
    user: typeof flags.user === 'string' || typeof flags.user === 'number' ? parseUser(String(flags.user)) : undefined,
    additionalGids: gids,
    caps: many(flags, 'cap'),
    noNewPrivs: flags.newPrivs === false,
    tty: flags.tty === true,
    preserveFds: intFlag(flags, 'preserveFds', '--preserve-fds'),
    detach: flags.detach === true,
    pidFile: typeof flags.pidFile === 'string' ? flags.pidFile : undefined,
    ignorePaused: flags.ignorePaused === true || flags.ignorePaused === 'true',
    consoleSocket: typeof flags.consoleSocket === 'string' && flags.consoleSocket !== '' ? flags.consoleSocket : undefined,
    forwardSignals: true,
  };
  try {
    return await execInContainer(ctx, id, opts);
  } catch (e) {
    // runc's exec fails with 255, so that callers tell its failures from the process' own exit codes.
    if (!(e instanceof TsruncError)) throw e;
    throw new TsruncError(e.code, `exec failed: ${e.message}`, { cause: e, hint: e.hint, exitCode: 255 });
  }
}
