/* plan.h — the binary plan shared with src/native/encode.ts, and the C core's internal interfaces.
 *
 * Layout (all little-endian u64 "slots"; the buffer is 8-byte aligned):
 *   header   16 slots: magic|version, total length, CLONE_NEW* flags, preserveFds, #joins, #ops,
 *            start socket path, stdin/stdout/stderr fds (-1 = inherit), flags (bit 0: set ctty)
 *   joins    #joins x 2 slots: CLONE_NEW* flag, fd
 *   ops      #ops x 12 slots: slot 0 = op kind, slots 1..11 = arguments (see kinds below)
 *   heap     NUL-terminated strings and arrays the slots point at
 * A string slot is (length << 32 | offset); 0 means "null" (offset 0 is the header, never a string).
 * A string-array slot is (count << 32 | offset) of `count` string slots; a u32-array slot is
 * (count << 32 | offset) of `count` u32 values. Everything is checked by tsr_plan_load before clone.
 */
#ifndef TSRUNC_PLAN_H
#define TSRUNC_PLAN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the plan encoding assumes a little-endian host"
#endif

/* Only the tsrunc_* entry points are exported (the build uses -fvisibility=hidden). */
#define TSR_API __attribute__((visibility("default")))

#define TSR_MAGIC 0x50525354u /* "TSRP" */
#define TSR_VERSION 1u
#define TSR_HEADER_SLOTS 16
#define TSR_JOIN_SLOTS 2
#define TSR_OP_SLOTS 12
#define TSR_MAX_OPS 4096
#define TSR_MAX_JOINS 16
#define TSR_FLAG_CTTY 1u
#define TSR_NULL_FLAGS UINT64_MAX /* "remountFlags: null" */
#define TSR_MOUNT_COPYUP 2u /* OP_MOUNT s5: copy the covered directory's tree into the new tmpfs (copyup.c) */

enum tsr_header_slot {
  H_MAGIC, H_LENGTH, H_NEWNS, H_PRESERVE, H_NJOIN, H_NOPS, H_START_PATH, H_STDIN, H_STDOUT, H_STDERR, H_FLAGS,
  H_TIMENS, /* string: the new time namespace's offsets, as /proc/self/timens_offsets takes them (0: none) */
};

/* Op kinds: the order is mirrored in encode.ts (OP_KINDS). Never renumber, only append. */
enum tsr_kind {
  OP_PREPARE_ROOT = 1, /* s1 rootfs, s2 propagation */
  OP_MOUNT,            /* s1 source, s2 target, s3 fstype, s4 data, s5 create (0 dir, 1 file) | TSR_MOUNT_COPYUP, s6 flags,
                          s7 remountFlags (TSR_NULL_FLAGS = none), s8 propagation, s9 attrSet, s10 attrClr,
                          s11 fallbackBind (null = none) */
  OP_DEVICE,           /* s1 target, s2 how (0 bind, 1 mknod), s3 source, s4 mode, s5 major, s6 minor, s7 uid, s8 gid */
  OP_SYMLINK,          /* s1 target, s2 linkTo */
  OP_PIVOT_ROOT,
  OP_CHROOT,
  OP_ROOT_PROPAGATION, /* s1 propagation */
  OP_MASK,             /* s1 path */
  OP_READONLY,         /* s1 path */
  OP_READONLY_ROOT,
  OP_SETHOSTNAME,      /* s1 name */
  OP_SETDOMAINNAME,    /* s1 name */
  OP_LOOPBACK_UP,
  OP_OOM_SCORE_ADJ,    /* s1 value (i64) */
  OP_RLIMIT,           /* s1 resource, s2 soft, s3 hard */
  OP_CAP_BOUNDING,     /* s1 keep mask */
  OP_KEEP_CAPS,        /* s1 on */
  OP_SETGROUPS,        /* s1 u32 array */
  OP_SETRESGID,        /* s1 gid */
  OP_SETRESUID,        /* s1 uid */
  OP_CAPSET,           /* s1 effective, s2 permitted, s3 inheritable */
  OP_AMBIENT,          /* s1 raise mask */
  OP_NO_NEW_PRIVS,
  OP_UMASK,            /* s1 mask */
  OP_CHDIR,            /* s1 path */
  OP_SYNC,             /* s1 tag */
  OP_RESOLVE_EXEC,     /* s1 file, s2 searchPath */
  OP_WAIT_START,
  OP_EXEC,             /* s1 argv (string array), s2 envp (string array) */
  OP_MKDIR,            /* s1 path, s2 mode */
  OP_SECCOMP,          /* s1 BPF program (count << 32 | offset of count struct sock_filter), s2 seccomp(2) flags,
                          s3 mode (TSR_SECCOMP_NOW / _DEFER) */
  /* Explicit numbers from here: several people append at once. */
  OP_HOOK_POINT = 32,  /* s1 tag: send the own namespace fds to the parent, wait for go (handoff.c) */
  OP_CONSOLE = 33,     /* s1 rows, s2 cols, s3 bind on /dev/console, s4 uid to own the replica (UINT64_MAX: none):
                          a pty from the container's /dev/ptmx, master to the parent, replica as stdio (handoff.c) */
  OP_IDMAP_MOUNT = 40, /* s1 source, s2 target, s3 create (0 dir, 1 file), s4 recursive: the tree goes to the
                          parent (MSG_IDMAP + one fd) to be idmapped, then is attached */
  OP_WRITE_FILE = 50,  /* s1 path, s2 data: one write to a container file after pivot (attrs.c) */
  OP_PERSONALITY,      /* s1 persona */
  OP_SCHEDULER,        /* s1 policy, s2 flags, s3 nice (i64), s4 priority, s5 runtime, s6 deadline, s7 period */
  OP_IOPRIO,           /* s1 ioprio value (class << 13 | level) */
  OP_KIND_END,
};

/* Child -> parent record types on the sync socket (see sync.c). */
enum tsr_msg_type { MSG_READY = 1, MSG_ERROR = 2, MSG_SYNC = 3, MSG_PID = 4, MSG_SECCOMP = 5, MSG_IDMAP = 6 };

/* OP_SECCOMP modes: load at the op's place, or just before execve. */
#define TSR_SECCOMP_NOW 0u
#define TSR_SECCOMP_DEFER 1u
#define TSR_BPF_MAXINSNS 4096u
#define TSR_SECCOMP_NEW_LISTENER (1u << 3) /* SECCOMP_FILTER_FLAG_NEW_LISTENER */

#define TSR_STEP_LEN 16
struct tsr_msg {
  uint32_t type;
  int32_t index; /* MSG_ERROR: op index; -1 = child setup; <= -2 = joinNamespaces[-index-2] */
  int32_t err;   /* MSG_ERROR: errno */
  int32_t value; /* MSG_SYNC: tag; MSG_PID: the new init's pid */
  char step[TSR_STEP_LEN];
};

/* A failure after the start barrier, on the start connection: err (> 0, so never TSR_CONN_HOOK) first. */
struct tsr_conn_fail {
  int32_t err;
  int32_t index; /* the failing op */
  char step[TSR_STEP_LEN];
};

/* The parsed, validated plan plus everything the child needs, all prepared by the parent. */
struct tsr_plan {
  const uint64_t *slots; /* the (copied) buffer */
  size_t len;
  uint32_t newns, preserve, njoin, nops, flags;
  const uint64_t *joins;
  const uint64_t *ops;
  int stdio[3];      /* parent-side duplicates (>= 3+preserve) to dup2 onto 0..2, or -1 */
  int syncfd;        /* child's end of the sync socketpair */
  int listenfd;      /* the start socket */
  int joinfd[TSR_MAX_JOINS]; /* fds to setns with, all >= 3+preserve */
  int keep[TSR_MAX_JOINS + 5]; /* every fd >= 3+preserve the child keeps, ascending */
  int nkeep;
  int cap_last;      /* highest capability number of the running kernel */
  int in_userns;     /* the child runs in a user namespace: remounts keep locked flags */
  char **argv, **envp; /* for the exec op */
  char *exec_path;   /* PATH_MAX buffer filled by resolve-exec */
  const char *timens_offsets; /* H_TIMENS or NULL: the time namespace is unshared, offset, then entered by fork */
};

/* Per-child state; lives on the child's stack. */
struct tsr_child {
  const struct tsr_plan *p;
  int rootfd;        /* O_PATH fd of the root that container paths are resolved in; -1 before prepare-root */
  const char *rootfs;
  int syncfd, listenfd, connfd;
  int resolved;      /* resolve-exec succeeded */
  const char *step;  /* the failing syscall of the current op */
  int timensfd;      /* /proc/self/timens_offsets, opened while still dumpable (see tsr_child_main) */
};

/* plan.c (parent side) */
int tsr_plan_load(struct tsr_plan *p, const uint8_t *buf, size_t len, int32_t *bad_index);
void tsr_plan_free(struct tsr_plan *p);
static inline uint64_t tsr_op_slot(const struct tsr_plan *p, uint32_t i, int s) { return p->ops[(size_t)i * TSR_OP_SLOTS + s]; }
static inline const char *tsr_str(const struct tsr_plan *p, uint64_t slot) {
  return slot == 0 ? NULL : (const char *)p->slots + (uint32_t)slot;
}

/* child.c */
_Noreturn void tsr_child_main(struct tsr_plan *p);

/* server.c / conn.c (parent side): wait for `fd` to be readable. tsrunc_poll_in: 1, 0 after timeout_ms
 * (< 0: for ever), or -errno; tsr_wait_readable: 0, -ETIMEDOUT, or -errno, and no wait when timeout_ms < 0. */
int tsrunc_poll_in(int fd, int timeout_ms);
int tsr_wait_readable(int fd, int timeout_ms);

/* spawn.c (parent side): clone the child for a plan; out = [pid, pidfd, sync fd, bad op index, step]. */
int tsrunc_spawn(const uint8_t *buf, size_t len, int32_t *out);
int tsr_spawn(const uint8_t *buf, size_t len, int32_t *out, int sibling);

/* conn.c (parent side): connect to a start socket and send the start byte; the fd or -errno. */
int tsrunc_start_connect(const char *path);

/* sync.c */
int tsr_send(int fd, uint32_t type, int32_t index, int32_t err, int32_t value, const char *step);
int tsr_wait_go(int fd);
int tsr_hand_fd(int sock, uint32_t type, int32_t index, int fd);

/* paths.c: resolving container paths inside the root. All return 0 or an errno, setting c->step. */
int tsr_resolve(struct tsr_child *c, const char *path, int create, int *fd); /* create: -1 none, 0 dir, 1 file */
int tsr_mkdir_all(struct tsr_child *c, const char *path, mode_t mode);
int tsr_resolve_parent(struct tsr_child *c, const char *path, int *dirfd, const char **base);
int tsr_fd_path(char *buf, size_t size, int fd); /* "/proc/self/fd/<fd>" */
int tsr_resolve_exec(struct tsr_child *c, const char *file, const char *search);

/* mounts.c */
int tsr_op_prepare_root(struct tsr_child *c, uint32_t i);
int tsr_op_mount(struct tsr_child *c, uint32_t i);
int tsr_op_idmap_mount(struct tsr_child *c, uint32_t i);
int tsr_op_device(struct tsr_child *c, uint32_t i);
int tsr_op_symlink(struct tsr_child *c, uint32_t i);
int tsr_op_pivot_root(struct tsr_child *c);
int tsr_op_chroot(struct tsr_child *c);
int tsr_op_mask(struct tsr_child *c, const char *path);
int tsr_op_readonly(struct tsr_child *c, const char *path);
int tsr_op_readonly_root(struct tsr_child *c);

/* copyup.c: copies the tree under directory fd `from` into directory fd `to`; 0 or an errno */
int tsr_copy_tree(struct tsr_child *c, int from, int to);

/* caps.c: credentials, capabilities, limits */
int tsr_op_cap_bounding(struct tsr_child *c, uint64_t keep);
int tsr_op_capset(struct tsr_child *c, uint64_t eff, uint64_t perm, uint64_t inh);
int tsr_op_ambient(struct tsr_child *c, uint64_t raise);
int tsr_op_setgroups(struct tsr_child *c, uint64_t slot);
int tsr_op_rlimit(struct tsr_child *c, uint32_t resource, uint64_t soft, uint64_t hard);

/* system.c: small ops on the process and its namespaces */
int tsr_op_loopback_up(struct tsr_child *c);
int tsr_op_oom_score_adj(struct tsr_child *c, int64_t value);

/* seccomp.c */
int tsr_op_seccomp(struct tsr_child *c, uint32_t i);
int tsr_seccomp_deferred(struct tsr_child *c, uint32_t *index); /* 0 or an errno, *index the failing op */

/* attrs.c */
int tsr_op_write_file(struct tsr_child *c, const char *path, const char *data);
int tsr_op_personality(struct tsr_child *c, uint64_t persona);
int tsr_op_scheduler(struct tsr_child *c, uint32_t i);
int tsr_op_ioprio(struct tsr_child *c, uint64_t value);
int tsr_write_time_offsets(int fd, const char *text); /* 0, or -1 with errno; closes fd */

/* handoff.c */
#define TSR_HOOK_NS 7        /* user, mnt, pid, net, uts, ipc, cgroup */
#define TSR_CONN_HOOK (-1)   /* first word of a hook-point record on the start connection (errnos are > 0) */
int tsr_op_hook_point(struct tsr_child *c, uint32_t i, uint32_t tag);
#define TSR_TAG_CONSOLE 256  /* the MSG_SYNC value of a console op's record (hook point tags are small) */
int tsr_op_console(struct tsr_child *c, uint32_t i, uint64_t rows, uint64_t cols, uint64_t mount_console, uint64_t uid);

/* Records with fds on a SOCK_SEQPACKET connection (the spawner's, the front end's): sending in handoff.c
 * (the child sends with it too), receiving and spawning in remote.c. */
#define TSR_REMOTE_MAXFDS 16
struct iovec;
int tsr_send_iov_fds(int sock, struct iovec *iov, int n, const int *fds, int nfds);
ssize_t tsr_recvmsg_fds(int sock, void *buf, size_t len, int *fds, int maxfds, int *nfds, int *flags); /* conn.c */
ssize_t tsr_recv_record(int sock, void *buf, size_t len, int *fds, int *nfds);
ssize_t tsr_recv_record_alloc(int sock, size_t max, uint8_t **buf, int *fds, int *nfds);
int tsrunc_spawner_handle(int sock, const uint8_t *msg, size_t len, const int *fds, int nfds);

/* A failed syscall inside an op: remember which, return its errno. */
int tsr_fail(struct tsr_child *c, const char *step);

#endif
