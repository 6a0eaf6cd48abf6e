/* probe — a tiny static program the confinement tests run inside containers. Each argument is one
 * question; each answer is one line "<question>: ok" or "<question>: <ERRNO name>", so runc's and
 * tsrunc's runs compare line by line. Built by the tests with `cc -static`.
 * `probe --fill-seccomp -- CMD ARGS...` (on the host) sets no_new_privs, stacks allow-all seccomp
 * filters until the kernel's per-process budget is used up, then execs CMD: any filter CMD or its
 * children load later is refused by the kernel (ENOMEM). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e) {
  switch (e) {
  case EPERM: return "EPERM";
  case ENOENT: return "ENOENT";
  case EACCES: return "EACCES";
  case EEXIST: return "EEXIST";
  case EINVAL: return "EINVAL";
  case ENOSYS: return "ENOSYS";
  case EDOM: return "EDOM";
  case ENOTDIR: return "ENOTDIR";
  case ETXTBSY: return "ETXTBSY";
  case EROFS: return "EROFS";
  case ELOOP: return "ELOOP";
  case EBADF: return "EBADF";
  case EXDEV: return "EXDEV";
  default: {
    static char b[32];
    snprintf(b, sizeof b, "errno%d", e);
    return b;
  }
  }
}

static void answer(const char *q, long r) {
  printf("%s: %s\n", q, r < 0 ? ename(errno) : "ok");
}

/* Stacks allow-all filters until the kernel's budget for one process (MAX_INSNS_PER_PATH: every
 * filter's instructions after its translation, plus 4 each) refuses even a 2-instruction one. */
#define FILTER_MAX 4096

static int fill_seccomp(char **cmd) {
  static struct sock_filter prog[FILTER_MAX];
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return perror("prctl"), 1;
  for (long len = FILTER_MAX; len >= 2;) {
    for (long k = 0; k < len - 1; k++) prog[k] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0);
    prog[len - 1] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    struct sock_fprog fp = {.len = (unsigned short)len, .filter = prog};
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fp) == 0) continue;
    if (errno != ENOMEM) return perror("seccomp"), 1;
    len /= 2;
  }
  execvp(cmd[0], cmd);
  perror(cmd[0]);
  return 127;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc > 3 && !strcmp(argv[1], "--fill-seccomp") && !strcmp(argv[2], "--")) return fill_seccomp(argv + 3);
  for (int i = 1; i < argc; i++) {
    const char *q = argv[i];
    errno = 0;
    if (!strcmp(q, "keyctl")) answer(q, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3 /* session */, 0));
    else if (!strcmp(q, "unshare-user")) answer(q, unshare(CLONE_NEWUSER));
    else if (!strcmp(q, "unshare-ns")) answer(q, unshare(CLONE_NEWNS));
    else if (!strcmp(q, "mount-tmpfs")) answer(q, mount("none", "/mnt", "tmpfs", 0, NULL));
    else if (!strncmp(q, "mkdir=", 6)) answer(q, mkdir(q + 6, 0755));
    else if (!strncmp(q, "personality=", 12)) answer(q, personality(strtoul(q + 12, NULL, 0)));
    else if (!strncmp(q, "open-write=", 11)) answer(q, open(q + 11, O_WRONLY | O_CLOEXEC));
    else if (!strncmp(q, "open-read=", 10)) answer(q, open(q + 10, O_RDONLY | O_CLOEXEC));
    else if (!strcmp(q, "getpid")) answer(q, syscall(SYS_getpid));
    /* Opens every entry of a directory (map_files: one link per mapped file): "ok" when any opens,
     * else the errno of the last refusal (ENOENT for an empty or unlistable directory). */
    else if (!strncmp(q, "open-entries=", 13)) {
      DIR *d = opendir(q + 13);
      long r = -1;
      int e = ENOENT;
      struct dirent *de;
      while (d != NULL && r < 0) {
        errno = 0;
        if ((de = readdir(d)) == NULL) {
          if (errno != 0) e = errno; /* listing refused */
          break;
        }
        if (de->d_name[0] == '.') continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) r = close(fd), r = 0;
        else e = errno;
      }
      if (d == NULL) e = errno;
      else closedir(d);
      errno = e;
      answer(q, r);
    }
    /* A raw system call by number with zero arguments: only whether seccomp lets it reach the kernel
     * (ENOSYS vs EPERM) matters, not what it does with them. */
    else if (!strncmp(q, "syscall=", 8)) answer(q, syscall(strtol(q + 8, NULL, 0), 0, 0, 0, 0, 0, 0));
    else if (!strcmp(q, "get-persona")) printf("%s: 0x%lx\n", q, (unsigned long)personality(0xffffffff));
    else if (!strcmp(q, "get-ioprio")) printf("%s: 0x%lx\n", q, syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, 0));
    else if (!strcmp(q, "monotonic") || !strcmp(q, "boottime")) {
      struct timespec ts;
      clock_gettime(!strcmp(q, "monotonic") ? CLOCK_MONOTONIC : CLOCK_BOOTTIME, &ts);
      printf("%s: %lld\n", q, (long long)ts.tv_sec);
    }
    else if (!strcmp(q, "get-sched")) printf("%s: policy %ld\n", q, syscall(SYS_sched_getscheduler, 0));
    else {
      printf("%s: unknown question\n", q);
      return 2;
    }
  }
  return 0;
}
