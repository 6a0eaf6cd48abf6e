// The one file that declares the native surface: every function of helpers/build/libtsrunc.so, loaded
// through koffi on first use. Importing this module does nothing; koffi itself is loaded lazily, so
// commands that never touch a container (spec, --help) never load a native module.

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsruncError } from '../errors.js';

const LIB_NAME = 'libtsrunc.so';

/** The C functions, as TypeScript sees them. Every int result is >= 0 on success or -errno. */
export interface Native {
  /** out: [pid, pidfd, parent's sync fd, bad op index, failing step]. */
  spawn(plan: Uint8Array, len: number, out: Int32Array): number;
  go(fd: number): number;
  /** Record size, 0 at EOF, -ETIMEDOUT, -errno. timeoutMs < 0: wait for ever. */
  recv(fd: number, buf: Uint8Array, len: number, timeoutMs: number): number;
  msgSize(): number;
  /** 0 ok, -errno could not connect, +errno the child's execve failed. */
  release(path: string): number;
  /** (signal << 16) | code, or -errno. Blocking: only for a process known to be exiting (the reaper
   * waits for the others). */
  wait(pidfd: number): number;
  pidfdOpen(pid: number): number;
  pidfdSignal(pidfd: number, sig: number): number;
  flock(fd: number, exclusive: number, wait: number): number;
  close(fd: number): number;
  /** One record carrying one fd (SCM_RIGHTS): the fd or -errno. */
  recvFd(sock: number, timeoutMs: number): number;
  /** Connect to the unix socket `path` and send `data` with `fd` attached: 0 or -errno. */
  sendFd(path: string, data: Uint8Array, len: number, fd: number): number;
  errnoName(errno: number): string | null;
  strerror(errno: number): string | null;
  /** recv() of one record plus the fds it carries (into fds, -1 for none). */
  recvFds(fd: number, buf: Uint8Array, len: number, timeoutMs: number, fds: Int32Array, maxFds: number): number;
  /** Connect to a start socket and send the start byte: the connected fd or -errno. */
  startConnect(path: string): number;
  /** Next event of a start connection: out = [kind (0 exec'd, 1 failed, 2 hook point), errno|tag, mask]. */
  connNext(fd: number, out: Int32Array, fds: Int32Array, maxFds: number, step: Uint8Array): number;
  /** tsrunc_wait with a timeout: -ETIMEDOUT leaves the process alone. */
  waitTimeout(pidfd: number, timeoutMs: number): number;
  waitTimeoutAsync(pidfd: number, timeoutMs: number, cb: (err: unknown, result: number) => void): void;
  /** Idmaps the detached tree `tree` through the maps of `usernsFd` (+ MOUNT_ATTR_* attrSet/attrClr): 0 or -errno. */
  idmapTree(tree: number, usernsFd: number, recursive: number, attrSet: bigint, attrClr: bigint): number;
  /** TIOCSWINSZ on a terminal fd: 0 or -errno. */
  setWinsize(fd: number, rows: number, cols: number): number;
  /** cfmakeraw on a terminal, the old termios saved into `saved`; 0 or -errno. */
  ttyRaw(fd: number, saved: Uint8Array, len: number): number;
  ttyRestore(fd: number, saved: Uint8Array, len: number): number;
  /** A unix datagram socket bound at `path` (mode 0777): the fd or -errno. */
  dgramBind(path: string): number;
  dgramRecvAsync(fd: number, buf: Uint8Array, len: number, timeoutMs: number, cb: (err: unknown, result: number) => void): void;
  dgramSend(path: string, data: Uint8Array, len: number): number;
  /** A connected SOCK_SEQPACKET pair (close-on-exec) into out: 0 or -errno. */
  seqpacketPair(out: Int32Array): number;
  /** tsrunc_spawn done by the spawner at `sock` (fds[k] installed there as targets[k]); out as spawn's. */
  spawnRemote(sock: number, plan: Uint8Array, len: number, fds: Int32Array, targets: Int32Array, nfds: number, out: Int32Array): number;
  /** spawnRemote by a spawner this process started: the child becomes our child (CLONE_PARENT there). */
  spawnSibling(sock: number, plan: Uint8Array, len: number, fds: Int32Array, targets: Int32Array, nfds: number, out: Int32Array): number;
  /** Loads a device filter (nInsns BPF instructions) and attaches it to a cgroup directory; the verifier's log in `log`. 0 or -errno. */
  bpfDeviceFilter(cgroupDir: string, insns: Uint8Array, nInsns: number, replaceOld: number, log: Uint8Array, logLen: number): number;
  /** out = [epoll fd, eventfd]: the reaper's set and its wake-up. */
  reaperOpen(out: Int32Array): number;
  /** add 1: watch fd; add 0: stop watching it. */
  reaperCtl(ep: number, fd: number, add: number): number;
  reaperPoke(ev: number): number;
  /** Ready fds of the set into `fds` (the eventfd drained): their count or -errno. Blocking: async only. */
  reaperWaitAsync(ep: number, ev: number, fds: Int32Array, max: number, cb: (err: unknown, result: number) => void): void;
  /** Status as wait(), -EAGAIN while running, -ECHILD for a process that is not our child. */
  waitNohang(pidfd: number): number;
  /** Tells the monitor at `sock` that its container started, with `pid` as its init: 0 or -errno. */
  monitorCommit(sock: number, pid: number): number;
  /** A listening SOCK_SEQPACKET socket (non-blocking, file mode 0600) at `path`: the fd or -errno. */
  serverListen(path: string): number;
  /** A pending connection with its peer's [pid, uid, gid] in out: the fd, -EAGAIN when none, -errno. */
  serverAccept(lfd: number, out: Int32Array): number;
  /** 1 when `fd` is readable (or hung up; a pidfd: its process exited), 0 after the timeout, -errno. */
  pollIn(fd: number, timeoutMs: number): number;
  pollInAsync(fd: number, timeoutMs: number, cb: (err: unknown, result: number) => void): void;
  /** One record on a SOCK_SEQPACKET connection: 0 or -errno. */
  sendRecord(fd: number, buf: Uint8Array, len: number): number;
}

let loaded: Native | undefined;

/** Where libtsrunc.so is: $TSRUNC_LIBDIR, else the nearest helpers/build/ above this module. */
export function findLibrary(): string | undefined {
  const fromEnv = process.env.TSRUNC_LIBDIR;
  if (fromEnv) {
    const p = join(fromEnv, LIB_NAME);
    return existsSync(p) ? p : undefined;
  }
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const p = join(dir, 'helpers', 'build', LIB_NAME);
    if (existsSync(p)) return p;
    const up = dirname(dir);
    if (up === dir) return undefined;
    dir = up;
  }
}

/**
 * koffi's native module. koffi's own loader first reads the node binary's ELF header to pick the C
 * library ABI (3.5 ms of every CLI call, measured in bench/FINDINGS.md); its prebuilt glibc module sits
 * at a known path of its platform package, so that one is loaded directly, and koffi's loader only when
 * it is not there or does not load (musl, another architecture, a koffi built from source).
 */
function loadKoffi(require: NodeJS.Require): typeof import('koffi') {
  const { platform, arch } = process;
  try {
    return require(`@koromix/koffi-${platform}-${arch}/${platform}_${arch}/koffi.node`) as typeof import('koffi');
  } catch {
    return require('koffi') as typeof import('koffi');
  }
}

/** The loaded library; throws TsruncError('host-not-ready') when it was never built. */
export function native(): Native {
  loaded ??= load();
  return loaded;
}

function load(): Native {
  const path = findLibrary();
  if (!path) {
    const where = process.env.TSRUNC_LIBDIR ? `in TSRUNC_LIBDIR=${process.env.TSRUNC_LIBDIR}` : 'under helpers/build/';
    throw new TsruncError('host-not-ready', `the native helper library ${LIB_NAME} is not built (not found ${where})`, {
      hint: 'run npm install (needs gcc and make)',
    });
  }
  const koffi = loadKoffi(createRequire(import.meta.url));
  let lib: ReturnType<typeof koffi.load>;
  try {
    lib = koffi.load(path);
  } catch (cause) {
    throw new TsruncError('host-not-ready', `cannot load ${path}`, { cause, hint: 'run npm install (needs gcc and make)' });
  }
  const waitTimeout = lib.func('int tsrunc_wait_timeout(int pidfd, int timeout_ms)');
  const pollIn = lib.func('int tsrunc_poll_in(int fd, int timeout_ms)');
  const reaperWait = lib.func('int tsrunc_reaper_wait(int ep, int ev, _Out_ int32_t *fds, int max)');
  const dgramRecv = lib.func('int tsrunc_dgram_recv(int fd, _Out_ uint8_t *buf, size_t len, int timeout_ms)');
  return {
    spawn: lib.func('int tsrunc_spawn(const uint8_t *plan, size_t len, int32_t *out)'),
    go: lib.func('int tsrunc_go(int fd)'),
    recv: lib.func('int tsrunc_recv(int fd, uint8_t *buf, size_t len, int timeout_ms)'),
    msgSize: lib.func('int tsrunc_msg_size(void)'),
    release: lib.func('int tsrunc_release(const char *path)'),
    wait: lib.func('int tsrunc_wait(int pidfd)'),
    pidfdOpen: lib.func('int tsrunc_pidfd_open(int pid)'),
    pidfdSignal: lib.func('int tsrunc_pidfd_signal(int pidfd, int sig)'),
    flock: lib.func('int tsrunc_flock(int fd, int exclusive, int wait)'),
    close: lib.func('int tsrunc_close(int fd)'),
    recvFd: lib.func('int tsrunc_recv_fd(int sock, int timeout_ms)'),
    sendFd: lib.func('int tsrunc_send_fd(const char *path, const uint8_t *data, size_t len, int fd)'),
    recvFds: lib.func('int tsrunc_recv_fds(int fd, uint8_t *buf, size_t len, int timeout_ms, int32_t *fds, int maxfds)'),
    startConnect: lib.func('int tsrunc_start_connect(const char *path)'),
    connNext: lib.func('int tsrunc_conn_next(int fd, int32_t *out, int32_t *fds, int maxfds, uint8_t *step)'),
    waitTimeout,
    setWinsize: lib.func('int tsrunc_set_winsize(int fd, int rows, int cols)'),
    ttyRaw: lib.func('int tsrunc_tty_raw(int fd, uint8_t *saved, size_t len)'),
    ttyRestore: lib.func('int tsrunc_tty_restore(int fd, const uint8_t *saved, size_t len)'),
    dgramBind: lib.func('int tsrunc_dgram_bind(const char *path)'),
    dgramRecvAsync: (fd, buf, len, ms, cb) => dgramRecv.async(fd, buf, len, ms, cb),
    dgramSend: lib.func('int tsrunc_dgram_send(const char *path, const uint8_t *data, size_t len)'),
    seqpacketPair: lib.func('int tsrunc_seqpacket_pair(int32_t *out)'),
    spawnRemote: lib.func(
      'int tsrunc_spawn_remote(int sock, const uint8_t *plan, size_t len, const int32_t *fds, const int32_t *targets, int nfds, int32_t *out)',
    ),
    bpfDeviceFilter: lib.func('int tsrunc_bpf_device_filter(const char *dir, const uint8_t *insns, size_t n, int replace_old, _Out_ uint8_t *log, size_t log_len)'),
    spawnSibling: lib.func(
      'int tsrunc_spawn_sibling(int sock, const uint8_t *plan, size_t len, const int32_t *fds, const int32_t *targets, int nfds, int32_t *out)',
    ),
    reaperOpen: lib.func('int tsrunc_reaper_open(_Out_ int32_t *out)'),
    reaperCtl: lib.func('int tsrunc_reaper_ctl(int ep, int fd, int add)'),
    reaperPoke: lib.func('int tsrunc_reaper_poke(int ev)'),
    reaperWaitAsync: (ep, ev, fds, max, cb) => reaperWait.async(ep, ev, fds, max, cb),
    waitNohang: lib.func('int tsrunc_wait_nohang(int pidfd)'),
    monitorCommit: lib.func('int tsrunc_monitor_commit(int sock, int32_t pid)'),
    serverListen: lib.func('int tsrunc_server_listen(const char *path)'),
    serverAccept: lib.func('int tsrunc_server_accept(int lfd, _Out_ int32_t *out)'),
    pollIn,
    pollInAsync: (fd, ms, cb) => pollIn.async(fd, ms, cb),
    sendRecord: lib.func('int tsrunc_send_record(int fd, const uint8_t *buf, size_t len)'),
    waitTimeoutAsync: (pidfd, ms, cb) => waitTimeout.async(pidfd, ms, cb),
    idmapTree: lib.func('int tsrunc_idmap_tree(int tree, int userns_fd, int recursive, uint64_t attr_set, uint64_t attr_clr)'),
    errnoName: lib.func('const char *tsrunc_errno_name(int err)'),
    strerror: lib.func('const char *tsrunc_strerror(int err)'),
  };
}
