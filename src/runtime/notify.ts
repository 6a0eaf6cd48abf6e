// NOTIFY_SOCKET passthrough (sd_notify), as runc does it: when tsrunc runs with NOTIFY_SOCKET set, the
// container gets a socket of ours at /run/notify/notify.sock (its directory bind-mounted read-only from
// the state directory, NOTIFY_SOCKET set in its environment); at start tsrunc binds that socket and
// forwards the container's STATUS= lines and its READY=1, followed by MAINPID, to the caller's socket.
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { TsruncError } from '../errors.js';
import { native } from '../native/binding.js';
import type { Op } from '../native/plan.js';
import { isSameLiveProcess } from '../linux/proc.js';
import { MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY } from '../linux/mount-options.js';

/** Where the container sees the socket. */
export const CONTAINER_NOTIFY_DIR = '/run/notify';
const SOCKET_NAME = 'notify.sock';
const ETIMEDOUT = 110;

/** The caller's notify socket, or undefined when there is none. */
export function hostNotifySocket(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const s = env.NOTIFY_SOCKET;
  return s === undefined || s === '' ? undefined : s;
}

/** The container's environment with NOTIFY_SOCKET pointing at our socket (replacing one it had). */
export function notifyEnv(env: string[] | undefined): string[] {
  return [...(env ?? []).filter((e) => !e.startsWith('NOTIFY_SOCKET=')), `NOTIFY_SOCKET=${CONTAINER_NOTIFY_DIR}/${SOCKET_NAME}`];
}

/** Makes <state dir>/notify and returns the op that binds it (read-only) on /run/notify. */
export function notifyMountOp(stateDir: string): Op {
  const source = join(stateDir, 'notify');
  mkdirSync(source, { mode: 0o755 });
  return {
    op: 'mount',
    source,
    target: CONTAINER_NOTIFY_DIR,
    fstype: '',
    data: '',
    flags: MS_BIND,
    create: 'dir',
    remountFlags: MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
    propagation: 0,
    attrSet: 0,
    attrClr: 0,
    fallbackBind: null,
    origin: { pointer: '/process/env', what: `NOTIFY_SOCKET=${CONTAINER_NOTIFY_DIR}/${SOCKET_NAME}` },
  };
}

/** Inserts `op` before pivot_root (or the chroot of --no-pivot): after every mount of the config. */
export function insertBeforePivot(ops: Op[], op: Op): void {
  const at = ops.findIndex((o) => o.op === 'pivot-root' || o.op === 'chroot');
  ops.splice(at < 0 ? ops.length : at, 0, op);
}

/** The bound socket of a container that has a notify directory; null when it has none. */
export function bindNotifySocket(stateDir: string): number | null {
  const path = join(stateDir, 'notify', SOCKET_NAME);
  rmSync(path, { force: true }); // left by an earlier start that failed
  const fd = native().dgramBind(path);
  if (fd === -2 /* ENOENT: no notify directory */) return null;
  if (fd < 0) throw new TsruncError('internal', `cannot bind the notify socket ${path}: ${native().strerror(-fd) ?? `errno ${-fd}`}`);
  return fd;
}

function recv(fd: number, buf: Uint8Array, timeoutMs: number): Promise<number> {
  return new Promise((resolve, reject) => native().dgramRecvAsync(fd, buf, buf.length, timeoutMs, (err, r) => (err ? reject(err) : resolve(r))));
}

/**
 * Forwards the container's notifications to `host` until it sends READY=… (then MAINPID=`mainPid`
 * follows) or its init is gone; STATUS= lines are forwarded as they come. Closes `fd` at the end.
 */
export async function relayNotify(fd: number, host: string, mainPid: number, init: { pid: number; startTime: string }, warn: (m: string) => void): Promise<void> {
  const buf = new Uint8Array(4096);
  const send = (text: string): void => {
    const data = new TextEncoder().encode(text);
    const r = native().dgramSend(host, data, data.length);
    if (r < 0) warn(`NOTIFY_SOCKET ${host}: ${native().strerror(-r) ?? `errno ${-r}`}`);
  };
  try {
    for (;;) {
      const n = await recv(fd, buf, 100);
      if (n === -ETIMEDOUT) {
        if (!isSameLiveProcess(init.pid, init.startTime)) return;
        continue;
      }
      if (n < 0) return;
      const lines = new TextDecoder().decode(buf.subarray(0, n)).split('\n');
      const status = lines.filter((l) => l.startsWith('STATUS='));
      if (status.length > 0) send(status.join('\n') + '\n');
      const ready = lines.find((l) => l.startsWith('READY='));
      if (ready !== undefined) {
        send(`${ready}\nMAINPID=${mainPid}\n`);
        return;
      }
    }
  } finally {
    native().close(fd);
  }
}
