/* bpf.c — the device cgroup filter on cgroup v2: cgroup v2 has no devices.allow file, so the rules are
 * an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) attached to the container's cgroup. The program itself
 * is compiled by the TypeScript side (src/linux/cgroups/device-filter.ts); this only loads and attaches
 * it. Parent side only, never in the child. */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

static long sys_bpf(int cmd, union bpf_attr *attr) {
  return syscall(SYS_bpf, cmd, attr, sizeof *attr);
}

/* Loads `insns` (n_insns struct bpf_insn) as a device filter and attaches it to the cgroup directory
 * `cgroup_dir` with BPF_F_ALLOW_MULTI, so that programs of the ancestors (systemd's) still apply: every
 * attached program must allow an access. When `replace_old` is set, the programs attached there before
 * are detached after the new one is in (`update`: the cgroup is never left without a filter). The
 * verifier's log goes to `log` (NUL-terminated) on a failed load. 0 or -errno. */
TSR_API int tsrunc_bpf_device_filter(const char *cgroup_dir, const uint8_t *insns, size_t n_insns, int replace_old, char *log, size_t log_len) {
  if (log_len > 0) log[0] = '\0';
  int cg = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return -errno;

  uint32_t old[64];
  uint32_t n_old = 0;
  if (replace_old) {
    union bpf_attr q;
    memset(&q, 0, sizeof q);
    q.query.target_fd = (uint32_t)cg;
    q.query.attach_type = BPF_CGROUP_DEVICE;
    q.query.prog_ids = (uint64_t)(uintptr_t)old;
    q.query.prog_cnt = 64;
    if (sys_bpf(BPF_PROG_QUERY, &q) < 0) {
      int e = errno;
      close(cg);
      return -e;
    }
    n_old = q.query.prog_cnt;
  }

  static const char license[] = "Apache";
  union bpf_attr a;
  memset(&a, 0, sizeof a);
  a.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  a.expected_attach_type = BPF_CGROUP_DEVICE;
  a.insns = (uint64_t)(uintptr_t)insns;
  a.insn_cnt = (uint32_t)n_insns;
  a.license = (uint64_t)(uintptr_t)license;
  if (log_len > 1) {
    a.log_level = 1;
    a.log_buf = (uint64_t)(uintptr_t)log;
    a.log_size = (uint32_t)log_len;
  }
  strncpy(a.prog_name, "tsrunc_devices", sizeof a.prog_name - 1);
  int prog = (int)sys_bpf(BPF_PROG_LOAD, &a);
  if (prog < 0 && errno == ENOSPC && log_len > 1) {
    /* the log did not fit: load again without it, the error is what matters */
    a.log_level = 0;
    a.log_buf = 0;
    a.log_size = 0;
    log[0] = '\0';
    prog = (int)sys_bpf(BPF_PROG_LOAD, &a);
  }
  if (prog < 0) {
    int e = errno;
    close(cg);
    return -e;
  }

  memset(&a, 0, sizeof a);
  a.target_fd = (uint32_t)cg;
  a.attach_bpf_fd = (uint32_t)prog;
  a.attach_type = BPF_CGROUP_DEVICE;
  a.attach_flags = BPF_F_ALLOW_MULTI;
  int rc = 0;
  if (sys_bpf(BPF_PROG_ATTACH, &a) < 0) rc = -errno;
  close(prog); /* the attachment holds its own reference */

  for (uint32_t k = 0; rc == 0 && k < n_old; k++) {
    union bpf_attr g;
    memset(&g, 0, sizeof g);
    g.prog_id = old[k];
    int fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &g);
    if (fd < 0) continue; /* gone already */
    memset(&a, 0, sizeof a);
    a.target_fd = (uint32_t)cg;
    a.attach_bpf_fd = (uint32_t)fd;
    a.attach_type = BPF_CGROUP_DEVICE;
    if (sys_bpf(BPF_PROG_DETACH, &a) < 0 && errno != ENOENT) rc = -errno;
    close(fd);
  }
  close(cg);
  return rc;
}
