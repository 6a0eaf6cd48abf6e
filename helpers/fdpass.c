/* fdpass.c — parent-side fd passing for src/native/binding.ts: receive the seccomp listener fd the
 * child sends over the sync socket, and hand it to a seccomp agent at linux.seccomp.listenerPath
 * together with the container's state (runtime-spec "seccomp notify" protocol). -errno on failure. */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "plan.h"

/* One record carrying exactly one fd (SCM_RIGHTS): the fd (close-on-exec), or -errno. */
TSR_API int tsrunc_recv_fd(int sock, int timeout_ms) {
  int n = tsr_wait_readable(sock, timeout_ms);
  if (n < 0) return n;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  do r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (r == 0) return -EPIPE;
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int)))
    return -EBADMSG;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  if (m.msg_flags & MSG_CTRUNC) {
    close(fd);
    return -EBADMSG;
  }
  return fd;
}

/* Connects to the unix stream socket at `path` and sends `data` with `fd` attached, in one sendmsg. */
TSR_API int tsrunc_send_fd(const char *path, const uint8_t *data, size_t len, int fd) {
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(path) >= sizeof sa.sun_path) return -ENAMETOOLONG;
  if (len == 0) return -EINVAL;
  strcpy(sa.sun_path, path);
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -errno;
  int r;
  do r = connect(s, (struct sockaddr *)&sa, sizeof sa);
  while (r < 0 && errno == EINTR);
  if (r < 0) goto fail;
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &fd, sizeof fd);
  size_t sent = 0;
  while (sent < len) {
    ssize_t n = sendmsg(s, &m, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) goto fail;
    sent += (size_t)n;
    /* The fd went with the first chunk; the rest is plain data. */
    iov.iov_base = (char *)data + sent;
    iov.iov_len = len - sent;
    m.msg_control = NULL;
    m.msg_controllen = 0;
  }
  close(s);
  return 0;
fail:
  r = -errno;
  close(s);
  return r;
}
