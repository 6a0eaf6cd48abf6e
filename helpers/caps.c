/* caps.c — credentials, capabilities and resource limits of the container process. Runs in the child.
 * glibc's setgroups/setresuid/setresgid broadcast the change to every thread with a signal (SIGSETXID);
 * the child is a fork of a multi-threaded process whose other threads are gone, so that broadcast would
 * wait forever: every credential change here is the raw syscall. */
#include <errno.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

/* The bounding set can only shrink, one capability per call; the kernel's last cap is read by the parent
 * (a newer kernel than our headers may know more caps, and all of them must go). */
int tsr_op_cap_bounding(struct tsr_child *c, uint64_t keep) {
  for (int cap = 0; cap <= c->p->cap_last; cap++) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) return tsr_fail(c, "capbset_drop");
  }
  return 0;
}

/* Version 3 header: two 32-bit words per set (version 1 only knows caps 0..31). */
int tsr_op_capset(struct tsr_child *c, uint64_t eff, uint64_t perm, uint64_t inh) {
  struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[2] = {
      {.effective = (uint32_t)eff, .permitted = (uint32_t)perm, .inheritable = (uint32_t)inh},
      {.effective = (uint32_t)(eff >> 32), .permitted = (uint32_t)(perm >> 32), .inheritable = (uint32_t)(inh >> 32)},
  };
  if (syscall(SYS_capset, &hdr, data) < 0) return tsr_fail(c, "capset");
  return 0;
}

/* Ambient caps survive execve of a non-setuid binary; each must already be permitted and inheritable. */
int tsr_op_ambient(struct tsr_child *c, uint64_t raise) {
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return tsr_fail(c, "ambient_clear");
  for (int cap = 0; cap <= c->p->cap_last; cap++) /* one the kernel lacks would be EINVAL: runc skips it */
    if ((raise & (1ull << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      return tsr_fail(c, "ambient_raise");
  return 0;
}

int tsr_op_setgroups(struct tsr_child *c, uint64_t slot) {
  const gid_t *gids = (const gid_t *)((const char *)c->p->slots + (uint32_t)slot);
  if (syscall(SYS_setgroups, (size_t)(slot >> 32), gids) < 0) return tsr_fail(c, "setgroups");
  return 0;
}

int tsr_op_rlimit(struct tsr_child *c, uint32_t resource, uint64_t soft, uint64_t hard) {
  struct rlimit rl = {.rlim_cur = soft, .rlim_max = hard};
  if (syscall(SYS_prlimit64, 0, resource, &rl, NULL) < 0) return tsr_fail(c, "setrlimit");
  return 0;
}
