/* idmap.c — parent side of idmapped mounts (the child's half is in mounts.c). The child clones the
 * source into a detached tree in its own mount namespace and sends it here: only a caller privileged
 * over the filesystem's user namespace (the host's) may set MOUNT_ATTR_IDMAP, and in its own user
 * namespace the child is not. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif

/* Idmaps the detached tree `tree` through the maps of `userns_fd`, with the MOUNT_ATTR_* bits of
 * attr_set/attr_clr: 0 or -errno. */
TSR_API int tsrunc_idmap_tree(int tree, int userns_fd, int recursive, uint64_t attr_set, uint64_t attr_clr) {
  struct mount_attr attr = {.attr_set = attr_set | MOUNT_ATTR_IDMAP, .attr_clr = attr_clr, .userns_fd = (uint64_t)userns_fd};
  if (syscall(SYS_mount_setattr, tree, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0) return -errno;
  return 0;
}
