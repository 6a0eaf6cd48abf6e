/* probe — a tiny static program the confinement tests run inside containers. Each argument is one
 * question; each answer is one line "<question>: ok" or "<question>: <ERRNO name>", so runc's and
 * tsrunc's runs compare line by line. Built by the tests with `cc -static`. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
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

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
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
