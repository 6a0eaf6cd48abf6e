/* child.c — the child between clone3 and execve: close stray fds, wait for "go", enter the namespaces,
 * then interpret the ops in order. It is a fork of multi-threaded Node: only raw syscalls and
 * async-signal-safe libc here, no malloc/stdio/locks; all memory was prepared by the parent (plan.c). */
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* A failure before the first op (index -1) or while joining joinNamespaces[j] (index -2-j). */
static _Noreturn void setup_fail(struct tsr_child *c, int32_t index, const char *step) {
  int e = errno;
  if (c->syncfd >= 0) tsr_send(c->syncfd, MSG_ERROR, index, e ? e : EIO, 0, step);
  _exit(1);
}

/* PR_SET_PDEATHSIG is reset by fork and only fires if the parent dies after it is set: check for a
 * parent that is already gone (its end of the sync socket is closed) right after setting it. */
static void die_with_parent(struct tsr_child *c) {
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) setup_fail(c, -1, "prctl");
  struct pollfd pfd = {.fd = c->syncfd, .events = POLLIN};
  if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLERR))) _exit(1);
}

/* Close every inherited fd but stdio, the preserved ones and ours (CVE-2024-21626 class: a leaked host
 * directory fd is a way out of the rootfs). */
static void close_stray_fds(struct tsr_child *c) {
  const struct tsr_plan *p = c->p;
  unsigned from = 3 + p->preserve;
  for (int k = 0; k < p->nkeep; k++) {
    unsigned fd = (unsigned)p->keep[k];
    if (fd > from && syscall(SYS_close_range, from, fd - 1, 0) < 0) setup_fail(c, -1, "close_range");
    from = fd + 1;
  }
  if (syscall(SYS_close_range, from, ~0U, 0) < 0) setup_fail(c, -1, "close_range");
}

/* The pid (and time) namespace of a process never changes: setns/unshare only affect its children.
 * Fork once more with CLONE_PARENT so the new init is Node's child, report its pid, and leave. */
static void double_fork(struct tsr_child *c) {
  struct clone_args a;
  memset(&a, 0, sizeof a);
  a.flags = CLONE_PARENT; /* clone3 wants exit_signal 0 here: the grandchild gets ours (SIGCHLD) */
  long pid = syscall(SYS_clone3, &a, sizeof a);
  if (pid < 0) setup_fail(c, -1, "clone3");
  if (pid > 0) {
    tsr_send(c->syncfd, MSG_PID, 0, 0, (int32_t)pid, NULL);
    _exit(0);
  }
  die_with_parent(c);
}

/* Fast path: everything was created by clone3. Join path: setns in the given order (user first),
 * then unshare what is left. The cgroup namespace always comes last, after the parent placed us in
 * the container's cgroup, so that cgroup is its root. */
static void enter_namespaces(struct tsr_child *c) {
  const struct tsr_plan *p = c->p;
  if (p->njoin || p->timens_offsets) {
    uint32_t joined = 0;
    for (uint32_t j = 0; j < p->njoin; j++) {
      int flag = (int)p->joins[j * 2];
      if (setns(p->joinfd[j], flag) < 0) setup_fail(c, -2 - (int32_t)j, "setns");
      close(p->joinfd[j]);
      joined |= (uint32_t)flag;
    }
    uint32_t rest = p->newns & ~(uint32_t)(CLONE_NEWUSER | CLONE_NEWCGROUP);
    if (rest && unshare((int)rest) < 0) setup_fail(c, -1, "unshare");
    if (p->timens_offsets && tsr_write_time_offsets(c->timensfd, p->timens_offsets) < 0) setup_fail(c, -1, "timens_offsets");
    if ((rest | joined) & (CLONE_NEWPID | CLONE_NEWTIME)) double_fork(c);
  }
  if ((p->newns & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) setup_fail(c, -1, "unshare");
}

/* The exec barrier: the `create` process exits while we wait, so the parent-death signal goes. */
static int wait_start(struct tsr_child *c) {
  if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) return tsr_fail(c, "prctl");
  if (tsr_send(c->syncfd, MSG_READY, 0, 0, 0, NULL) < 0) _exit(1);
  close(c->syncfd);
  c->syncfd = -1;
  for (;;) {
    int fd = accept4(c->listenfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      _exit(1); /* nobody left to tell */
    }
    char b;
    ssize_t n;
    do n = read(fd, &b, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1) {
      c->connfd = fd;
      break;
    }
    close(fd); /* a connection without the start byte does not start us */
  }
  close(c->listenfd);
  c->listenfd = -1;
  return 0;
}

static void clear_fd_flags(int fd, int nonblock) {
  int f = fcntl(fd, F_GETFD);
  if (f >= 0 && (f & FD_CLOEXEC)) fcntl(fd, F_SETFD, f & ~FD_CLOEXEC);
  if (!nonblock) return;
  f = fcntl(fd, F_GETFL);
  if (f >= 0 && (f & O_NONBLOCK)) fcntl(fd, F_SETFL, f & ~O_NONBLOCK);
}

static _Noreturn void op_fail(struct tsr_child *c, uint32_t i, int err);

/* Node ignores SIGPIPE/SIGXFSZ (ignored signals survive execve), blocks nothing we want to keep, and
 * marks 0-2 close-on-exec; the parent-death signal would survive execve too. Undo all of that. The
 * seccomp program (when deferred) is the very last thing before execve. */
static int do_exec(struct tsr_child *c) {
  const struct tsr_plan *p = c->p;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; s++) sigaction(s, &sa, NULL); /* SIGKILL/SIGSTOP/glibc-internal: EINVAL, fine */
  for (int fd = 0; fd < 3; fd++) clear_fd_flags(fd, 1);
  for (unsigned fd = 3; fd < 3 + p->preserve; fd++) clear_fd_flags((int)fd, 0);
  if (syscall(SYS_close_range, 3 + p->preserve, ~0U, CLOSE_RANGE_CLOEXEC) < 0) return tsr_fail(c, "close_range");
  if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0) return tsr_fail(c, "prctl");
  uint64_t none = 0;
  if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, sizeof none) < 0) return tsr_fail(c, "sigprocmask");
  uint32_t si = 0;
  int err = tsr_seccomp_deferred(c, &si);
  if (err) op_fail(c, si, err);
  execve(p->exec_path, p->argv, p->envp);
  return tsr_fail(c, "execve");
}

/* The working directory is resolved inside the container's root (no magic link such as a leaked
 * /proc/self/fd/N may lead out of it: CVE-2024-21626), then entered through the fd. */
static int chdir_in_root(struct tsr_child *c, const char *path) {
  int fd, r = tsr_resolve(c, path, -1, &fd);
  if (r) return r;
  r = fchdir(fd) < 0 ? tsr_fail(c, "chdir") : 0;
  close(fd);
  return r;
}

/* Runs op i; 0 or an errno (c->step says which syscall). */
static int run_op(struct tsr_child *c, uint32_t i) {
  const struct tsr_plan *p = c->p;
  uint64_t s1 = tsr_op_slot(p, i, 1), s2 = tsr_op_slot(p, i, 2), s3 = tsr_op_slot(p, i, 3);
#define str1 tsr_str(p, s1) /* only for the ops whose s1 is a string (checked by plan.c) */
  switch (tsr_op_slot(p, i, 0)) {
  case OP_PREPARE_ROOT: return tsr_op_prepare_root(c, i);
  case OP_MOUNT: return tsr_op_mount(c, i);
  case OP_DEVICE: return tsr_op_device(c, i);
  case OP_SYMLINK: return tsr_op_symlink(c, i);
  case OP_PIVOT_ROOT: return tsr_op_pivot_root(c);
  case OP_CHROOT: return tsr_op_chroot(c);
  case OP_ROOT_PROPAGATION:
    return mount(NULL, "/", NULL, (unsigned long)s1, NULL) < 0 ? tsr_fail(c, "propagation") : 0;
  case OP_MASK: return tsr_op_mask(c, str1);
  case OP_READONLY: return tsr_op_readonly(c, str1);
  case OP_READONLY_ROOT: return tsr_op_readonly_root(c);
  case OP_SETHOSTNAME: return sethostname(str1, strlen(str1)) < 0 ? tsr_fail(c, "sethostname") : 0;
  case OP_SETDOMAINNAME: return setdomainname(str1, strlen(str1)) < 0 ? tsr_fail(c, "setdomainname") : 0;
  case OP_LOOPBACK_UP: return tsr_op_loopback_up(c);
  case OP_OOM_SCORE_ADJ: return 0; /* done by early_ops */
  case OP_RLIMIT: return tsr_op_rlimit(c, (uint32_t)s1, s2, s3);
  case OP_CAP_BOUNDING: return tsr_op_cap_bounding(c, s1);
  case OP_KEEP_CAPS: return prctl(PR_SET_KEEPCAPS, s1 ? 1 : 0, 0, 0, 0) < 0 ? tsr_fail(c, "prctl") : 0;
  case OP_SETGROUPS: return tsr_op_setgroups(c, s1);
  case OP_SETRESGID:
    return syscall(SYS_setresgid, (gid_t)s1, (gid_t)s1, (gid_t)s1) < 0 ? tsr_fail(c, "setresgid") : 0;
  case OP_SETRESUID:
    return syscall(SYS_setresuid, (uid_t)s1, (uid_t)s1, (uid_t)s1) < 0 ? tsr_fail(c, "setresuid") : 0;
  case OP_CAPSET: return tsr_op_capset(c, s1, s2, s3);
  case OP_AMBIENT: return tsr_op_ambient(c, s1);
  case OP_NO_NEW_PRIVS: return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ? tsr_fail(c, "prctl") : 0;
  case OP_UMASK: umask((mode_t)s1); return 0;
  case OP_CHDIR: return chdir_in_root(c, str1);
  case OP_SYNC:
    if (tsr_send(c->syncfd, MSG_SYNC, (int32_t)i, 0, (int32_t)s1, NULL) < 0 || tsr_wait_go(c->syncfd) < 0) _exit(1);
    return 0;
  case OP_RESOLVE_EXEC: return tsr_resolve_exec(c, str1, tsr_str(p, s2));
  case OP_WAIT_START: return wait_start(c);
  case OP_EXEC: return do_exec(c);
  case OP_MKDIR: return tsr_mkdir_all(c, str1, (mode_t)s2);
  case OP_IDMAP_MOUNT: return tsr_op_idmap_mount(c, i);
  case OP_HOOK_POINT: return tsr_op_hook_point(c, i, (uint32_t)s1);
  case OP_CONSOLE: return tsr_op_console(c, i, s1, s2, s3, tsr_op_slot(p, i, 4));
  case OP_SECCOMP: return tsr_op_seccomp(c, i);
  case OP_WRITE_FILE: return tsr_op_write_file(c, str1, tsr_str(p, s2));
  case OP_PERSONALITY: return tsr_op_personality(c, s1);
  case OP_SCHEDULER: return tsr_op_scheduler(c, i);
  case OP_IOPRIO: return tsr_op_ioprio(c, s1);
  default: errno = EINVAL; return tsr_fail(c, "op");
  }
#undef str1
}

/* Ops that must run while we are still dumpable. Non-dumpable, the files of /proc/self belong to the root of
 * the user namespace our memory was created in (the host's, since we never exec'd), so a rootless
 * container root may no longer write /proc/self/oom_score_adj. The value is inherited by the
 * double-fork grandchild and across execve (runc sets it this early for the same reason). */
static void early_ops(struct tsr_child *c) {
  for (uint32_t i = 0; i < c->p->nops; i++) {
    if (tsr_op_slot(c->p, i, 0) != OP_OOM_SCORE_ADJ) continue;
    int err = tsr_op_oom_score_adj(c, (int64_t)tsr_op_slot(c->p, i, 1));
    if (err) op_fail(c, i, err);
  }
}

/* Reports op i's failure where the parent is listening: the sync socket before the start barrier,
 * the start connection after it (struct tsr_conn_fail: `start` names the op's config field, e.g. a
 * deferred seccomp load, not only the errno). */
static _Noreturn void op_fail(struct tsr_child *c, uint32_t i, int err) {
  const char *step = c->step ? c->step : "op";
  if (c->syncfd >= 0) {
    tsr_send(c->syncfd, MSG_ERROR, (int32_t)i, err, 0, step);
  } else if (c->connfd >= 0) {
    struct tsr_conn_fail f;
    memset(&f, 0, sizeof f);
    f.err = err > 0 ? err : EIO;
    f.index = (int32_t)i;
    size_t n = strlen(step);
    memcpy(f.step, step, n < TSR_STEP_LEN - 1 ? n : TSR_STEP_LEN - 1);
    ssize_t w; /* one small write on a stream socket: all of it or nothing */
    do w = write(c->connfd, &f, sizeof f);
    while (w < 0 && errno == EINTR);
  }
  _exit(tsr_op_slot(c->p, i, 0) == OP_EXEC ? 127 : 1);
}

_Noreturn void tsr_child_main(struct tsr_plan *p) {
  struct tsr_child c;
  memset(&c, 0, sizeof c);
  c.p = p;
  c.rootfd = c.connfd = c.timensfd = -1;
  c.syncfd = p->syncfd;
  c.listenfd = p->listenfd;
  for (int k = 0; k < 3; k++)
    if (p->stdio[k] >= 0 && dup2(p->stdio[k], k) < 0) setup_fail(&c, -1, "dup2");
  close_stray_fds(&c);
  die_with_parent(&c);
  /* Dumpable while waiting: the parent writes /proc/<pid>/uid_map and gid_map. */
  if (tsr_wait_go(c.syncfd) < 0) _exit(1);
  early_ops(&c);
  /* Non-dumpable, our /proc files belong to the host's root (see early_ops): open the time offsets now.
   * The opener's credentials (root of our user namespace) are what the kernel checks at the write. */
  if (p->timens_offsets && (c.timensfd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC)) < 0)
    setup_fail(&c, -1, "timens_offsets");
  /* Until execve /proc/<pid>/exe is the node binary: nobody in the container may open it
   * (CVE-2019-5736 class). Before joining or building anything. */
  if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) setup_fail(&c, -1, "prctl");
  enter_namespaces(&c);
  if (setsid() < 0) setup_fail(&c, -1, "setsid");
  if ((p->flags & TSR_FLAG_CTTY) && ioctl(0, TIOCSCTTY, 0) < 0) setup_fail(&c, -1, "ioctl");
  for (uint32_t i = 0; i < p->nops; i++) {
    c.step = NULL;
    int err = run_op(&c, i);
    if (err) op_fail(&c, i, err);
  }
  _exit(0);
}
