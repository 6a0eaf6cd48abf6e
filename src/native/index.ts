// The typed API of the native init core: spawn a child from a plan, drive it over the sync socket,
// release the start barrier, wait for exits; plus the few libc calls the runtime needs on fds.

import { TsruncError } from '../errors.js';
import { native } from './binding.js';
import { encodePlan } from './encode.js';
import type { Origin, SpawnRequest, Spawned } from './plan.js';
import { decodeMessage, MSG_SIZE, type ChildMessage } from './sync.js';
import { HOOK_NAMESPACES } from './handoff.js';
import { reaper } from './reaper.js';

export { reaper, type ExitStatus } from './reaper.js';

export type { Op, Origin, SpawnRequest, Spawned } from './plan.js';
export type { ChildMessage } from './sync.js';
export { encodePlan } from './encode.js';

const CLONE_NEWUSER = 0x10000000;
const SIGKILL = 9;
const ESRCH = 3;
const ECHILD = 10;
const EPIPE = 32;
const EWOULDBLOCK = 11;
const EADDRINUSE = 98;
const ETIMEDOUT = 110;
/** out[4] of tsrunc_spawn: enum in helpers/spawn.c. */
const SPAWN_STEPS = ['validate', 'socketpair', 'socket', 'bind', 'listen', 'dup', 'clone3'] as const;

/** A Node-style system error (code, errno, syscall) to carry as a TsruncError's cause. */
function sysError(syscall: string, errno: number): Error {
  const name = errnoName(errno);
  return Object.assign(new Error(`${syscall}: ${name} (${strerror(errno)})`), { code: name, errno, syscall });
}

function fail(code: ConstructorParameters<typeof TsruncError>[0], what: string, syscall: string, errno: number, hint?: string): TsruncError {
  const cause = sysError(syscall, errno);
  return new TsruncError(code, `${what}: ${cause.message}`, { cause, hint });
}

/**
 * Clones the child for `req`. It closes stray fds and waits for go(): write its id maps and place it
 * in its cgroup first. Throws TsruncError: 'host-not-ready' when user namespaces are refused,
 * 'exists' when the start socket path is taken, 'internal' for a plan the C core rejects.
 */
export function spawn(req: SpawnRequest): Spawned {
  return spawnEncoded(encodePlan(req), req);
}

/** spawn() for an already encoded plan (tests feed it damaged buffers). */
export function spawnEncoded(plan: Uint8Array, req?: SpawnRequest): Spawned {
  const out = new Int32Array(5);
  return spawned(native().spawn(plan, plan.byteLength, out), out, req);
}

/** fd numbers at which a spawner installs the fds a remote plan names (above any preserved fd). */
const REMOTE_FD_BASE = 1000;
const REMOTE_MAX_FDS = 16;

/**
 * spawn(), done by the spawner listening on `sock` (helpers/remote.c: the CLI front end, a monitor), so
 * that the child is that process's child, inherits its stdio and preserved fds, and is reaped by it
 * (waitExit on it fails with ECHILD: the spawner reports its exit). The fds the request names (namespaces
 * to join, stdio sources, the state dir of the start socket path) are sent along and renumbered.
 */
export function spawnVia(sock: number, req: SpawnRequest, opts: { sibling?: boolean } = {}): Spawned {
  const fds: number[] = [];
  const there = (fd: number): number => {
    if (fd < 0) return fd;
    if (fds.length === REMOTE_MAX_FDS) throw new TsruncError('internal', `a remote spawn can carry at most ${REMOTE_MAX_FDS} fds`);
    fds.push(fd);
    return REMOTE_FD_BASE + fds.length - 1;
  };
  if (req.preserveFds + 3 > REMOTE_FD_BASE) throw new TsruncError('invalid-config', `--preserve-fds ${req.preserveFds} is too many for a remote spawn`);
  const dir = /^\/proc\/self\/fd\/(\d+)\//.exec(req.startSocketPath);
  const remote: SpawnRequest = {
    ...req,
    joinNamespaces: req.joinNamespaces.map((j) => ({ ...j, fd: there(j.fd) })),
    ...(req.stdio !== undefined ? { stdio: req.stdio.map(there) as [number, number, number] } : {}),
    startSocketPath: dir ? `/proc/self/fd/${there(Number(dir[1]))}/${req.startSocketPath.slice(dir[0].length)}` : req.startSocketPath,
  };
  const plan = encodePlan(remote);
  const out = new Int32Array(5);
  const targets = Int32Array.from(fds, (_, k) => REMOTE_FD_BASE + k);
  // sibling: a spawner this process started clones the child as our child (see spawner.ts).
  const r = (opts.sibling === true ? native().spawnSibling : native().spawnRemote)(sock, plan, plan.byteLength, Int32Array.from(fds), targets, fds.length, out);
  if (r === -EPIPE) throw fail('internal', 'the process that was to spawn the container is gone', 'spawn', EPIPE);
  return spawned(r, out, remote);
}

/** A spawn's result (0 or -errno, and out[]) as a Spawned, or the TsruncError that says what failed. */
function spawned(r: number, out: Int32Array, req?: SpawnRequest): Spawned {
  if (r === 0) return { pid: out[0]!, pidfd: out[1]!, syncFd: out[2]! };
  const errno = -r;
  const step = SPAWN_STEPS[out[4]!] ?? 'spawn';
  if (step === 'validate') {
    const index = out[3]!;
    const op = index >= 0 ? req?.ops[index] : undefined;
    const at = index >= 0 ? ` at ops[${index}]${op ? ` (${op.op})` : ''}` : '';
    return rethrow(fail('internal', `the native core rejected the plan${at}`, 'validate', errno));
  }
  if (step === 'bind' && errno === EADDRINUSE) {
    return rethrow(fail('exists', `start socket ${req?.startSocketPath ?? ''} is in use`, 'bind', errno));
  }
  if (step === 'clone3' && req && req.newNamespaces & CLONE_NEWUSER && [1, 28, 87, 22].includes(errno)) {
    // EPERM, ENOSPC, EUSERS, EINVAL: unprivileged user namespaces are off, exhausted or restricted.
    return rethrow(
      fail('host-not-ready', 'cannot create a user namespace', 'clone3', errno,
        'enable unprivileged user namespaces: sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000 ' +
          '(on Ubuntu also kernel.apparmor_restrict_unprivileged_userns=0)'),
    );
  }
  if (step === 'clone3' && req && !(req.newNamespaces & CLONE_NEWUSER) && errno === 1 && process.getuid?.() !== 0) {
    return rethrow(
      fail('invalid-config', 'new namespaces without a user namespace need root', 'clone3', errno,
        'add a user namespace to the config (tsrunc spec --rootless writes one)'),
    );
  }
  return rethrow(fail('internal', 'cannot create the container process', step, errno));
}

function rethrow(e: TsruncError): never {
  throw e;
}

/** Tells the child to continue (after the id maps are written, or at a sync point). */
export function go(s: Spawned): void {
  const r = native().go(s.syncFd);
  if (r < 0) throw fail('init-failed', 'the container process is gone', 'send', -r);
}

/**
 * Blocks until the child's next message (or `timeoutMs`, default for ever). When the pid namespace
 * changed after clone the child reports its new init's pid: the intermediate process is reaped and
 * `s.pid`/`s.pidfd` are switched to the new init here, and reading goes on.
 */
export function nextMessage(s: Spawned, timeoutMs = -1): ChildMessage {
  const n = native();
  const buf = new Uint8Array(MSG_SIZE);
  const fdBuf = new Int32Array(HOOK_NAMESPACES.length);
  for (;;) {
    const r = n.recvFds(s.syncFd, buf, buf.length, timeoutMs, fdBuf, fdBuf.length);
    if (r === -ETIMEDOUT) throw new TsruncError('init-failed', `no word from the container process in ${timeoutMs} ms`);
    if (r < 0) throw fail('internal', 'reading the sync socket', 'recv', -r);
    const msg = decodeMessage(buf, r);
    const fds = [...fdBuf].filter((fd) => fd >= 0);
    if (msg.type === 'sync' && fds.length > 0) return { ...msg, nsMask: new DataView(buf.buffer).getInt32(8, true), fds };
    for (const fd of fds) n.close(fd);
    if (msg.type !== 'pid') return msg;
    const reaped = n.wait(s.pidfd);
    if (reaped < 0 && -reaped !== ECHILD) throw fail('internal', 'reaping the intermediate process', 'waitid', -reaped);
    // A spawner's child (the front end's): it reaps it; we only wait for it to be gone.
    if (reaped === -ECHILD) n.pollIn(s.pidfd, 5000);
    n.close(s.pidfd);
    s.pid = msg.pid;
    s.pidfd = pidfdOpen(msg.pid);
  }
}

/** Kills the child (and a new init it reported), reaps it, and closes its pidfd and sync socket. */
export function abort(s: Spawned): void {
  const n = native();
  n.pidfdSignal(s.pidfd, SIGKILL);
  // A double fork may have reported a new init we have not read yet: it is our child too.
  const buf = new Uint8Array(MSG_SIZE);
  for (let r = n.recv(s.syncFd, buf, buf.length, 0); r === MSG_SIZE; r = n.recv(s.syncFd, buf, buf.length, 0)) {
    const msg = decodeMessage(buf, r);
    if (msg.type !== 'pid') continue;
    const fd = n.pidfdOpen(msg.pid);
    if (fd < 0) continue;
    n.pidfdSignal(fd, SIGKILL);
    reapOrAwait(fd);
    n.close(fd);
  }
  reapOrAwait(s.pidfd);
  n.close(s.pidfd);
  n.close(s.syncFd);
}

/** Reaps a killed process, or, when another process is its parent (a spawner: the front end), waits
 * until it is dead, so that nothing of it is left when the caller hears of the failure. */
function reapOrAwait(pidfd: number): void {
  const n = native();
  if (n.wait(pidfd) === -ECHILD) n.pollIn(pidfd, 5000);
}

/** The `start` side of the exec barrier: connect to the start socket, release the child, and learn
 * whether its execve worked (EOF) or failed (its errno). */
export function release(startSocketPath: string): { ok: true } | { ok: false; errno: number; step: 'connect' | 'execve' } {
  const r = native().release(startSocketPath);
  if (r === 0) return { ok: true };
  return r < 0 ? { ok: false, errno: -r, step: 'connect' } : { ok: false, errno: r, step: 'execve' };
}

/** Waits (off the event loop, through the process' one reaper) for the process behind `pidfd` to exit,
 * and reaps it. `code` is the exit status, or 128+signal when it was killed. */
export async function waitExit(pidfd: number): Promise<{ code: number; signal: number | null }> {
  const s = await reaper().exit(pidfd);
  if (s.code === null) throw new TsruncError('internal', `the process behind pidfd ${pidfd} is not a child of this process`);
  return { code: s.code, signal: s.signal };
}

/** A pidfd for `pid`; TsruncError('not-found') when there is no such process. */
export function pidfdOpen(pid: number): number {
  const r = native().pidfdOpen(pid);
  if (r >= 0) return r;
  throw fail(-r === ESRCH ? 'not-found' : 'internal', `process ${pid}`, 'pidfd_open', -r);
}

/** Sends `sig` through a pidfd; TsruncError('not-found') when the process is gone. */
export function pidfdSignal(pidfd: number, sig: number): void {
  const r = native().pidfdSignal(pidfd, sig);
  if (r < 0) throw fail(-r === ESRCH ? 'not-found' : 'internal', `signal ${sig}`, 'pidfd_send_signal', -r);
}

/** flock(2); false when `wait` is false and the lock is held elsewhere. */
export function flock(fd: number, exclusive: boolean, wait: boolean): boolean {
  const r = native().flock(fd, exclusive ? 1 : 0, wait ? 1 : 0);
  if (r === 0) return true;
  if (-r === EWOULDBLOCK) return false;
  throw fail('internal', `lock fd ${fd}`, 'flock', -r);
}

export function closeFd(fd: number): void {
  const r = native().close(fd);
  if (r < 0) throw fail('internal', `close fd ${fd}`, 'close', -r);
}

/**
 * Idmaps the detached tree an idmap-mount op handed over (its fd: recvListenerFd) through the maps of
 * the user namespace `usernsFd`. Throws TsruncError naming `what` on failure.
 */
export function idmapTree(tree: number, usernsFd: number, recursive: boolean, attrSet: number, attrClr: number, what: string): void {
  const r = native().idmapTree(tree, usernsFd, recursive ? 1 : 0, BigInt(attrSet), BigInt(attrClr));
  if (r < 0) throw fail('init-failed', what, 'mount_setattr', -r);
}

/**
 * Attaches the device filter `insns` (BPF instructions, 8 bytes each) to the cgroup directory `dir`;
 * with `replaceOld`, the filters attached there before are detached once it is in.
 */
export function attachDeviceFilter(dir: string, insns: Uint8Array, replaceOld: boolean): void {
  const log = new Uint8Array(16384);
  const r = native().bpfDeviceFilter(dir, insns, insns.byteLength / 8, replaceOld ? 1 : 0, log, log.byteLength);
  if (r >= 0) return;
  const verifier = Buffer.from(log).toString('utf8').replace(/\0[\s\S]*$/, '').trim().split('\n').pop();
  throw fail('cgroup', `device filter (linux.resources.devices) on ${dir}${verifier ? ` (verifier: ${verifier})` : ''}`, 'bpf', -r);
}

/** The seccomp listener fd the child sends right after a 'seccomp' message. */
export function recvListenerFd(s: Spawned, timeoutMs = 10_000): number {
  const r = native().recvFd(s.syncFd, timeoutMs);
  if (r < 0) throw fail('init-failed', 'receiving the seccomp listener fd from the container process', 'recvmsg', -r);
  return r;
}

/** Connects to the seccomp agent's socket at `path` and sends `data` with `fd` (SCM_RIGHTS). */
export function sendFdTo(path: string, data: Uint8Array, fd: number): void {
  const r = native().sendFd(path, data, data.byteLength, fd);
  if (r < 0) throw fail('init-failed', `config.json: /linux/seccomp/listenerPath: ${path}`, 'sendmsg', -r);
}

/** 'ENOENT' for 2. */
export function errnoName(errno: number): string {
  return native().errnoName(errno) ?? `errno ${errno}`;
}

/** 'No such file or directory' for 2. */
export function strerror(errno: number): string {
  return native().strerror(errno) ?? `unknown error ${errno}`;
}

/** Where a child error came from: the op's origin, or the joined namespace's; undefined for setup. */
export function childErrorOrigin(req: SpawnRequest, index: number): Origin | undefined {
  if (index >= 0) return req.ops[index]?.origin;
  if (index <= -2) return req.joinNamespaces[-index - 2]?.origin;
  return undefined;
}

/** One line for a child error: "/mounts/3 (/data): mount: EPERM (Operation not permitted)". */
export function describeChildError(req: SpawnRequest, msg: { index: number; errno: number; step: string }): string {
  const o = childErrorOrigin(req, msg.index);
  const where = o ? `${o.pointer}${o.what ? ` (${o.what})` : ''}: ` : 'container setup: ';
  return `${where}${msg.step}: ${errnoName(msg.errno)} (${strerror(msg.errno)})`;
}

/** A connected SOCK_SEQPACKET pair (close-on-exec), e.g. the connection to a spawner. */
export function seqpacketPair(): [number, number] {
  const out = new Int32Array(2);
  const r = native().seqpacketPair(out);
  if (r < 0) throw fail('internal', 'a socket pair', 'socketpair', -r);
  return [out[0]!, out[1]!];
}

/** Tells the monitor at `sock` (helpers/monitor.h) that its container started with `pid` as init. */
export function monitorCommit(sock: number, pid: number): void {
  const r = native().monitorCommit(sock, pid);
  if (r < 0) throw fail('internal', 'the monitor of the container is gone', 'send', -r);
}
