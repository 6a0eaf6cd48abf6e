/* attrs.c — process attributes the container asks for, set in the child: sysctls and LSM labels
 * (written to files under /proc), the execution domain, the scheduler and the I/O priority.
 * Runs in the child: raw syscalls and the plan's own memory only. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

/* linux/sched/types.h, SCHED_ATTR_SIZE_VER0: what every kernel with sched_setattr accepts. */
struct tsr_sched_attr {
  uint32_t size, sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime, sched_deadline, sched_period;
};

/* Writes `data` into the container file `path` (after pivot_root: /proc/sys/…, /proc/self/attr/…),
 * resolved in the container's root with no magic link (/proc/self is a plain one) and in one write:
 * sysctl and attr files take the whole value in one call, a short write is an error. */
int tsr_op_write_file(struct tsr_child *c, const char *path, const char *data) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  int root = c->rootfd >= 0 ? c->rootfd : AT_FDCWD;
  long fd;
  do fd = syscall(SYS_openat2, root, path, &how, sizeof how);
  while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) return tsr_fail(c, "open");
  size_t len = strlen(data);
  ssize_t n;
  do n = write((int)fd, data, len);
  while (n < 0 && errno == EINTR);
  int r = n < 0 ? tsr_fail(c, "write") : 0;
  if (n >= 0 && (size_t)n != len) { errno = EIO; r = tsr_fail(c, "write"); }
  close((int)fd);
  return r;
}

int tsr_op_personality(struct tsr_child *c, uint64_t persona) {
  if (syscall(SYS_personality, (unsigned long)persona) < 0) return tsr_fail(c, "personality");
  return 0;
}

int tsr_op_scheduler(struct tsr_child *c, uint32_t i) {
  const struct tsr_plan *p = c->p;
  struct tsr_sched_attr a;
  memset(&a, 0, sizeof a);
  a.size = sizeof a;
  a.sched_policy = (uint32_t)tsr_op_slot(p, i, 1);
  a.sched_flags = tsr_op_slot(p, i, 2);
  a.sched_nice = (int32_t)tsr_op_slot(p, i, 3);
  a.sched_priority = (uint32_t)tsr_op_slot(p, i, 4);
  a.sched_runtime = tsr_op_slot(p, i, 5);
  a.sched_deadline = tsr_op_slot(p, i, 6);
  a.sched_period = tsr_op_slot(p, i, 7);
  if (syscall(SYS_sched_setattr, 0, &a, 0) < 0) return tsr_fail(c, "sched_setattr");
  return 0;
}

#define IOPRIO_WHO_PROCESS 1
int tsr_op_ioprio(struct tsr_child *c, uint64_t value) {
  if (syscall(SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, (int)value) < 0) return tsr_fail(c, "ioprio_set");
  return 0;
}

/* linux.timeOffsets: written to our own timens_offsets (fd opened early by child.c) right after
 * unshare(CLONE_NEWTIME), before any process enters the new time namespace (the first one to enter
 * freezes them): child.c forks the container's init into it just after. "monotonic <s> <ns>\n…". */
int tsr_write_time_offsets(int fd, const char *text) {
  size_t len = strlen(text);
  ssize_t n;
  do n = write(fd, text, len);
  while (n < 0 && errno == EINTR);
  int e = errno;
  close(fd);
  if (n >= 0 && (size_t)n != len) e = EIO;
  if (n < 0 || (size_t)n != len) {
    errno = e;
    return -1;
  }
  return 0;
}
