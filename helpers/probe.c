// Cheap probes of the kernel features tsrunc relies on, for `tsrunc doctor` (parent side only: this
// file never runs in a container child). Each probe makes the syscall in a way that has no lasting
// effect and tells "present" from ENOSYS; the user-namespace probe really creates one.
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/openat2.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#define EXPORT __attribute__((visibility("default")))

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_clone3
#define SYS_clone3 435
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif

static int result(long r) {
  return r < 0 ? -errno : 0;
}

static int probe_fd(long fd) {
  if (fd < 0) return -errno;
  close((int)fd);
  return 0;
}

/*
 * A child in a new user namespace that exits at once. clone (not unshare) because the caller is a
 * multi-threaded Node process, which unshare(CLONE_NEWUSER) refuses; the child only calls _exit.
 */
static int probe_userns(void) {
  long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0UL, 0UL, 0UL, 0UL);
  if (pid < 0) return -errno;
  if (pid == 0) syscall(SYS_exit_group, 0);
  int status = 0;
  while (waitpid((pid_t)pid, &status, 0) < 0) {
    if (errno != EINTR) return -errno;
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -ECHILD;
}

/**
 * 0 when the feature `what` works, -errno otherwise (-ENOSYS: the kernel lacks it; -EDOM: unknown
 * probe name). Names: userns, pidfd_open, clone3, close_range, openat2, mount_setattr.
 */
EXPORT int tsrunc_probe(const char *what) {
  if (strcmp(what, "userns") == 0) return probe_userns();
  if (strcmp(what, "pidfd_open") == 0) return probe_fd(syscall(SYS_pidfd_open, getpid(), 0));
  if (strcmp(what, "clone3") == 0) {
    // A NULL argument of size 0 is refused with EINVAL by a kernel that has clone3, ENOSYS otherwise.
    long r = syscall(SYS_clone3, NULL, 0UL);
    return r < 0 && errno == EINVAL ? 0 : result(r);
  }
  if (strcmp(what, "close_range") == 0) {
    // The range [~0U, ~0U] holds no open fd: nothing is closed.
    return result(syscall(SYS_close_range, ~0U, ~0U, 0U));
  }
  if (strcmp(what, "openat2") == 0) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    return probe_fd(syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof how));
  }
  if (strcmp(what, "mount_setattr") == 0) {
    // EBADF for the bad fd proves the syscall exists (idmapped mounts came with it, in 5.12).
    long r = syscall(SYS_mount_setattr, -1, "", 0U, NULL, 0UL);
    return r < 0 && (errno == EBADF || errno == EINVAL) ? 0 : result(r);
  }
  return -EDOM;
}

/**
 * The permitted set (low 32 bits) of the file capabilities of `path` (its security.capability
 * xattr) into *permitted: 0, -ENODATA when it has none, -errno otherwise.
 */
EXPORT int tsrunc_file_caps(const char *path, uint32_t *permitted) {
  struct vfs_ns_cap_data data;
  memset(&data, 0, sizeof data);
  ssize_t n = getxattr(path, "security.capability", &data, sizeof data);
  if (n < 0) return -errno;
  if ((size_t)n < sizeof(uint32_t) * 3) return -EINVAL;
  *permitted = data.data[0].permitted;
  return 0;
}
