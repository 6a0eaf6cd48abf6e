/* server.c — the socket side of the warm server (src/server/): its listening SOCK_SEQPACKET socket, the
 * connections of front ends with the peer's credentials, and waiting for readability off the event loop
 * (called through koffi's .async, so a waiting connection costs a thread of the pool, not the loop).
 * The records themselves go through tsrunc_recv_fds (conn.c) and tsrunc_send_record. */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "plan.h"

/* A listening SOCK_SEQPACKET socket (close-on-exec, non-blocking) bound at `path`, which must not
 * exist; the socket file is 0600 whatever the umask. The fd or -errno. */
TSR_API int tsrunc_server_listen(const char *path) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
  strcpy(sa.sun_path, path);
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -errno;
  /* fchmod on a socket fd does not reach the file bind creates: narrow the umask around bind instead
   * (the directory is 0700 anyway; this is a second fence). */
  mode_t old = umask(0177);
  int r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
  int err = errno;
  umask(old);
  if (r < 0 || listen(fd, 128) < 0) {
    if (r == 0) err = errno;
    close(fd);
    return -err;
  }
  return fd;
}

/* The next pending connection on `lfd` (close-on-exec, blocking) with its peer's credentials at
 * connect time in out = [pid, uid, gid]. The fd, -EAGAIN when none is pending, or -errno. */
TSR_API int tsrunc_server_accept(int lfd, int32_t *out) {
  int fd;
  do fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno == EWOULDBLOCK ? -EAGAIN : -errno;
  struct ucred cred;
  socklen_t len = sizeof cred;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    int err = errno;
    close(fd);
    return -err;
  }
  out[0] = cred.pid;
  out[1] = (int32_t)cred.uid;
  out[2] = (int32_t)cred.gid;
  return fd;
}

/* Waits until `fd` is readable or hung up: 1, 0 after timeout_ms (< 0: for ever), or -errno. A pidfd
 * is readable once its process has exited, whoever its parent is. */
TSR_API int tsrunc_poll_in(int fd, int timeout_ms) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  int r;
  do r = poll(&p, 1, timeout_ms);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  return r > 0 ? 1 : 0;
}

/* One record on a SOCK_SEQPACKET connection, without SIGPIPE: 0 or -errno (-EPIPE: the peer is gone). */
TSR_API int tsrunc_send_record(int fd, const uint8_t *buf, size_t len) {
  ssize_t r;
  do r = send(fd, buf, len, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r < 0 ? -errno : 0;
}
