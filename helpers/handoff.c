/* handoff.c — child side: points where the child hands something to the parent and waits for it.
 * A hook point sends the child's own namespace fds (so the parent can run a hook inside them even
 * when it may not open /proc/<pid>/ns of a non-dumpable child) and waits for "go". Before the start
 * barrier it talks on the sync socket (a MSG_SYNC record); after it, on the start connection (a
 * TSR_CONN_HOOK record). Runs in the child: raw syscalls and stack buffers only. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"

/* The order of the bits of a hook point's namespace mask (mirrored in src/native/handoff.ts). */
static const char *const ns_names[TSR_HOOK_NS] = {"user", "mnt", "pid", "net", "uts", "ipc", "cgroup"};

static int send_with_fds(int sock, const void *data, size_t len, const int *fds, int n) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * TSR_HOOK_NS)];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
  if (n > 0) {
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
  }
  ssize_t r;
  do r = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t)len ? 0 : -1;
}

int tsr_op_hook_point(struct tsr_child *c, uint32_t i, uint32_t tag) {
  int fds[TSR_HOOK_NS], n = 0;
  uint32_t mask = 0;
  char path[32] = "/proc/self/ns/";
  const size_t pre = 14;
  for (int k = 0; k < TSR_HOOK_NS; k++) {
    size_t len = strlen(ns_names[k]);
    memcpy(path + pre, ns_names[k], len + 1);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT) continue; /* a kernel without that namespace type */
      int r = tsr_fail(c, "open ns");
      while (n) close(fds[--n]);
      return r;
    }
    fds[n++] = fd;
    mask |= 1u << k;
  }
  int sent;
  int chan = c->syncfd >= 0 ? c->syncfd : c->connfd;
  if (c->syncfd >= 0) {
    struct tsr_msg m;
    memset(&m, 0, sizeof m);
    m.type = MSG_SYNC;
    m.index = (int32_t)i;
    m.err = (int32_t)mask;
    m.value = (int32_t)tag;
    sent = send_with_fds(chan, &m, sizeof m, fds, n);
  } else {
    int32_t rec[3] = {TSR_CONN_HOOK, (int32_t)tag, (int32_t)mask};
    sent = chan >= 0 ? send_with_fds(chan, rec, sizeof rec, fds, n) : -1;
  }
  while (n) close(fds[--n]);
  /* No "go" (the parent is gone, or a hook failed and it hung up): the container must not go on. */
  if (sent < 0 || tsr_wait_go(chan) < 0) _exit(1);
  return 0;
}
