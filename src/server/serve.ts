// The warm server behind the C front end (helpers/frontend.c): one Node process per caller identity
// (build, euid, gids, umask, cgroup, namespaces: the front end names the socket by their hash) that runs
// many CLI calls at once on the same runtime code as the direct CLI, each as its own Call (env, cwd,
// stdout/stderr, the front end as spawner). It serves only peers of its own uid, cgroup and namespaces,
// caches nothing but code and library handles, and exits after IDLE_MS without a call.
import { openSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { native } from '../native/binding.js';
import { flock } from '../native/index.js';
import { CallerGone, NeedsOwnProcess, withCall } from '../runtime/call.js';
import { runCli } from '../cli/run-cli.js';
import { err } from '../cli/output.js';
import { decodeRequest, encodeRecord, SV_ACCEPT, SV_DIRECT, SV_EXIT } from './protocol.js';
import { FrontEnd, readable } from './front-end.js';

/** How long the server stays without a call: long enough for a script's next command, short enough
 * that nothing lingers (README: "The front end and its server"). */
export const IDLE_MS = 10_000;
const REQUEST_MAX = 512 * 1024;
/** A front end sends its request right after connecting; one that does not is dropped. */
const REQUEST_TIMEOUT_MS = 5000;
const NAMESPACES = ['cgroup', 'ipc', 'mnt', 'net', 'pid', 'time', 'user', 'uts'];

/** Serves the socket at `path` until idle; returns only when another server holds it. */
export async function serve(path: string): Promise<void> {
  // One call's failure must never end the others: whatever escapes a call is dropped here.
  process.on('uncaughtException', () => {});
  process.on('unhandledRejection', () => {});
  const lock = openSync(`${path}.lock`, 'w', 0o600);
  if (!flock(lock, true, false)) return; // another front end started one at the same moment
  rmSync(path, { force: true });
  const n = native();
  const lfd = n.serverListen(path);
  if (lfd < 0) process.exit(1);
  // TSRUNC_SERVER_IDLE_MS (of the call that started the server) shortens it for tests.
  const idleMs = Number(process.env.TSRUNC_SERVER_IDLE_MS) > 0 ? Number(process.env.TSRUNC_SERVER_IDLE_MS) : IDLE_MS;
  let active = 0;
  let last = Date.now();
  // Told to stop: the name goes first, so that no front end is left knocking at a dead socket.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      rmSync(path, { force: true });
      process.exit(0);
    });
  }
  const peer = new Int32Array(3);
  for (;;) {
    await readable(lfd, Math.min(1000, idleMs));
    for (let fd = n.serverAccept(lfd, peer); fd >= 0; fd = n.serverAccept(lfd, peer)) {
      active++;
      void handle(fd, peer[0]!, peer[1]!).finally(() => {
        active--;
        last = Date.now();
      });
    }
    if (active === 0 && Date.now() - last > idleMs) break;
  }
  // No new connection reaches us once the name is gone; those still queued are closed unanswered,
  // which their front ends take as "run the CLI yourself" (nothing was done for them).
  rmSync(path, { force: true });
  for (let fd = n.serverAccept(lfd, peer); fd >= 0; fd = n.serverAccept(lfd, peer)) n.close(fd);
  process.exit(0);
}

/** The identity a peer must share with us: its cgroup and namespaces. */
function place(pid: number | 'self'): string {
  return [readFileSync(`/proc/${pid}/cgroup`, 'utf8'), ...NAMESPACES.map((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`))].join('\n');
}

function ownUmask(): number {
  const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? parseInt(m[1]!, 8) : -1;
}

async function handle(conn: number, pid: number, uid: number): Promise<void> {
  const n = native();
  const front = new FrontEnd(conn);
  let fds: number[] = [];
  try {
    // The request is read whatever the answer: a socket closed with unread data resets the peer's end.
    if (!(await readable(conn, REQUEST_TIMEOUT_MS))) return;
    const buf = new Uint8Array(REQUEST_MAX);
    const got = new Int32Array(3);
    const size = n.recvFds(conn, buf, buf.length, 0, got, got.length);
    fds = [...got].filter((fd) => fd >= 0);
    const req = size > 0 && size < buf.length ? decodeRequest(buf, size) : undefined;
    let same = false;
    try {
      same = uid === process.geteuid?.() && pid > 0 && place(pid) === place('self');
    } catch {
      // the peer is gone or not ours to read
    }
    if (!same || req === undefined || fds.length !== 3 || req.umask !== ownUmask()) {
      front.send(encodeRecord(SV_DIRECT));
      return;
    }
    if (!front.send(encodeRecord(SV_ACCEPT))) return;
    const call = { env: req.env, cwd: req.cwd, stdout: fds[1]!, stderr: fds[2]!, spawner: front };
    let code: number;
    try {
      code = await withCall(call, () => runCli(['node', 'tsrunc', ...req.argv]));
    } catch (e) {
      if (e instanceof NeedsOwnProcess) {
        front.send(encodeRecord(SV_DIRECT));
        return;
      }
      if (e instanceof CallerGone) return;
      await withCall(call, async () => err(`tsrunc: internal error: ${e instanceof Error ? e.message : String(e)}\n`));
      code = 1;
    }
    front.send(encodeRecord(SV_EXIT, [code]));
  } catch {
    // the connection failed; the front end reports it
  } finally {
    for (const fd of fds) n.close(fd);
    n.close(conn);
  }
}
