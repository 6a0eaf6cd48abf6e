// What the front end tests look at: the warm servers running now, and whether one listens.
import { readFileSync, readdirSync } from 'node:fs';
import { cliScript } from './harness.js';

export interface Server {
  pid: number;
  uid: number;
  umask: number;
  /** Its socket (argv[3] of `node dist/tsrunc.js --tsrunc-server SOCKET`). */
  socket: string;
  /** Its cgroup in the unified hierarchy. */
  cgroup: string;
}

/**
 * The servers of this tree's build running now (of every user). Only these: other checkouts on the
 * machine run servers of their own, which a test must never take for (or kill as) its own.
 */
export function servers(): Server[] {
  const script = cliScript();
  const out: Server[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      if (argv[2] !== '--tsrunc-server' || argv[1] !== script) continue;
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      out.push({
        pid: Number(name),
        uid: Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]),
        umask: parseInt(/^Umask:\s+([0-7]+)/m.exec(status)?.[1] ?? '-1', 8),
        socket: argv[3]!,
        cgroup: /^0::(.*)$/m.exec(readFileSync(`/proc/${name}/cgroup`, 'utf8'))?.[1] ?? '',
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** True when a unix socket listens at `path` (/proc/net/unix flag __SO_ACCEPTCON). */
export function listening(path: string): boolean {
  return readFileSync('/proc/net/unix', 'utf8').split('\n').some((l) => l.endsWith(` ${path}`) && l.split(/\s+/)[3] === '00010000');
}
