/* mounts.c — the filesystem ops: build the container's mounts inside the rootfs, then pivot into it.
 * Every target is resolved with tsr_resolve (inside the root) and mounted through /proc/self/fd/<fd>,
 * so a symlink swapped in after the check cannot redirect the mount (no TOCTOU). Runs in the child. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h> /* ST_* */
#include <sys/vfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "plan.h"

#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#define ATIME_FLAGS (MS_NOATIME | MS_RELATIME | MS_STRICTATIME)

/* In a user namespace the kernel locks the nosuid/nodev/noexec/atime/rdonly flags a mount inherited
 * from a more privileged namespace: a remount that omits them fails with EPERM. Read them back with
 * statfs and keep them (runc does the same). An explicit atime request is left to the kernel to judge. */
static int remount(struct tsr_child *c, const char *path, int fd, unsigned long flags, const char *data) {
  if (c->p->in_userns) {
    struct statfs st; /* not fstatvfs: older glibc parses /proc/mounts (malloc) for the flags */
    if (fstatfs(fd, &st) < 0) return tsr_fail(c, "statfs");
    unsigned long locked = 0;
    if (st.f_flags & ST_RDONLY) locked |= MS_RDONLY;
    if (st.f_flags & ST_NOSUID) locked |= MS_NOSUID;
    if (st.f_flags & ST_NODEV) locked |= MS_NODEV;
    if (st.f_flags & ST_NOEXEC) locked |= MS_NOEXEC;
    if (!(flags & ATIME_FLAGS)) {
      if (st.f_flags & ST_NOATIME) locked |= MS_NOATIME;
      if (st.f_flags & ST_NODIRATIME) locked |= MS_NODIRATIME;
      if (st.f_flags & ST_RELATIME) locked |= MS_RELATIME;
    }
    flags |= locked;
  }
  if (mount(NULL, path, NULL, flags, data) < 0) return tsr_fail(c, "remount");
  return 0;
}

/* A fresh fd for `target` after something was mounted on it: the fd used for the mount still points
 * at the covered directory, not at the new mount. */
static int reopen(struct tsr_child *c, const char *target, int *fd, char *path, size_t size) {
  int r = tsr_resolve(c, target, -1, fd);
  if (r == 0) tsr_fd_path(path, size, *fd);
  return r;
}

int tsr_op_prepare_root(struct tsr_child *c, uint32_t i) {
  const char *rootfs = tsr_str(c->p, tsr_op_slot(c->p, i, 1));
  unsigned long prop = (unsigned long)tsr_op_slot(c->p, i, 2);
  /* pivot_root refuses a shared old root, and mounts made below must not leak to the host. */
  if (prop && mount(NULL, "/", NULL, prop, NULL) < 0) return tsr_fail(c, "propagation");
  /* pivot_root needs the new root to be a mount point. */
  if (mount(rootfs, rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) return tsr_fail(c, "mount");
  int fd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tsr_fail(c, "open");
  if (c->rootfd >= 0) close(c->rootfd);
  c->rootfd = fd;
  c->rootfs = rootfs;
  return 0;
}

/* proc and sysfs only on an ordinary directory, never over a symlink or a file (runc's rule since
 * CVE-2019-19921: a symlinked /proc lets the rootfs steer where the kernel's files appear, and where
 * later masks and writes land). 0, or ENOTDIR with step "not a plain dir". */
static int check_plain_dir(struct tsr_child *c, const char *target) {
  struct stat st;
  const char *base;
  int dirfd, r = tsr_resolve_parent(c, target, &dirfd, &base);
  if (r) return r;
  if (fstatat(dirfd, base, &st, AT_SYMLINK_NOFOLLOW) < 0) r = errno == ENOENT ? 0 : tsr_fail(c, "stat");
  else if (!S_ISDIR(st.st_mode)) { errno = ENOTDIR; r = tsr_fail(c, "not a plain dir"); }
  close(dirfd);
  return r;
}

static int mount_at(struct tsr_child *c, const char *src, const char *target, const char *fstype, const char *data,
                    int create, unsigned long flags, const char *fallback, int *bound_out, uint64_t *rflags);

/* The directory a tmpfs is about to cover, opened for reading (it stays reachable through the fd once
 * covered), or -1 when there is none yet. */
static int open_covered(struct tsr_child *c, const char *target, int *dir, struct stat *st) {
  int fd, r = tsr_resolve(c, target, -1, &fd);
  *dir = -1;
  if (r == ENOENT || r == ENOTDIR) return 0;
  if (r) return r;
  *dir = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  close(fd);
  if (*dir < 0) return errno == ENOTDIR ? (*dir = -1, 0) : tsr_fail(c, "open");
  if (fstat(*dir, st) < 0) {
    r = tsr_fail(c, "stat");
    close(*dir);
    *dir = -1;
  }
  return r;
}

/* "mode=" among a tmpfs's comma-separated options. */
static int has_mode_option(const char *data) {
  for (const char *o = data; o; o = strchr(o, ',')) {
    if (*o == ',') o++;
    if (!strncmp(o, "mode=", 5)) return 1;
  }
  return 0;
}

/* A new tmpfs over an existing directory gets that directory's mode unless "mode=" says otherwise (runc
 * chmods it back), and with tmpcopyup its tree. Done before any read-only remount (build-plan.ts mounts a
 * read-only tmpfs read-write first). */
static int fill_tmpfs(struct tsr_child *c, const char *target, const char *data, int covered, const struct stat *st,
                      int copyup) {
  char path[32];
  int fd, r = reopen(c, target, &fd, path, sizeof path);
  if (r) return r;
  if (!has_mode_option(data) && chmod(path, st->st_mode & 07777) < 0) r = tsr_fail(c, "chmod");
  if (!r && copyup) {
    int to = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (to < 0) r = tsr_fail(c, "open");
    else {
      r = tsr_copy_tree(c, covered, to);
      close(to);
    }
  }
  close(fd);
  return r;
}

int tsr_op_mount(struct tsr_child *c, uint32_t i) {
  const struct tsr_plan *p = c->p;
  const char *src = tsr_str(p, tsr_op_slot(p, i, 1)), *target = tsr_str(p, tsr_op_slot(p, i, 2));
  const char *fstype = tsr_str(p, tsr_op_slot(p, i, 3)), *data = tsr_str(p, tsr_op_slot(p, i, 4));
  int create = (int)(tsr_op_slot(p, i, 5) & 1), copyup = (tsr_op_slot(p, i, 5) & TSR_MOUNT_COPYUP) != 0;
  unsigned long flags = (unsigned long)tsr_op_slot(p, i, 6);
  uint64_t rflags = tsr_op_slot(p, i, 7);
  unsigned long prop = (unsigned long)tsr_op_slot(p, i, 8);
  uint64_t aset = tsr_op_slot(p, i, 9), aclr = tsr_op_slot(p, i, 10);
  const char *fallback = tsr_str(p, tsr_op_slot(p, i, 11));
  char path[32];
  int fd, r, bound = (flags & MS_BIND) != 0, covered = -1;
  struct stat cst;

  if (!bound && (!strcmp(fstype, "proc") || !strcmp(fstype, "sysfs")) && (r = check_plain_dir(c, target))) return r;
  if (!bound && !strcmp(fstype, "tmpfs") && (r = open_covered(c, target, &covered, &cst))) return r;
  r = mount_at(c, src, target, fstype, data, create, flags, fallback, &bound, &rflags);
  if (!r && covered >= 0) r = fill_tmpfs(c, target, data, covered, &cst, copyup);
  if (covered >= 0) close(covered);
  if (r) return r;
  if (rflags == TSR_NULL_FLAGS && !prop && !aset && !aclr) return 0;

  if ((r = reopen(c, target, &fd, path, sizeof path))) return r;
  if (rflags != TSR_NULL_FLAGS)
    r = bound ? remount(c, path, fd, MS_BIND | MS_REMOUNT | (unsigned long)rflags, NULL)
              : remount(c, path, fd, MS_REMOUNT | (unsigned long)rflags, data[0] ? data : NULL);
  if (!r && prop && mount(NULL, path, NULL, prop, NULL) < 0) r = tsr_fail(c, "propagation");
  if (!r && (aset || aclr)) {
    struct mount_attr attr = {.attr_set = aset, .attr_clr = aclr};
    if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      r = tsr_fail(c, "mount_setattr");
  }
  close(fd);
  return r;
}

/* The mount itself (the target created when missing); *bound and *rflags change when the fallback
 * bind replaces a refused mount. */
static int mount_at(struct tsr_child *c, const char *src, const char *target, const char *fstype, const char *data,
                    int create, unsigned long flags, const char *fallback, int *bound_out, uint64_t *rflags) {
  char path[32];
  int fd, r, bound = *bound_out;
  if ((r = tsr_resolve(c, target, create ? 1 : 0, &fd))) return r;
  tsr_fd_path(path, sizeof path, fd);
  if (bound) {
    /* MS_BIND ignores every flag but MS_REC: the others need the remount tsr_op_mount does after. */
    r = mount(src, path, fstype[0] ? fstype : NULL, flags & (MS_BIND | MS_REC), NULL) < 0 ? tsr_fail(c, "mount") : 0;
  } else if (mount(src, path, fstype, flags, data[0] ? data : NULL) < 0) {
    /* sysfs without a network namespace, cgroup2 without a cgroup namespace: the kernel says EPERM
     * in a user namespace; an rbind of the host's copy is what runc falls back to. EBUSY: the target
     * already is a mount of the same superblock (cgroup2 under an rbind of /sys), as runc also handles. */
    if ((errno == EPERM || errno == EBUSY) && fallback) {
      r = mount(fallback, path, NULL, MS_BIND | MS_REC, NULL) < 0 ? tsr_fail(c, "mount") : 0;
      *bound_out = 1;
      *rflags = flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | ATIME_FLAGS | MS_NODIRATIME);
    } else {
      r = tsr_fail(c, "mount");
    }
  }
  close(fd);
  return r;
}

#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#endif
#ifndef MOVE_MOUNT_T_EMPTY_PATH
#define MOVE_MOUNT_T_EMPTY_PATH 0x00000040
#endif

/* An idmapped bind. Two kernel rules shape it: only a detached mount may get an idmap, set by a caller
 * privileged over the filesystem's user namespace (the host's: the parent, not us), and a detached
 * tree may only be attached in the mount namespace it was cloned in (ours, since 6.15). So: clone the
 * source here, hand the tree to the parent to idmap (idmap.c), then attach it. */
int tsr_op_idmap_mount(struct tsr_child *c, uint32_t i) {
  const struct tsr_plan *p = c->p;
  const char *src = tsr_str(p, tsr_op_slot(p, i, 1)), *target = tsr_str(p, tsr_op_slot(p, i, 2));
  int create = (int)tsr_op_slot(p, i, 3);
  unsigned rec = tsr_op_slot(p, i, 4) ? AT_RECURSIVE : 0;
  int tree = (int)syscall(SYS_open_tree, AT_FDCWD, src, OPEN_TREE_CLONE | O_CLOEXEC | rec);
  if (tree < 0) return tsr_fail(c, "open_tree");
  int fd, r = tsr_hand_fd(c->syncfd, MSG_IDMAP, (int32_t)i, tree);
  if (r < 0) _exit(1); /* the parent is gone */
  if (r > 0) {
    r = tsr_fail(c, "sendmsg");
    close(tree);
    return r;
  }
  r = tsr_resolve(c, target, create ? 1 : 0, &fd);
  if (r == 0) {
    /* Onto the resolved fd itself: move_mount does not follow a /proc/self/fd magic link. */
    if (syscall(SYS_move_mount, tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      r = tsr_fail(c, "move_mount");
    close(fd);
  }
  close(tree);
  return r;
}

/* In a user namespace mknod is refused (EPERM): devices are bind-mounted from the host instead. */
int tsr_op_device(struct tsr_child *c, uint32_t i) {
  const struct tsr_plan *p = c->p;
  const char *target = tsr_str(p, tsr_op_slot(p, i, 1)), *src = tsr_str(p, tsr_op_slot(p, i, 3));
  int fd, r;
  if (tsr_op_slot(p, i, 2) == 0) {
    char path[32];
    if ((r = tsr_resolve(c, target, 1, &fd))) return r;
    tsr_fd_path(path, sizeof path, fd);
    r = mount(src, path, NULL, MS_BIND, NULL) < 0 ? tsr_fail(c, "mount") : 0;
    close(fd);
    return r;
  }
  mode_t mode = (mode_t)tsr_op_slot(p, i, 4);
  dev_t dev = makedev((unsigned)tsr_op_slot(p, i, 5), (unsigned)tsr_op_slot(p, i, 6));
  const char *base;
  if ((r = tsr_resolve_parent(c, target, &fd, &base))) return r;
  if (unlinkat(fd, base, 0) < 0 && errno != ENOENT) r = tsr_fail(c, "unlink");
  else if (mknodat(fd, base, mode, dev) < 0) r = tsr_fail(c, "mknod");
  else if (fchownat(fd, base, (uid_t)tsr_op_slot(p, i, 7), (gid_t)tsr_op_slot(p, i, 8), AT_SYMLINK_NOFOLLOW) < 0)
    r = tsr_fail(c, "chown");
  else if (fchmodat(fd, base, mode & 07777, 0) < 0) r = tsr_fail(c, "chmod"); /* mknod's mode is umasked */
  close(fd);
  return r;
}

int tsr_op_symlink(struct tsr_child *c, uint32_t i) {
  const char *target = tsr_str(c->p, tsr_op_slot(c->p, i, 1)), *to = tsr_str(c->p, tsr_op_slot(c->p, i, 2));
  const char *base;
  int fd, r;
  if ((r = tsr_resolve_parent(c, target, &fd, &base))) return r;
  if (symlinkat(to, fd, base) < 0 && errno != EEXIST) r = tsr_fail(c, "symlink");
  close(fd);
  return r;
}

static int reset_root(struct tsr_child *c) {
  if (c->rootfd >= 0) close(c->rootfd);
  c->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return c->rootfd < 0 ? tsr_fail(c, "open") : 0;
}

/* runc's pivot_root(".", "."): no temporary directory inside the rootfs is needed. The old root is
 * made a slave before the lazy unmount so the unmount does not propagate back to the host. */
int tsr_op_pivot_root(struct tsr_child *c) {
  if (c->rootfd < 0 || !c->rootfs) { errno = EINVAL; return tsr_fail(c, "pivot_root"); }
  int old = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC), r = 0;
  if (old < 0) return tsr_fail(c, "open");
  if (fchdir(c->rootfd) < 0) r = tsr_fail(c, "fchdir");
  else if (syscall(SYS_pivot_root, ".", ".") < 0) r = tsr_fail(c, "pivot_root");
  else if (fchdir(old) < 0) r = tsr_fail(c, "fchdir");
  else if (mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0) r = tsr_fail(c, "propagation");
  else if (umount2(".", MNT_DETACH) < 0) r = tsr_fail(c, "umount");
  else if (chdir("/") < 0) r = tsr_fail(c, "chdir");
  close(old);
  return r ? r : reset_root(c);
}

/* --no-pivot (a ramfs root cannot be pivoted away from): move the rootfs over "/" and chroot. */
int tsr_op_chroot(struct tsr_child *c) {
  if (!c->rootfs) { errno = EINVAL; return tsr_fail(c, "chroot"); }
  if (chdir(c->rootfs) < 0) return tsr_fail(c, "chdir");
  if (mount(c->rootfs, "/", NULL, MS_MOVE, NULL) < 0) return tsr_fail(c, "mount");
  if (chroot(".") < 0) return tsr_fail(c, "chroot");
  if (chdir("/") < 0) return tsr_fail(c, "chdir");
  return reset_root(c);
}

/* maskedPaths: /dev/null over a file, an empty read-only tmpfs over a directory. */
int tsr_op_mask(struct tsr_child *c, const char *target) {
  struct stat st;
  char path[32];
  int fd, r = tsr_resolve(c, target, -1, &fd);
  if (r == ENOENT || r == ENOTDIR) return 0;
  if (r) return r;
  tsr_fd_path(path, sizeof path, fd);
  if (fstat(fd, &st) < 0) r = tsr_fail(c, "stat");
  else if (S_ISDIR(st.st_mode)) r = mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL) < 0 ? tsr_fail(c, "mount") : 0;
  else r = mount("/dev/null", path, NULL, MS_BIND, NULL) < 0 ? tsr_fail(c, "mount") : 0;
  close(fd);
  return r;
}

/* readonlyPaths: bind onto itself, then a read-only remount (keeping locked flags). */
int tsr_op_readonly(struct tsr_child *c, const char *target) {
  char path[32];
  int fd, r = tsr_resolve(c, target, -1, &fd);
  if (r == ENOENT || r == ENOTDIR) return 0;
  if (r) return r;
  tsr_fd_path(path, sizeof path, fd);
  r = mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0 ? tsr_fail(c, "mount") : 0;
  close(fd);
  if (r || (r = reopen(c, target, &fd, path, sizeof path))) return r;
  r = remount(c, path, fd, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
  close(fd);
  return r;
}

int tsr_op_readonly_root(struct tsr_child *c) {
  int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return tsr_fail(c, "open");
  int r = remount(c, "/", fd, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL);
  close(fd);
  return r;
}
