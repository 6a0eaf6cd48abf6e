/* copyup.c — runc's "tmpcopyup": the tree of the directory a new tmpfs covers is copied into the tmpfs
 * (contents, modes, owners, times; symlinks, fifos, sockets and device nodes as they are). Hard links
 * become separate copies and extended attributes are not copied, as with runc. Runs in the child: stack
 * buffers only, and the depth is bounded so the stack is too. The source is read through an fd opened
 * before the mount, so it is the covered directory, not the new tmpfs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#define COPYUP_MAX_DEPTH 64
#define DENTS_BUF 2048

struct dirent64 {
  uint64_t d_ino;
  int64_t d_off;
  unsigned short d_reclen;
  unsigned char d_type;
  char d_name[];
};

static int copy_dir(struct tsr_child *c, int sdir, int ddir, int depth);

/* Owner, then mode (chown clears the set-id bits the mode restores), then times. The destination is
 * our fresh tmpfs, which nothing else can reach yet. */
static int copy_attrs(struct tsr_child *c, int ddir, const char *name, const struct stat *st) {
  if (fchownat(ddir, name, st->st_uid, st->st_gid, AT_SYMLINK_NOFOLLOW) < 0) return tsr_fail(c, "chown");
  if (!S_ISLNK(st->st_mode) && fchmodat(ddir, name, st->st_mode & 07777, 0) < 0) return tsr_fail(c, "chmod");
  struct timespec ts[2] = {st->st_atim, st->st_mtim};
  if (utimensat(ddir, name, ts, AT_SYMLINK_NOFOLLOW) < 0) return tsr_fail(c, "utimensat");
  return 0;
}

/* O_NONBLOCK and the fstat after open: a fifo swapped in after the fstatat must not block us. */
static int copy_file(struct tsr_child *c, int sdir, int ddir, const char *name, const struct stat *st) {
  struct stat now;
  int r = 0, out, in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
  if (in < 0) return tsr_fail(c, "open");
  if (fstat(in, &now) < 0) {
    r = tsr_fail(c, "stat");
  } else if (!S_ISREG(now.st_mode)) {
    errno = EINVAL;
    r = tsr_fail(c, "not a file");
  }
  if (r) {
    close(in);
    return r;
  }
  out = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (out < 0) {
    r = tsr_fail(c, "create");
    close(in);
    return r;
  }
  for (;;) {
    ssize_t n = sendfile(out, in, NULL, 1 << 30);
    if (n == 0) break;
    if (n < 0 && errno != EINTR) {
      r = tsr_fail(c, "sendfile");
      break;
    }
  }
  close(in);
  close(out);
  return r ? r : copy_attrs(c, ddir, name, st);
}

/* Not inlined: its PATH_MAX buffer must not sit in every copy_dir frame. */
static __attribute__((noinline)) int copy_link(struct tsr_child *c, int sdir, int ddir, const char *name,
                                               const struct stat *st) {
  char target[PATH_MAX];
  ssize_t n = readlinkat(sdir, name, target, sizeof target - 1);
  if (n < 0) return tsr_fail(c, "readlink");
  target[n] = '\0';
  if (symlinkat(target, ddir, name) < 0) return tsr_fail(c, "symlink");
  return copy_attrs(c, ddir, name, st);
}

static int copy_subdir(struct tsr_child *c, int sdir, int ddir, const char *name, const struct stat *st, int depth) {
  int r, s, d;
  if (mkdirat(ddir, name, 0700) < 0) return tsr_fail(c, "mkdir");
  if ((s = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) return tsr_fail(c, "open");
  if ((d = openat(ddir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
    r = tsr_fail(c, "open");
    close(s);
    return r;
  }
  r = copy_dir(c, s, d, depth + 1);
  close(s);
  close(d);
  return r ? r : copy_attrs(c, ddir, name, st); /* times last: filling it changed them */
}

static int copy_entry(struct tsr_child *c, int sdir, int ddir, const char *name, int depth) {
  struct stat st;
  if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return tsr_fail(c, "stat");
  switch (st.st_mode & S_IFMT) {
  case S_IFREG: return copy_file(c, sdir, ddir, name, &st);
  case S_IFDIR: return copy_subdir(c, sdir, ddir, name, &st, depth);
  case S_IFLNK: return copy_link(c, sdir, ddir, name, &st);
  default: /* fifo, socket, character or block device: a node like it (mknod of a device may be refused) */
    if (mknodat(ddir, name, st.st_mode & (S_IFMT | 07777), st.st_rdev) < 0) return tsr_fail(c, "mknod");
    return copy_attrs(c, ddir, name, &st);
  }
}

static int copy_dir(struct tsr_child *c, int sdir, int ddir, int depth) {
  char buf[DENTS_BUF] __attribute__((aligned(8)));
  if (depth > COPYUP_MAX_DEPTH) {
    errno = ELOOP;
    return tsr_fail(c, "copy depth");
  }
  for (;;) {
    long n = syscall(SYS_getdents64, sdir, buf, sizeof buf);
    if (n < 0) return tsr_fail(c, "getdents64");
    if (n == 0) return 0;
    for (long off = 0; off < n;) {
      const struct dirent64 *e = (const struct dirent64 *)(buf + off);
      off += e->d_reclen;
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
      int r = copy_entry(c, sdir, ddir, e->d_name, depth);
      if (r) return r;
    }
  }
}

int tsr_copy_tree(struct tsr_child *c, int from, int to) {
  return copy_dir(c, from, to, 0);
}
