/* paths.c — resolving container paths inside the root without letting a symlink leave it, creating
 * what is missing one component at a time; and the execvp-like lookup of the binary to exec.
 * Runs in the child: raw syscalls and stack buffers only. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "plan.h"

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Mount destinations are attacker-controlled (CVE-2021-30465 class): RESOLVE_IN_ROOT makes "..",
 * absolute symlinks and "/" stop at the root fd, and no /proc magic link may jump out of it. */
static int open_in_root(int rootfd, const char *path, int *fd) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  long r;
  int tries = 0;
  do r = syscall(SYS_openat2, rootfd, path, &how, sizeof how);
  while (r < 0 && (errno == EAGAIN || errno == EINTR) && ++tries < 32); /* EAGAIN: a concurrent rename */
  if (r < 0) return -1;
  *fd = (int)r;
  return 0;
}

static int root_fd(struct tsr_child *c) {
  if (c->rootfd < 0) c->rootfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  return c->rootfd;
}

int tsr_fail(struct tsr_child *c, const char *step) {
  int e = errno;
  c->step = step;
  return e ? e : EIO;
}

/* Creates component `name` in the safely resolved directory `dirfd`. A file is created with
 * O_CREAT|O_EXCL|O_NOFOLLOW so a final symlink is never followed out of the root. */
static int create_at(struct tsr_child *c, int dirfd, const char *name, int file, mode_t mode) {
  if (file) {
    int fd = openat(dirfd, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0 && errno != EEXIST) return tsr_fail(c, "create");
    if (fd >= 0) close(fd);
  } else if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST) {
    return tsr_fail(c, "mkdir");
  }
  return 0;
}

/* Resolves `path` inside the root into an O_PATH fd; create: -1 none, 0 directory, 1 file (the
 * missing parents are always directories, made with `mode`). A dangling symlink on the way is followed
 * inside the root and its target created there, as runc's securejoin + MkdirAll do: a destination
 * through a symlink to "/host/dir" lands in <rootfs>/host/dir, never on the host. */
static int resolve(struct tsr_child *c, const char *path, int create, mode_t mode, int *fd) {
  int root = root_fd(c);
  if (root < 0) return tsr_fail(c, "open");
  if (open_in_root(root, path, fd) == 0) return 0;
  if (errno != ENOENT || create < 0) return tsr_fail(c, "open");

  char buf[PATH_MAX], link[PATH_MAX], next[PATH_MAX];
  size_t len = strlen(path);
  if (len >= sizeof buf) { errno = ENAMETOOLONG; return tsr_fail(c, "open"); }
  memcpy(buf, path, len + 1);
  int parent = -1, hops = 0;
  size_t i = 0;
  for (;;) {
    while (buf[i] == '/') i++;
    if (buf[i] == '\0') break;
    size_t j = i;
    while (buf[j] && buf[j] != '/') j++;
    size_t k = j;
    while (buf[k] == '/') k++;
    int last = buf[k] == '\0';
    char save = buf[j];
    buf[j] = '\0';
    int cur;
    if (open_in_root(root, buf, &cur) < 0) {
      if (errno != ENOENT) {
        if (parent >= 0) close(parent);
        return tsr_fail(c, "open");
      }
      ssize_t n = readlinkat(parent >= 0 ? parent : root, buf + i, link, sizeof link - 1);
      if (n >= 0) { /* dangling symlink: continue with its target + the rest, still inside the root */
        buf[j] = save;
        size_t pre = link[0] == '/' ? 0 : i, rest = strlen(buf + j);
        if (++hops > 40) errno = ELOOP;
        else if (pre + (size_t)n + rest >= sizeof next) errno = ENAMETOOLONG;
        else errno = 0;
        if (errno) {
          if (parent >= 0) close(parent);
          return tsr_fail(c, "open");
        }
        memcpy(next, buf, pre);
        memcpy(next + pre, link, (size_t)n);
        memcpy(next + pre + n, buf + j, rest + 1);
        memcpy(buf, next, pre + (size_t)n + rest + 1);
        if (parent >= 0) close(parent);
        parent = -1;
        i = 0;
        continue;
      }
      int r = create_at(c, parent >= 0 ? parent : root, buf + i, last && create == 1, mode);
      if (r == 0 && open_in_root(root, buf, &cur) < 0) r = tsr_fail(c, "open");
      if (r) {
        if (parent >= 0) close(parent);
        return r;
      }
    }
    if (parent >= 0) close(parent);
    parent = cur;
    buf[j] = save;
    i = j;
  }
  if (parent < 0 && (parent = dup(root)) < 0) return tsr_fail(c, "open");
  *fd = parent;
  return 0;
}

int tsr_resolve(struct tsr_child *c, const char *path, int create, int *fd) {
  return resolve(c, path, create, 0755, fd);
}

/* mkdir -p inside the root (a missing process.cwd, as runc creates it). */
int tsr_mkdir_all(struct tsr_child *c, const char *path, mode_t mode) {
  int fd, r = resolve(c, path, 0, mode, &fd);
  if (r == 0) close(fd);
  return r;
}

/* Resolves (creating) the directory part of `path`; *base points at the last component in `path`. */
int tsr_resolve_parent(struct tsr_child *c, const char *path, int *dirfd, const char **base) {
  char dir[PATH_MAX];
  size_t len = strlen(path);
  while (len > 1 && path[len - 1] == '/') len--;
  size_t cut = len;
  while (cut > 0 && path[cut - 1] != '/') cut--;
  const char *b = path + cut;
  size_t blen = len - cut;
  if (blen == 0 || (blen == 1 && b[0] == '.') || (blen == 2 && b[0] == '.' && b[1] == '.') || b[blen] != '\0') {
    errno = EINVAL;
    return tsr_fail(c, "open");
  }
  if (cut == 0) { dir[0] = '/'; dir[1] = '\0'; }
  else { memcpy(dir, path, cut); dir[cut] = '\0'; }
  *base = b;
  return tsr_resolve(c, dir, 0, dirfd);
}

int tsr_fd_path(char *buf, size_t size, int fd) {
  static const char prefix[] = "/proc/self/fd/";
  char digits[12];
  int n = 0;
  unsigned v = (unsigned)fd;
  do digits[n++] = (char)('0' + v % 10), v /= 10;
  while (v);
  if (sizeof prefix + (size_t)n > size) return -1;
  memcpy(buf, prefix, sizeof prefix - 1);
  size_t o = sizeof prefix - 1;
  while (n) buf[o++] = digits[--n];
  buf[o] = '\0';
  return 0;
}

/* 0 when `path` is a regular file we may execute, else the errno execve would give. */
static int check_exec(const char *path) {
  struct stat st;
  if (fstatat(AT_FDCWD, path, &st, 0) < 0) return errno;
  if (!S_ISREG(st.st_mode)) return EACCES;
  if (syscall(SYS_faccessat2, AT_FDCWD, path, X_OK, AT_EACCESS) < 0) return errno;
  return 0;
}

/* execvp's lookup, done before the start barrier so `create` can report a missing binary: skip missing
 * and non-executable candidates; EACCES when only non-executable ones were found. */
int tsr_resolve_exec(struct tsr_child *c, const char *file, const char *search) {
  char *out = c->p->exec_path;
  size_t flen = strlen(file);
  if (flen == 0) { errno = ENOENT; return tsr_fail(c, "lookup"); }
  if (strchr(file, '/')) {
    int e = check_exec(file);
    if (e) { errno = e; return tsr_fail(c, "access"); }
    memcpy(out, file, flen + 1);
    c->resolved = 1;
    return 0;
  }
  if (search[0] == '\0') search = DEFAULT_PATH;
  int saw_eacces = 0;
  for (const char *s = search;; s++) {
    const char *e = strchr(s, ':');
    size_t dlen = e ? (size_t)(e - s) : strlen(s);
    char cand[PATH_MAX];
    if (dlen + 1 + flen < sizeof cand) {
      if (dlen == 0) cand[0] = '.', dlen = 1; /* an empty entry is the working directory */
      else memcpy(cand, s, dlen);
      cand[dlen] = '/';
      memcpy(cand + dlen + 1, file, flen + 1);
      int r = check_exec(cand);
      if (r == 0) {
        memcpy(out, cand, dlen + 1 + flen + 1);
        c->resolved = 1;
        return 0;
      }
      if (r == EACCES) saw_eacces = 1;
    }
    if (!e) break;
    s = e;
  }
  errno = saw_eacces ? EACCES : ENOENT;
  return tsr_fail(c, "lookup");
}
