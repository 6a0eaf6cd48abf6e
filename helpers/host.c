/* host.c — small parent-side wrappers for src/native/binding.ts: the sync socket's parent end, the
 * start barrier's `start` side, pidfds, flock, errno names. Each returns -errno on failure, so the
 * TypeScript side never has to read errno across the FFI. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan.h"

/* Parent -> child: "go" (one byte). */
TSR_API int tsrunc_go(int fd) {
  ssize_t r;
  do r = send(fd, "G", 1, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == 1 ? 0 : -errno;
}

/* One child -> parent record (struct tsr_msg) into buf: its size, 0 at EOF, -ETIMEDOUT, or -errno.
 * timeout_ms < 0 waits for ever. */
TSR_API int tsrunc_recv(int fd, uint8_t *buf, size_t len, int timeout_ms) {
  int n = tsr_wait_readable(fd, timeout_ms);
  if (n < 0) return n;
  ssize_t r;
  do r = recv(fd, buf, len, 0);
  while (r < 0 && errno == EINTR);
  if (r < 0) return errno == ECONNRESET ? 0 : -errno;
  return (int)r;
}

TSR_API int tsrunc_msg_size(void) { return (int)sizeof(struct tsr_msg); }

/* The `start` side of the exec barrier: connect, send one byte, then read until EOF. 0 = the child
 * exec'd (its end closed on exec); -errno = could not connect; +errno = the child's execve failed. */
TSR_API int tsrunc_release(const char *path) {
  int fd = tsrunc_start_connect(path);
  if (fd < 0) return fd;
  int32_t err = 0;
  size_t got = 0;
  while (got < sizeof err) {
    ssize_t n = read(fd, (char *)&err + got, sizeof err - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  close(fd);
  if (got == 0) return 0;
  return got == sizeof err && err > 0 ? err : EIO;
}

/* Waits for the process behind a pidfd to exit and reaps it: (signal << 16) | code, where code is
 * the exit status or 128+signal when it was killed; -errno on failure. It blocks: the TypeScript side
 * calls it only for a process it just killed; other exits go through the reaper (reaper.c). */
TSR_API int tsrunc_wait(int pidfd) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (si.si_code == CLD_EXITED) return si.si_status & 0xff;
  return (si.si_status << 16) | ((128 + si.si_status) & 0xff);
}

TSR_API int tsrunc_pidfd_open(int pid) {
  long r = syscall(SYS_pidfd_open, pid, 0);
  return r < 0 ? -errno : (int)r;
}

TSR_API int tsrunc_pidfd_signal(int pidfd, int sig) {
  return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

/* flock: 0 when taken, -EWOULDBLOCK when !wait and someone holds it, else -errno. */
TSR_API int tsrunc_flock(int fd, int exclusive, int wait) {
  int r;
  do r = flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB));
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}

TSR_API int tsrunc_close(int fd) { return close(fd) < 0 ? -errno : 0; }

TSR_API const char *tsrunc_errno_name(int err) { return strerrorname_np(err); }
TSR_API const char *tsrunc_strerror(int err) { return strerrordesc_np(err); }
