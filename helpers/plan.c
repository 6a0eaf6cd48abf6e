/* plan.c — parent side: check every offset of an encoded plan and prepare all the memory the child
 * will need (the child may not malloc: it is a fork of a multi-threaded process). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plan.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif
#define NS_FLAGS (CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | \
                  CLONE_NEWNET | CLONE_NEWTIME)
#define MAX_VEC (1u << 20)
#define MAX_GROUPS 65536u

/* What each argument slot of each op kind holds. */
enum { N = 0, S, OS, SV, UV, BP };
static const uint8_t slot_types[OP_KIND_END][TSR_OP_SLOTS] = {
    [OP_PREPARE_ROOT] = {0, S, N},
    [OP_MOUNT] = {0, S, S, S, S, N, N, N, N, N, N, OS},
    [OP_DEVICE] = {0, S, N, S, N, N, N, N, N},
    [OP_SYMLINK] = {0, S, S},
    [OP_MASK] = {0, S},
    [OP_READONLY] = {0, S},
    [OP_SETHOSTNAME] = {0, S},
    [OP_SETDOMAINNAME] = {0, S},
    [OP_SETGROUPS] = {0, UV},
    [OP_CHDIR] = {0, S},
    [OP_RESOLVE_EXEC] = {0, S, S},
    [OP_EXEC] = {0, SV, SV},
    [OP_MKDIR] = {0, S, N},
    [OP_SECCOMP] = {0, BP, N, N},
    [OP_WRITE_FILE] = {0, S, S},
    [OP_IDMAP_MOUNT] = {0, S, S, N, N},
};

static int check_str(const struct tsr_plan *p, uint64_t slot, int nullable, size_t max) {
  if (slot == 0) return nullable;
  uint64_t off = (uint32_t)slot, n = slot >> 32;
  const char *b = (const char *)p->slots;
  if (off < TSR_HEADER_SLOTS * 8 || n >= max || off + n + 1 > p->len) return 0;
  return b[off + n] == '\0' && memchr(b + off, '\0', n) == NULL;
}

static int check_vec(const struct tsr_plan *p, uint64_t slot, size_t elem) {
  uint64_t off = (uint32_t)slot, n = slot >> 32;
  if (off < TSR_HEADER_SLOTS * 8 || off % elem || n > MAX_VEC || off + n * elem > p->len) return 0;
  if (elem != 8) return n <= MAX_GROUPS;
  for (uint64_t k = 0; k < n; k++)
    if (!check_str(p, p->slots[off / 8 + k], 0, p->len)) return 0;
  return 1;
}

static char **make_vec(const struct tsr_plan *p, uint64_t slot) {
  uint64_t off = (uint32_t)slot, n = slot >> 32;
  char **v = calloc(n + 1, sizeof *v);
  if (!v) return NULL;
  for (uint64_t k = 0; k < n; k++) v[k] = (char *)tsr_str(p, p->slots[off / 8 + k]);
  return v;
}

/* Checks one op's arguments; 0 when bad. */
static int check_op(struct tsr_plan *p, uint32_t i, int *seen_resolve, int *seen_exec, int *seen_wait) {
  uint64_t kind = tsr_op_slot(p, i, 0);
  if (kind == 0 || kind >= OP_KIND_END) return 0;
  for (int s = 1; s < TSR_OP_SLOTS; s++) {
    uint64_t v = tsr_op_slot(p, i, s);
    switch (slot_types[kind][s]) {
    case S: if (!check_str(p, v, 0, PATH_MAX)) return 0; break;
    case OS: if (!check_str(p, v, 1, PATH_MAX)) return 0; break;
    case SV: if (!check_vec(p, v, 8)) return 0; break;
    case UV: if (!check_vec(p, v, 4)) return 0; break;
    case BP: /* struct sock_filter[count], 8 bytes each; the kernel caps a program at BPF_MAXINSNS */
      if ((v >> 32) == 0 || (v >> 32) > TSR_BPF_MAXINSNS || (uint32_t)v < TSR_HEADER_SLOTS * 8 || (uint32_t)v % 8 ||
          (uint32_t)v + (v >> 32) * 8 > p->len)
        return 0;
      break;
    default: break;
    }
  }
  switch (kind) {
  case OP_RESOLVE_EXEC: *seen_resolve = 1; break;
  case OP_WAIT_START: /* needs a start socket path; closes the sync socket */
    if (p->listenfd == -2 || *seen_wait) return 0;
    *seen_wait = 1;
    break;
  case OP_SYNC: if (*seen_wait) return 0; break;
  case OP_IDMAP_MOUNT: if (*seen_wait) return 0; break; /* the tree travels over the sync socket */
  case OP_SECCOMP: /* a listener fd goes over the sync socket, which wait-start closes */
    if (tsr_op_slot(p, i, 3) > TSR_SECCOMP_DEFER) return 0;
    if ((tsr_op_slot(p, i, 2) & TSR_SECCOMP_NEW_LISTENER) &&
        (*seen_wait || tsr_op_slot(p, i, 3) != TSR_SECCOMP_NOW))
      return 0;
    break;
  case OP_EXEC:
    if (!*seen_resolve || *seen_exec || (tsr_op_slot(p, i, 1) >> 32) == 0) return 0;
    *seen_exec = 1;
    if (!(p->argv = make_vec(p, tsr_op_slot(p, i, 1))) || !(p->envp = make_vec(p, tsr_op_slot(p, i, 2)))) return -1;
    break;
  default: break;
  }
  return 1;
}

static int read_cap_last(void) {
  char b[16] = {0};
  int fd = open("/proc/sys/kernel/cap_last_cap", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 63;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  int v = n > 0 ? atoi(b) : 63;
  return v > 0 && v < 64 ? v : 63;
}

/* Not in the initial user namespace already (tsrunc itself in a container)? */
static int parent_in_userns(void) {
  char b[128] = {0};
  int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 1;
  ssize_t n = read(fd, b, sizeof b - 1);
  close(fd);
  unsigned long a = 1, c = 0, len = 0;
  char *e;
  if (n <= 0) return 1;
  a = strtoul(b, &e, 10);
  c = strtoul(e, &e, 10);
  len = strtoul(e, &e, 10);
  return !(a == 0 && c == 0 && len == 4294967295ul);
}

/* Validates `buf` and fills `p` (which owns a copy). Returns 0 or -errno; *bad_index is the first bad
 * op (-1 for the header). The fds in p are left for spawn.c to fill. */
int tsr_plan_load(struct tsr_plan *p, const uint8_t *buf, size_t len, int32_t *bad_index) {
  memset(p, 0, sizeof *p);
  p->syncfd = p->listenfd = -1;
  *bad_index = -1;
  if (len < TSR_HEADER_SLOTS * 8 || len % 8 || len > (1u << 30)) return -EINVAL;
  uint64_t *copy = malloc(len);
  if (!copy) return -ENOMEM;
  memcpy(copy, buf, len);
  p->slots = copy;
  p->len = len;
  const uint64_t *h = copy;
  if (h[H_MAGIC] != ((uint64_t)TSR_VERSION << 32 | TSR_MAGIC) || h[H_LENGTH] != len) return -EINVAL;
  if ((h[H_NEWNS] & ~(uint64_t)NS_FLAGS) || h[H_PRESERVE] > 65536 || h[H_NJOIN] > TSR_MAX_JOINS ||
      h[H_NOPS] > TSR_MAX_OPS || h[H_FLAGS] > TSR_FLAG_CTTY)
    return -EINVAL;
  p->newns = (uint32_t)h[H_NEWNS];
  p->preserve = (uint32_t)h[H_PRESERVE];
  p->njoin = (uint32_t)h[H_NJOIN];
  p->nops = (uint32_t)h[H_NOPS];
  p->flags = (uint32_t)h[H_FLAGS];
  size_t tables = TSR_HEADER_SLOTS + (size_t)p->njoin * TSR_JOIN_SLOTS + (size_t)p->nops * TSR_OP_SLOTS;
  if (tables * 8 > len) return -EINVAL;
  p->joins = copy + TSR_HEADER_SLOTS;
  p->ops = p->joins + (size_t)p->njoin * TSR_JOIN_SLOTS;
  for (int k = 0; k < 3; k++) {
    int64_t fd = (int64_t)h[H_STDIN + k];
    if (fd < -1 || fd > INT_MAX) return -EINVAL;
    p->stdio[k] = (int)fd;
  }
  if (!check_str(p, h[H_START_PATH], 1, 108)) return -EINVAL; /* sizeof sun_path */
  if (!check_str(p, h[H_TIMENS], 1, 256)) return -EINVAL;
  p->timens_offsets = h[H_TIMENS] && (h[H_TIMENS] >> 32) ? tsr_str(p, h[H_TIMENS]) : NULL;
  if (p->timens_offsets && !(p->newns & CLONE_NEWTIME)) return -EINVAL; /* offsets need a new time namespace */
  if (h[H_START_PATH] == 0 || (h[H_START_PATH] >> 32) == 0) p->listenfd = -2; /* none */
  int user_joined = 0;
  for (uint32_t j = 0; j < p->njoin; j++) {
    uint64_t flag = p->joins[j * 2], fd = p->joins[j * 2 + 1];
    if (!flag || (flag & (flag - 1)) || (flag & ~(uint64_t)NS_FLAGS) || (flag & p->newns) || fd > INT_MAX)
      return -EINVAL; /* one namespace per entry, and not both joined and new */
    if (flag == CLONE_NEWUSER) user_joined = 1;
    p->joinfd[j] = (int)fd;
  }
  int seen_resolve = 0, seen_exec = 0, seen_wait = 0;
  for (uint32_t i = 0; i < p->nops; i++) {
    int r = check_op(p, i, &seen_resolve, &seen_exec, &seen_wait);
    if (r < 0) return -ENOMEM;
    if (!r) { *bad_index = (int32_t)i; return -EINVAL; }
  }
  if (seen_resolve && !(p->exec_path = calloc(1, PATH_MAX))) return -ENOMEM;
  p->cap_last = read_cap_last();
  p->in_userns = (p->newns & CLONE_NEWUSER) || user_joined || parent_in_userns();
  return 0;
}

void tsr_plan_free(struct tsr_plan *p) {
  free((void *)p->slots);
  free(p->argv);
  free(p->envp);
  free(p->exec_path);
  p->slots = NULL;
  p->argv = p->envp = NULL;
  p->exec_path = NULL;
}
