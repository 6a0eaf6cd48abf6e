/* sync.c — the parent/child sync protocol over a SOCK_SEQPACKET socketpair (one record per send).
 *
 *   parent (Node, tsrunc_spawn)                         child (tsr_child_main)
 *   ---------------------------                         ----------------------
 *   clone3 ------------------------------------------> close stray fds, PDEATHSIG, wait
 *   write uid_map/gid_map, place in cgroup
 *   "go"  (1 byte) ----------------------------------> PR_SET_DUMPABLE 0, setns/unshare
 *        <------------------------------------------- [PID  pid]   only when the pid namespace
 *   reap the intermediate, pidfd_open(pid)                         changes after clone (double fork:
 *                                                                   the grandchild is our child)
 *                                                       setsid, run ops in order ...
 *        <------------------------------------------- [SYNC tag]   at a `sync` op, then waits
 *   run hooks; "go" (1 byte) ------------------------> ... more ops
 *        <------------------------------------------- [IDMAP index] + 1 byte with SCM_RIGHTS (a tree
 *   mount_setattr(MOUNT_ATTR_IDMAP) on it;                          the child cloned with open_tree)
 *   "go" (1 byte) -----------------------------------> move_mount the tree onto its target
 *        <------------------------------------------- [ERROR index errno step]  then _exit(1)
 *        <------------------------------------------- [READY]      at `wait-start`, then the child
 *   EOF (child closed its end / exited)                            closes its end and accepts
 *
 *   `start` (release)                                   child, blocked in accept4 on the start socket
 *   connect + 1 byte --------------------------------> read 1 byte, close listen socket, more ops, execve
 *        <------------------------------------------- EOF (conn is CLOEXEC): exec succeeded
 *        <------------------------------------------- [errno index step] (struct tsr_conn_fail):
 *                                                       an op after the barrier failed (a deferred
 *                                                       seccomp load, execve ...), then _exit
 *
 * Every child -> parent record is a fixed-size struct tsr_msg (32 bytes); parent -> child is one byte.
 * EOF on either side means the other end is gone: the child then _exits, the parent reports "eof".
 * This file holds only async-signal-safe code: it runs in the child.
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"

int tsr_send(int fd, uint32_t type, int32_t index, int32_t err, int32_t value, const char *step) {
  struct tsr_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  m.index = index;
  m.err = err;
  m.value = value;
  if (step) {
    size_t n = strlen(step);
    memcpy(m.step, step, n < TSR_STEP_LEN - 1 ? n : TSR_STEP_LEN - 1);
  }
  ssize_t r;
  do r = send(fd, &m, sizeof m, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  return r == (ssize_t)sizeof m ? 0 : -1;
}

/* Blocks until the parent says go (0), or the parent is gone (-1). */
int tsr_wait_go(int fd) {
  char b;
  ssize_t r;
  do r = recv(fd, &b, 1, 0);
  while (r < 0 && errno == EINTR);
  return r == 1 ? 0 : -1;
}

/* Sends record `type` for op `index`, then `fd` alone in a record of its own (SCM_RIGHTS), then waits
 * for the parent's go: 0; -1 when the parent is gone; 1 when sendmsg failed (errno says why). */
int tsr_hand_fd(int sock, uint32_t type, int32_t index, int fd) {
  char byte = 'F';
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  if (tsr_send(sock, type, index, 0, 0, NULL) < 0) return -1;
  int r = tsr_send_iov_fds(sock, &iov, 1, &fd, 1);
  if (r < 0) {
    errno = -r;
    return 1;
  }
  return tsr_wait_go(sock);
}
