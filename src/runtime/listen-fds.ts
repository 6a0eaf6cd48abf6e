// Socket activation and --preserve-fds for create/run, as runc does them: the caller's systemd-style
// LISTEN_FDS sockets (fds 3…, when LISTEN_PID is this process) are handed to the container first, with
// LISTEN_FDS=n and LISTEN_PID=1 in its environment; the --preserve-fds N fds follow them.
import { fstatSync } from 'node:fs';
import { TsruncError } from '../errors.js';

/** How many fds systemd-style socket activation passed to process `pid` (0 when not for us). */
export function listenFds(env: NodeJS.ProcessEnv, pid: number): number {
  const n = Number(env.LISTEN_FDS ?? '');
  if (env.LISTEN_FDS === undefined || !Number.isInteger(n) || n <= 0) return 0;
  if (Number(env.LISTEN_PID ?? '') !== pid) return 0;
  return n;
}

/**
 * Applies socket activation to the container's environment and returns how many fds from 3 on the
 * container gets (LISTEN_FDS + preserveFds). Every one of them must be open (runc checks it too).
 */
export function handOnFds(processEnv: string[] | undefined, preserveFds: number, env: NodeJS.ProcessEnv = process.env, pid = process.pid): { env: string[] | undefined; fds: number } {
  const listen = listenFds(env, pid);
  const total = listen + preserveFds;
  for (let fd = 3; fd < 3 + total; fd++) {
    try {
      fstatSync(fd);
    } catch {
      const what = fd < 3 + listen ? `LISTEN_FDS fd ${fd}` : `preserved fd ${fd} (--preserve-fds ${preserveFds})`;
      throw new TsruncError('invalid-argument', `${what} is not open`);
    }
  }
  if (listen === 0) return { env: processEnv, fds: total };
  // The container's init is pid 1 of its namespace; runc says so whatever the namespaces.
  const kept = (processEnv ?? []).filter((e) => !e.startsWith('LISTEN_FDS=') && !e.startsWith('LISTEN_PID='));
  return { env: [...kept, `LISTEN_FDS=${listen}`, 'LISTEN_PID=1'], fds: total };
}
