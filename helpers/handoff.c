/* handoff.c — child side: points where the child hands something to the parent and waits for it.
 * A hook point sends the child's own namespace fds (so the parent can run a hook inside them even
 * when it may not open /proc/<pid>/ns of a non-dumpable child) and waits for "go". Before the start
 * barrier it talks on the sync socket (a MSG_SYNC record); after it, on the start connection (a
 * TSR_CONN_HOOK record). Runs in the child: raw syscalls and stack buffers only. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <termios.h>
#include <unistd.h>

#include "plan.h"

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

/* The order of the bits of a hook point's namespace mask (mirrored in src/native/handoff.ts). */
static const char *const ns_names[TSR_HOOK_NS] = {"user", "mnt", "pid", "net", "uts", "ipc", "cgroup"};

/* sendmsg of iov[0..n) with nfds fds (at most TSR_REMOTE_MAXFDS) attached: 0 once all of it went, else
 * -errno (-EMSGSIZE for a short send). Allocation-free, so the child uses it; the parent side does too
 * (remote.c, the front end). */
int tsr_send_iov_fds(int sock, struct iovec *iov, int n, const int *fds, int nfds) {
  union {
    char buf[CMSG_SPACE(sizeof(int) * TSR_REMOTE_MAXFDS)];
    struct cmsghdr align;
  } u;
  if (nfds < 0 || nfds > TSR_REMOTE_MAXFDS) return -EINVAL;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  size_t len = 0;
  for (int k = 0; k < n; k++) len += iov[k].iov_len;
  if (nfds > 0) {
    m.msg_control = u.buf;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
    struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
    memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)nfds);
  }
  ssize_t r;
  do r = sendmsg(sock, &m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  return r == (ssize_t)len ? 0 : -EMSGSIZE;
}

static int send_with_fds(int sock, const void *data, size_t len, const int *fds, int n) {
  struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
  return tsr_send_iov_fds(sock, &iov, 1, fds, n);
}

int tsr_op_hook_point(struct tsr_child *c, uint32_t i, uint32_t tag) {
  int fds[TSR_HOOK_NS], n = 0;
  uint32_t mask = 0;
  char path[32] = "/proc/self/ns/";
  const size_t pre = 14;
  for (int k = 0; k < TSR_HOOK_NS; k++) {
    size_t len = strlen(ns_names[k]);
    memcpy(path + pre, ns_names[k], len + 1);
    /* After pivot_root this is the container's /proc: when it has none, the rootfs could put anything
     * there (a FIFO would block a plain open): only namespace files are handed on. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    struct statfs sf;
    if (fd >= 0 && (fstatfs(fd, &sf) < 0 || sf.f_type != NSFS_MAGIC)) {
      close(fd);
      fd = -1;
      errno = EINVAL;
    }
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

/* A terminal for the process, opened inside the container (after pivot_root) so the replica belongs
 * to the container's devpts, as runc does: the master goes to the parent (a MSG_SYNC record tagged
 * TSR_TAG_CONSOLE with the fd), the replica becomes fds 0-2 and the controlling terminal (we are a
 * session leader since setsid). With `mount_console` it is also bound on /dev/console. */
int tsr_op_console(struct tsr_child *c, uint32_t i, uint64_t rows, uint64_t cols, uint64_t mount_console, uint64_t uid) {
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) return tsr_fail(c, "open /dev/ptmx");
  int zero = 0, r = 0, replica = -1;
  unsigned n = 0;
  if (ioctl(master, TIOCSPTLCK, &zero) < 0) { r = tsr_fail(c, "unlockpt"); goto out; }
  if (ioctl(master, TIOCGPTN, &n) < 0) { r = tsr_fail(c, "ptsname"); goto out; }
  replica = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (replica < 0) { r = tsr_fail(c, "open replica"); goto out; }
  if (rows && cols) {
    struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
    if (ioctl(replica, TIOCSWINSZ, &ws) < 0) { r = tsr_fail(c, "TIOCSWINSZ"); goto out; }
  }
  /* The process' user must be able to use its terminal; an id the namespace cannot map is left (runc). */
  if (uid != UINT64_MAX && fchown(replica, (uid_t)uid, (gid_t)-1) < 0 && errno != EINVAL && errno != EPERM) {
    r = tsr_fail(c, "fchown");
    goto out;
  }
  if (mount_console) {
    char path[32] = "/dev/pts/", d[12];
    size_t o = 9;
    int k = 0;
    do d[k++] = (char)('0' + n % 10), n /= 10;
    while (n);
    while (k) path[o++] = d[--k];
    path[o] = '\0';
    mode_t old = umask(0);
    int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0666);
    umask(old);
    if (f < 0 && errno != EEXIST) { r = tsr_fail(c, "create /dev/console"); goto out; }
    if (f >= 0) close(f);
    if (mount(path, "/dev/console", NULL, MS_BIND, NULL) < 0) { r = tsr_fail(c, "bind /dev/console"); goto out; }
  }
  struct tsr_msg m;
  memset(&m, 0, sizeof m);
  m.type = MSG_SYNC;
  m.index = (int32_t)i;
  m.value = TSR_TAG_CONSOLE;
  if (c->syncfd < 0 || send_with_fds(c->syncfd, &m, sizeof m, &master, 1) < 0 || tsr_wait_go(c->syncfd) < 0) _exit(1);
  for (int fd = 0; fd < 3; fd++)
    if (dup2(replica, fd) < 0) { r = tsr_fail(c, "dup2"); goto out; }
  if (ioctl(0, TIOCSCTTY, 0) < 0) { r = tsr_fail(c, "TIOCSCTTY"); goto out; }
out:
  close(master);
  if (replica > 2) close(replica);
  return r;
}
