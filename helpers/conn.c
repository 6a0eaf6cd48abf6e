/* conn.c — parent side of the hand-offs (handoff.c): records with fds on the sync socket, the start
 * connection with its hook points, waits with a timeout. Each returns -errno on failure. */
#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "plan.h"

/* Before a blocking read of `fd`: wait up to timeout_ms for it to be readable; 0, -ETIMEDOUT or -errno.
 * timeout_ms < 0 returns 0 at once (the blocking read itself waits). */
int tsr_wait_readable(int fd, int timeout_ms) {
  if (timeout_ms < 0) return 0;
  int r = tsrunc_poll_in(fd, timeout_ms);
  return r < 0 ? r : r == 0 ? -ETIMEDOUT : 0;
}

/* recvmsg of one record into buf (at most len bytes); the fds that came with it go to fds[0..maxfds)
 * (close-on-exec; extra ones, and any beyond TSR_REMOTE_MAXFDS, are closed), their count to *nfds and
 * the record's msg_flags (MSG_TRUNC, MSG_CTRUNC) to *flags. The byte count, 0 at EOF, or -errno. */
ssize_t tsr_recvmsg_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds, int *flags) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * TSR_REMOTE_MAXFDS)];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  *nfds = 0;
  *flags = 0;
  struct iovec iov = {.iov_base = buf, .iov_len = len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  do r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
    if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
    size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t k = 0; k < n; k++) {
      int f;
      memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof f);
      if (*nfds < maxfds) fds[(*nfds)++] = f;
      else close(f);
    }
  }
  *flags = m.msg_flags;
  return r;
}

/* A child record and its fds into fds[0..maxfds) (the rest -1). The byte count, 0 at EOF (or when the
 * child's end was reset), or -errno. */
static int recv_with_fds(int fd, void *buf, size_t len, int32_t *fds, int maxfds) {
  for (int k = 0; k < maxfds; k++) fds[k] = -1;
  int got, flags;
  ssize_t r = tsr_recvmsg_fds(fd, buf, len, fds, maxfds, &got, &flags);
  if (r == -ECONNRESET) return 0;
  return (int)r;
}

/* One child -> parent record (struct tsr_msg) with the fds it carries: its size, 0 at EOF,
 * -ETIMEDOUT, or -errno. */
TSR_API int tsrunc_recv_fds(int fd, uint8_t *buf, size_t len, int timeout_ms, int32_t *fds, int maxfds) {
  int r = tsr_wait_readable(fd, timeout_ms);
  return r < 0 ? r : recv_with_fds(fd, buf, len, fds, maxfds);
}

/* The `start` side of the exec barrier, step by step: connect and send the start byte. The connected
 * fd (close-on-exec) or -errno. */
TSR_API int tsrunc_start_connect(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  int r;
  do r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  while (r < 0 && errno == EINTR);
  if (r < 0 || send(fd, "S", 1, MSG_NOSIGNAL) != 1) {
    r = -errno;
    close(fd);
    return r;
  }
  return fd;
}

static int read_full(int fd, void *buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, (char *)buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    got += (size_t)n;
  }
  return 0;
}

/* The next event on the start connection. out[0]: 0 the child exec'd (EOF); 1 an op failed after the
 * barrier, out[1] its errno, out[2] its index (-1 unknown), its step (the failing call) in `step`
 * (TSR_STEP_LEN bytes, NUL-terminated); 2 a hook point, out[1] its tag, out[2] the namespace mask, the
 * namespace fds in fds. */
TSR_API int tsrunc_conn_next(int fd, int32_t *out, int32_t *fds, int maxfds, char *step) {
  int32_t word = 0;
  int r = recv_with_fds(fd, &word, sizeof word, fds, maxfds);
  out[0] = out[1] = 0;
  out[2] = -1;
  memset(step, 0, TSR_STEP_LEN);
  if (r < 0) return r;
  if (r == 0) return 0;
  if (r < (int)sizeof word && read_full(fd, (char *)&word + r, sizeof word - (size_t)r) < 0) {
    out[0] = 1;
    out[1] = EIO;
    return 0;
  }
  if (word == TSR_CONN_HOOK) {
    int32_t rest[2];
    if (read_full(fd, rest, sizeof rest) < 0) {
      out[0] = 1;
      out[1] = EIO;
      return 0;
    }
    out[0] = 2;
    out[1] = rest[0];
    out[2] = rest[1];
    return 0;
  }
  out[0] = 1;
  out[1] = word > 0 ? word : EIO;
  struct tsr_conn_fail f;
  if (read_full(fd, (char *)&f + sizeof word, sizeof f - sizeof word) == 0) {
    out[2] = f.index;
    memcpy(step, f.step, TSR_STEP_LEN - 1);
  }
  return 0;
}

/* Waits up to timeout_ms (< 0: for ever) for the process behind a pidfd to exit and reaps it:
 * (signal << 16) | code as tsrunc_wait, -ETIMEDOUT (the process is left alone), or -errno. */
TSR_API int tsrunc_wait_timeout(int pidfd, int timeout_ms) {
  int r = tsr_wait_readable(pidfd, timeout_ms);
  if (r < 0) return r;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  do r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | __WALL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (si.si_code == CLD_EXITED) return si.si_status & 0xff;
  return (si.si_status << 16) | ((128 + si.si_status) & 0xff);
}

/* Window size of a terminal: TIOCSWINSZ (the kernel sends SIGWINCH to its foreground group). */
TSR_API int tsrunc_set_winsize(int fd, int rows, int cols) {
  struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
  return ioctl(fd, TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

/* Raw mode as runc's console.SetRaw (cfmakeraw: no output processing either, unlike libuv's raw mode
 * that keeps ONLCR and would turn the container's "\r\n" into "\r\r\n"). The old settings go to
 * `saved` (at least sizeof(struct termios)) for tsrunc_tty_restore. */
TSR_API int tsrunc_tty_raw(int fd, uint8_t *saved, size_t len) {
  struct termios t;
  if (len < sizeof t) return -EINVAL;
  if (tcgetattr(fd, &t) < 0) return -errno;
  memcpy(saved, &t, sizeof t);
  cfmakeraw(&t);
  return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

TSR_API int tsrunc_tty_restore(int fd, const uint8_t *saved, size_t len) {
  struct termios t;
  if (len < sizeof t) return -EINVAL;
  memcpy(&t, saved, sizeof t);
  return tcsetattr(fd, TCSANOW, &t) < 0 ? -errno : 0;
}

/* sd_notify passthrough (src/runtime/notify.ts): Node has no unix datagram sockets. A name starting
 * with '@' is an abstract socket, as systemd writes NOTIFY_SOCKET for one. */
static int unix_addr(const char *path, struct sockaddr_un *sa, socklen_t *len) {
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof sa->sun_path) return -ENAMETOOLONG;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  memcpy(sa->sun_path, path, n);
  if (path[0] == '@') sa->sun_path[0] = '\0';
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] == '@' ? 0 : 1));
  return 0;
}

/* A datagram socket bound at `path` (mode 0777, so any container user may send): the fd or -errno. */
TSR_API int tsrunc_dgram_bind(const char *path) {
  struct sockaddr_un sa;
  socklen_t len;
  int r = unix_addr(path, &sa, &len);
  if (r < 0) return r;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (bind(fd, (struct sockaddr *)&sa, len) < 0 || (path[0] != '@' && chmod(path, 0777) < 0)) {
    r = -errno;
    close(fd);
    return r;
  }
  return fd;
}

/* One datagram into buf: its size, -ETIMEDOUT, or -errno. */
TSR_API int tsrunc_dgram_recv(int fd, uint8_t *buf, size_t len, int timeout_ms) {
  int r = tsr_wait_readable(fd, timeout_ms);
  if (r < 0) return r;
  ssize_t n;
  do n = recv(fd, buf, len, 0);
  while (n < 0 && errno == EINTR);
  return n < 0 ? -errno : (int)n;
}

/* Sends one datagram to the socket at `path`: 0 or -errno. */
TSR_API int tsrunc_dgram_send(const char *path, const uint8_t *data, size_t len) {
  struct sockaddr_un sa;
  socklen_t salen;
  int r = unix_addr(path, &sa, &salen);
  if (r < 0) return r;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  ssize_t n;
  do n = sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&sa, salen);
  while (n < 0 && errno == EINTR);
  r = n < 0 ? -errno : 0;
  close(fd);
  return r;
}
