/* seccomp.c — loading the seccomp program the parent compiled with libseccomp (src/linux/seccomp.ts).
 * Runs in the child: raw syscalls only, the program lives in the plan's heap.
 *
 * Without no_new_privs the kernel wants CAP_SYS_ADMIN in our user namespace, so build-plan.ts puts the
 * op before the capabilities are dropped (runc's order); with it, the op sits right before `exec` and
 * is deferred to the very last moment before execve (tsr_seccomp_deferred), so the profile sees as
 * few of our own syscalls as possible. With SCMP_ACT_NOTIFY rules the program is loaded with
 * SECCOMP_FILTER_FLAG_NEW_LISTENER while the sync socket is still open, and the listener fd goes to
 * the parent (MSG_SECCOMP then one SCM_RIGHTS record), which hands it to the listenerPath agent. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef SECCOMP_FILTER_FLAG_NEW_LISTENER
#define SECCOMP_FILTER_FLAG_NEW_LISTENER (1UL << 3)
#endif

static int load(struct tsr_child *c, uint32_t i, int *listener) {
  const struct tsr_plan *p = c->p;
  uint64_t prog = tsr_op_slot(p, i, 1), flags = tsr_op_slot(p, i, 2);
  struct sock_fprog fprog = {
      .len = (unsigned short)(prog >> 32),
      .filter = (struct sock_filter *)((const char *)p->slots + (uint32_t)prog),
  };
  long r = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, (unsigned)flags, &fprog);
  if (r < 0) return tsr_fail(c, "seccomp");
  *listener = (flags & SECCOMP_FILTER_FLAG_NEW_LISTENER) ? (int)r : -1;
  return 0;
}

/* The listener fd travels alone in a record of its own, right after MSG_SECCOMP; the parent hands it
 * on (or fails and kills us) before it says go. */
static int send_listener(struct tsr_child *c, uint32_t i, int fd) {
  int r = tsr_hand_fd(c->syncfd, MSG_SECCOMP, (int32_t)i, fd);
  if (r < 0) _exit(1);
  if (r > 0) r = tsr_fail(c, "sendmsg");
  close(fd);
  return r;
}

int tsr_op_seccomp(struct tsr_child *c, uint32_t i) {
  uint64_t mode = tsr_op_slot(c->p, i, 3);
  if (mode == TSR_SECCOMP_DEFER) return 0; /* tsr_seccomp_deferred, just before execve */
  int listener = -1;
  int err = load(c, i, &listener);
  if (err) return err;
  if (listener < 0) return 0;
  if (c->syncfd < 0) { /* plan.c keeps notify ops before wait-start; belt and braces */
    errno = EBADF;
    return tsr_fail(c, "listener");
  }
  return send_listener(c, i, listener);
}

int tsr_seccomp_deferred(struct tsr_child *c, uint32_t *index) {
  for (uint32_t i = 0; i < c->p->nops; i++) {
    if (tsr_op_slot(c->p, i, 0) != OP_SECCOMP || tsr_op_slot(c->p, i, 3) != TSR_SECCOMP_DEFER) continue;
    int listener = -1;
    *index = i;
    int err = load(c, i, &listener);
    if (err) return err;
  }
  return 0;
}
