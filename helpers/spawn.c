/* spawn.c — parent side (Node's main thread): validate the plan, make the sockets, clone3 the child.
 * The child starts stopped at the sync socket, waiting for "go" (see sync.c). */
#include <errno.h>
#include <linux/sched.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <fcntl.h>
#include <unistd.h>

#include "plan.h"

/* Where tsrunc_spawn failed (out[4]); mirrored in src/native/index.ts. */
enum { STEP_VALIDATE, STEP_SOCKETPAIR, STEP_SOCKET, STEP_BIND, STEP_LISTEN, STEP_DUP, STEP_CLONE };

/* Every fd the child needs must sit above 3+preserveFds, or the child's dup2/close_range would
 * clobber it: duplicate it there (close-on-exec) when it does not. *owned says we must close it. */
static int lift_fd(int fd, int min, int always, int *owned) {
  *owned = 0;
  if (fd < 0 || (fd >= min && !always)) return fd;
  int d = fcntl(fd, F_DUPFD_CLOEXEC, min);
  if (d >= 0) *owned = 1;
  return d;
}

static void sort_keep(struct tsr_plan *p) {
  for (int a = 1; a < p->nkeep; a++)
    for (int b = a; b > 0 && p->keep[b - 1] > p->keep[b]; b--) {
      int t = p->keep[b];
      p->keep[b] = p->keep[b - 1];
      p->keep[b - 1] = t;
    }
}

/* Creates the child. out: [pid, pidfd, parent's sync fd, bad op index, failing step]. 0 or -errno. */
TSR_API int tsrunc_spawn(const uint8_t *buf, size_t len, int32_t *out) { return tsr_spawn(buf, len, out, 0); }

/* tsrunc_spawn with CLONE_PARENT when `sibling`: the child becomes a child of our own parent (a spawner
 * serving the runtime that started it, remote.c), which then reaps it as if it had cloned it itself. */
int tsr_spawn(const uint8_t *buf, size_t len, int32_t *out, int sibling) {
  struct tsr_plan p;
  int sv[2] = {-1, -1}, listenfd = -1, bound = 0, step = STEP_VALIDATE, r;
  int owned_sync = 0, owned_listen = 0, owned_join[TSR_MAX_JOINS] = {0}, owned_stdio[3] = {0};
  const char *start_path = NULL;
  for (int k = 0; k < 5; k++) out[k] = -1;

  if ((r = tsr_plan_load(&p, buf, len, &out[3])) < 0) goto fail;
  int min = 3 + (int)p.preserve;

  step = STEP_SOCKETPAIR;
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) goto fail_errno;
  if (p.listenfd != -2) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    start_path = tsr_str(&p, p.slots[H_START_PATH]);
    strcpy(sa.sun_path, start_path); /* length checked by tsr_plan_load */
    step = STEP_SOCKET;
    if ((listenfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) goto fail_errno;
    step = STEP_BIND;
    if (bind(listenfd, (struct sockaddr *)&sa, sizeof sa) < 0) goto fail_errno;
    bound = 1;
    step = STEP_LISTEN;
    if (listen(listenfd, 1) < 0) goto fail_errno;
  }

  step = STEP_DUP;
  p.listenfd = -1;
  if ((p.syncfd = lift_fd(sv[1], min, 0, &owned_sync)) < 0) goto fail_errno;
  if (listenfd >= 0 && (p.listenfd = lift_fd(listenfd, min, 0, &owned_listen)) < 0) goto fail_errno;
  for (uint32_t j = 0; j < p.njoin; j++)
    if ((p.joinfd[j] = lift_fd(p.joinfd[j], min, 0, &owned_join[j])) < 0) goto fail_errno;
  /* stdio sources are always duplicated high, so dup2 onto 0..2 in any order cannot clobber one. */
  for (int k = 0; k < 3; k++)
    if (p.stdio[k] >= 0 && (p.stdio[k] = lift_fd(p.stdio[k], min, 1, &owned_stdio[k])) < 0) goto fail_errno;
  p.keep[p.nkeep++] = p.syncfd;
  if (p.listenfd >= 0) p.keep[p.nkeep++] = p.listenfd;
  for (uint32_t j = 0; j < p.njoin; j++) p.keep[p.nkeep++] = p.joinfd[j];
  sort_keep(&p);

  /* Fast path: create every namespace at clone time. Joining: only the new user namespace now (the
   * rest must be created after setns, from inside the joined user namespace). The cgroup namespace
   * always waits until the parent has placed the child in its cgroup. */
  struct clone_args ca;
  memset(&ca, 0, sizeof ca);
  /* Time offsets: the child unshares the time namespace itself, so it can set them before anyone enters. */
  int late = p.njoin || p.timens_offsets;
  ca.flags = CLONE_PIDFD | (late ? (p.newns & CLONE_NEWUSER) : (p.newns & ~(uint32_t)CLONE_NEWCGROUP));
  int pidfd = -1;
  ca.pidfd = (uint64_t)(uintptr_t)&pidfd;
  /* clone3 refuses an exit signal with CLONE_PARENT: the child gets ours (SIGCHLD) for our parent. */
  if (sibling) ca.flags |= CLONE_PARENT;
  ca.exit_signal = sibling ? 0 : SIGCHLD;

  /* No Node signal handler may run in the child before it resets them: block everything around clone. */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = syscall(SYS_clone3, &ca, sizeof ca);
  if (pid == 0) tsr_child_main(&p);
  int e = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  step = STEP_CLONE;
  errno = e;
  if (pid < 0) goto fail_errno;

  out[0] = (int32_t)pid;
  out[1] = pidfd;
  out[2] = sv[0];
  r = 0;
  sv[0] = -1;
  goto done;

fail_errno:
  r = -errno;
fail:
  out[4] = step;
  if (bound) unlink(start_path);
  if (sv[0] >= 0) close(sv[0]);
done:
  if (owned_sync) close(p.syncfd);
  if (sv[1] >= 0) close(sv[1]);
  if (owned_listen) close(p.listenfd);
  if (listenfd >= 0) close(listenfd);
  for (uint32_t j = 0; step >= STEP_DUP && j < p.njoin; j++)
    if (owned_join[j]) close(p.joinfd[j]);
  for (int k = 0; k < 3; k++)
    if (owned_stdio[k]) close(p.stdio[k]);
  tsr_plan_free(&p);
  return r;
}
