/* system.c — small ops on the child's own namespaces: the network loopback and the OOM score.
 * Runs in the child: raw syscalls only. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"

/* A new network namespace starts with "lo" down; runc brings it up so localhost works. */
int tsr_op_loopback_up(struct tsr_child *c) {
  struct ifreq ifr;
  int r = 0, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return tsr_fail(c, "socket");
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, "lo", 3);
  if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) r = tsr_fail(c, "SIOCGIFFLAGS");
  else if (!(ifr.ifr_flags & IFF_UP)) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) r = tsr_fail(c, "SIOCSIFFLAGS");
  }
  close(fd);
  return r;
}

/* Raising the score needs no privilege; lowering it below the lowest value set needs CAP_SYS_RESOURCE. */
int tsr_op_oom_score_adj(struct tsr_child *c, int64_t value) {
  char b[24], d[24];
  int n = 0, o = 0;
  uint64_t v = value < 0 ? (uint64_t)(-value) : (uint64_t)value;
  do d[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  if (value < 0) b[o++] = '-';
  while (n) b[o++] = d[--n];
  b[o++] = '\n';
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return tsr_fail(c, "open");
  int r = write(fd, b, (size_t)o) != o ? tsr_fail(c, "write") : 0;
  close(fd);
  return r;
}
