/* frontend.c — the `tsrunc` command: a small C front end so that a CLI call does not pay Node's start.
 *
 * It either runs the Node CLI itself ("direct": exec node dist/tsrunc.js argv…, as bin/tsrunc always did)
 * or hands the call to a warm per-caller server (src/server/) over a SOCK_SEQPACKET socket ("fast").
 * Fast only for run (not -d), create, start, delete, state, kill and list, and never with --log/--log-format
 * (engines: podman and containerd pass them, and their shims reap containers as subreapers), --debug,
 * --preserve-fds, --console-socket, LISTEN_FDS, NOTIFY_SOCKET, TSRUNC_LIBDIR/TSRUNC_LIBSECCOMP or
 * TSRUNC_SERVER=0.
 *
 *   front end                                   server
 *   REQUEST argv, env, cwd, umask + fds 0,1,2  ->
 *                                              <-  DIRECT (e.g. a terminal): exec the Node CLI instead
 *                                              <-  ACCEPT: from here the server acts for us
 *                                              <-  HOLD root, id: what to clean up if the server dies
 *                                              <-  SPAWN plan + fds (remote.c): we clone the init, so it
 *   SPAWNED pid, pidfd, sync fd                ->  is our child with our stdio, cgroup and rlimits
 *                                              <-  WAIT pid (foreground run): signals are forwarded to it
 *   EXITED pid, wait status                    ->
 *                                              <-  EXIT code
 *
 * The socket sits in a 0700 directory of the caller's euid and is named by a hash of this build, the
 * euid, gids, umask, cgroup and namespaces: a server only ever serves callers that are like it. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../plan.h"

/* Record types; src/server/protocol.ts has the same numbers. */
#define FE_REQUEST 0x51524654u /* "TFRQ" */
#define FE_EXITED 0x58454654u  /* "TFEX" */
#define SV_ACCEPT 0x43415354u  /* "TSAC" */
#define SV_DIRECT 0x49445354u  /* "TSDI" */
#define SV_HOLD 0x4f485354u    /* "TSHO" */
#define SV_WAIT 0x41575354u    /* "TSWA" */
#define SV_EXIT 0x58455354u    /* "TSEX" */
#define SV_SPAWN 0x31575053u   /* remote.c's REMOTE_SPAWN */

/* The server is used unless TSRUNC_SERVER=0 (-DFE_DEFAULT_FAST=0 builds a front end that wants =1). */
#ifndef FE_DEFAULT_FAST
#define FE_DEFAULT_FAST 1
#endif

struct fe_request {
  uint32_t type, umask, argc, envc;
};

static char self_root[4096]; /* the package: helpers/build/tsrunc is three levels below */
static char node_path[4096];
static char **orig_argv;
static int orig_argc;

static void die(const char *msg) {
  dprintf(2, "tsrunc: %s\n", msg);
  exit(1);
}

/* The package directory from /proc/self/exe (the real file, whatever symlink ran us). */
static void find_root(void) {
  ssize_t n = readlink("/proc/self/exe", self_root, sizeof self_root - 1);
  if (n <= 0) die("cannot read /proc/self/exe");
  self_root[n] = 0;
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(self_root, '/');
    if (!slash) die("unexpected location of the tsrunc front end");
    *slash = 0;
  }
}

/* The node that built this tree (scripts/build.mjs passes its path), for a PATH without one. */
#ifndef TSR_BUILD_NODE
#define TSR_BUILD_NODE "/usr/bin/node"
#endif

/* node on PATH, as `#!/usr/bin/env node` would find it; else the one that built us. */
static int find_node(void) {
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;;) {
    const char *end = strchr(p, ':');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int n = len == 0 ? snprintf(node_path, sizeof node_path, "./node")
                     : snprintf(node_path, sizeof node_path, "%.*s/node", (int)len, p);
    struct stat st;
    if (n > 0 && (size_t)n < sizeof node_path && stat(node_path, &st) == 0 && S_ISREG(st.st_mode) &&
        access(node_path, X_OK) == 0)
      return 0;
    if (!end) break;
    p = end + 1;
  }
  if (access(TSR_BUILD_NODE, X_OK) < 0 || strlen(TSR_BUILD_NODE) >= sizeof node_path) return -1;
  strcpy(node_path, TSR_BUILD_NODE);
  return 0;
}

/* The Node CLI with our argv: what tsrunc was before the front end. Never returns. */
static void direct(void) {
  char dist[4200];
  snprintf(dist, sizeof dist, "%s/dist/tsrunc.js", self_root);
  if (!node_path[0] && find_node() < 0) die("node is not on PATH (tsrunc needs Node.js >= 20)");
  char **args = calloc((size_t)orig_argc + 2, sizeof *args);
  if (!args) die("out of memory");
  args[0] = node_path;
  args[1] = dist;
  for (int k = 1; k < orig_argc; k++) args[k + 1] = orig_argv[k];
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  execv(node_path, args);
  dprintf(2, "tsrunc: cannot run %s: %s\n", node_path, strerror(errno));
  exit(127);
}

/* --- deciding fast or direct --------------------------------------------------------------------- */

static int is_flag(const char *a, const char *name) {
  size_t n = strlen(name);
  return strncmp(a, name, n) == 0 && (a[n] == 0 || a[n] == '=');
}

/* 1 when this call may go to the server (see the top of the file). */
static int wants_server(void) {
  const char *mode = getenv("TSRUNC_SERVER");
  if (mode && strcmp(mode, "0") == 0) return 0;
  if (!(mode && strcmp(mode, "1") == 0) && !FE_DEFAULT_FAST) return 0;
  /* The libraries a server loaded are its own: another choice of them runs the CLI itself. */
  if (getenv("TSRUNC_LIBDIR") || getenv("TSRUNC_LIBSECCOMP")) return 0;
  const char *command = NULL;
  int detach = 0;
  for (int k = 1; k < orig_argc; k++) {
    const char *a = orig_argv[k];
    if (strcmp(a, "--") == 0) break;
    detach |= strcmp(a, "-d") == 0 || is_flag(a, "--detach");
    if (is_flag(a, "--log") || is_flag(a, "--log-format") || is_flag(a, "--debug") || is_flag(a, "--preserve-fds") ||
        is_flag(a, "--console-socket") || strcmp(a, "-h") == 0 || is_flag(a, "--help") || strcmp(a, "-v") == 0 ||
        is_flag(a, "--version"))
      return 0;
    if (command) continue;
    if (strcmp(a, "--root") == 0 && k + 1 < orig_argc) {
      k++;
      continue;
    }
    if (strcmp(a, "--rootless") == 0 && k + 1 < orig_argc &&
        (!strcmp(orig_argv[k + 1], "auto") || !strcmp(orig_argv[k + 1], "true") || !strcmp(orig_argv[k + 1], "false"))) {
      k++;
      continue;
    }
    if (is_flag(a, "--root") || is_flag(a, "--rootless") || is_flag(a, "--systemd-cgroup")) continue;
    if (a[0] == '-') return 0;
    command = a;
  }
  static const char *served[] = {"run", "create", "start", "delete", "state", "kill", "list"};
  int ok = 0;
  for (size_t k = 0; command && k < sizeof served / sizeof *served; k++) ok |= strcmp(command, served[k]) == 0;
  if (!ok) return 0;
  /* run -d: the container's monitor clones it (src/monitor/), started by the Node CLI. */
  if (!strcmp(command, "run") && detach) return 0;
  int creates = !strcmp(command, "run") || !strcmp(command, "create");
  if ((creates && getenv("LISTEN_FDS")) || ((creates || !strcmp(command, "start")) && getenv("NOTIFY_SOCKET"))) return 0;
  return 1;
}

/* --- where the server is ------------------------------------------------------------------------ */

static uint64_t fnv(uint64_t h, const void *data, size_t len) {
  const unsigned char *p = data;
  for (size_t k = 0; k < len; k++) h = (h ^ p[k]) * 0x100000001b3ull;
  return h;
}

/* A file by identity (device, inode) and, with `content`, by size and modification time. */
static uint64_t fnv_stat(uint64_t h, const char *path, int content) {
  struct stat st;
  if (stat(path, &st) < 0) return fnv(h, "-", 1);
  uint64_t v[5] = {st.st_dev, st.st_ino, (uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec, (uint64_t)st.st_mtim.tv_nsec};
  return fnv(h, v, content ? sizeof v : 2 * sizeof v[0]);
}

static uint64_t fnv_file(uint64_t h, const char *path) {
  char buf[4096];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fnv(h, "-", 1);
  for (ssize_t n; (n = read(fd, buf, sizeof buf)) > 0;) h = fnv(h, buf, (size_t)n);
  close(fd);
  return h;
}

/* The socket path for this caller in `out`: 0, or -1 when there is no private place for it. */
static int socket_path(char *out, size_t size, mode_t mask) {
  uid_t euid = geteuid();
  const char *base = euid == 0 ? "/run" : getenv("XDG_RUNTIME_DIR");
  if (!base || base[0] != '/') return -1;
  char dir[200];
  if ((size_t)snprintf(dir, sizeof dir, "%s/tsrunc-server", base) >= sizeof dir) return -1;
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return -1;
  struct stat st;
  if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != euid || (st.st_mode & 077) != 0) return -1;

  uint64_t h = 0xcbf29ce484222325ull;
  const char *built[] = {"helpers/build/tsrunc", "helpers/build/libtsrunc.so", "dist/tsrunc.js"};
  for (size_t k = 0; k < 3; k++) {
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", self_root, built[k]);
    h = fnv_stat(h, p, 1);
  }
  gid_t groups[256];
  int ngroups = getgroups(256, groups);
  uint32_t ids[3] = {euid, getegid(), mask};
  h = fnv(h, ids, sizeof ids);
  if (ngroups > 0) h = fnv(h, groups, sizeof *groups * (size_t)ngroups);
  h = fnv_file(h, "/proc/self/cgroup");
  static const char *ns[] = {"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"};
  for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/ns/%s", ns[k]);
    h = fnv_stat(h, p, 0); /* a /proc inode's times are those of its lookup */
  }
  int n = snprintf(out, size, "%s/%016llx", dir, (unsigned long long)h);
  return n > 0 && (size_t)n < sizeof(((struct sockaddr_un *)0)->sun_path) && (size_t)n < size ? 0 : -1;
}

/* Starts the server for `path` in the background, detached from us (double fork, setsid, stdio on
 * /dev/null): it is for the next call; this one goes direct. */
static void start_server(const char *path) {
  pid_t pid = fork();
  if (pid < 0) return;
  if (pid > 0) {
    waitpid(pid, NULL, 0);
    return;
  }
  if (setsid() < 0 || fork() != 0) _exit(0);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) _exit(1);
  for (int fd = 0; fd < 3; fd++) dup2(null, fd);
  if (chdir("/") < 0) _exit(1);
  /* Every waiting connection holds a thread of libuv's pool (koffi's .async). */
  setenv("UV_THREADPOOL_SIZE", "64", 0);
  char dist[4200];
  snprintf(dist, sizeof dist, "%s/dist/tsrunc.js", self_root);
  if (!node_path[0] && find_node() < 0) _exit(127);
  char *args[] = {node_path, dist, "--tsrunc-server", (char *)path, NULL};
  execv(node_path, args);
  _exit(127);
}

/* --- the conversation ---------------------------------------------------------------------------- */

static int send_request(int sock, mode_t mask) {
  extern char **environ;
  struct fe_request hdr = {.type = FE_REQUEST, .umask = mask, .argc = (uint32_t)orig_argc - 1, .envc = 0};
  size_t len = 0;
  for (int k = 1; k < orig_argc; k++) len += strlen(orig_argv[k]) + 1;
  for (char **e = environ; *e; e++, hdr.envc++) len += strlen(*e) + 1;
  char *cwd = getcwd(NULL, 0);
  if (!cwd) return -1;
  len += strlen(cwd) + 1;
  char *buf = malloc(len), *p = buf;
  if (!buf) return -1;
  for (int k = 1; k < orig_argc; k++) p = stpcpy(p, orig_argv[k]) + 1;
  for (char **e = environ; *e; e++) p = stpcpy(p, *e) + 1;
  stpcpy(p, cwd);
  free(cwd);
  struct iovec iov[2] = {{.iov_base = &hdr, .iov_len = sizeof hdr}, {.iov_base = buf, .iov_len = len}};
  int stdio[3] = {0, 1, 2};
  int r = tsr_send_iov_fds(sock, iov, 2, stdio, 3);
  free(buf);
  return r;
}

/* Children reaped before the server asked for them (a `true` exits before WAIT arrives). */
static struct {
  pid_t pid;
  int status;
} reaped[32];
static int nreaped;

static void reap(void) {
  int st;
  for (pid_t p; (p = waitpid(-1, &st, WNOHANG)) > 0;) {
    if (nreaped == 32) memmove(reaped, reaped + 1, sizeof reaped[0] * 31), nreaped--;
    reaped[nreaped].pid = p;
    reaped[nreaped++].status = st;
  }
}

static int reaped_status(pid_t pid, int *status) {
  for (int k = 0; k < nreaped; k++)
    if (reaped[k].pid == pid) {
      *status = reaped[k].status;
      return 1;
    }
  return 0;
}

/* The server died while acting for us: kill and reap what we spawned for it, remove the container it
 * was making (the Node CLI's delete --force), say so in one line, exit 1. */
static void server_lost(const char *held) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", (int)getpid());
  FILE *f = fopen(path, "re");
  for (int pid; f && fscanf(f, "%d", &pid) == 1;) kill(pid, SIGKILL);
  if (f) fclose(f);
  while (waitpid(-1, NULL, 0) > 0) {
  }
  if (held) {
    const char *root = held, *id = held + strlen(held) + 1;
    pid_t pid = fork();
    if (pid == 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0) dup2(null, 1), dup2(null, 2);
      char dist[4200];
      snprintf(dist, sizeof dist, "%s/dist/tsrunc.js", self_root);
      char *args[] = {node_path, dist, "--root", (char *)root, "delete", "--force", (char *)id, NULL};
      sigset_t none;
      sigemptyset(&none);
      sigprocmask(SIG_SETMASK, &none, NULL);
      if (node_path[0] || find_node() == 0) execv(node_path, args);
      _exit(127);
    }
    if (pid > 0) waitpid(pid, NULL, 0);
  }
  die("the tsrunc server ended during the call (TSRUNC_SERVER=0 runs without it)");
}

static const int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGALRM,
                                SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU, SIGWINCH, SIGPIPE};

static void send_exited(int sock, pid_t pid, int status) {
  int32_t rec[3] = {(int32_t)FE_EXITED, pid, status};
  struct iovec iov = {.iov_base = rec, .iov_len = sizeof rec};
  tsr_send_iov_fds(sock, &iov, 1, NULL, 0);
}

/* Talks with the server until it says EXIT (or DIRECT). The signals a foreground run forwards are
 * blocked from the start, as runc installs its handler before the container starts: they stay pending
 * until WAIT names the process to forward them to. Any still pending at the end (a call that was not a
 * foreground run) are delivered by main() once the call is over. */
static int converse(int sock) {
  sigset_t mask, fw;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigemptyset(&fw);
  for (size_t k = 0; k < sizeof forwarded / sizeof *forwarded; k++) sigaddset(&fw, forwarded[k]);
  sigaddset(&fw, SIGCHLD);
  sigprocmask(SIG_BLOCK, &fw, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
  if (sfd < 0) die("signalfd failed");
  int accepted = 0;
  pid_t waiting = 0;
  char *held = NULL;
  for (;;) {
    struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      die("poll failed");
    }
    if (p[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si) {
        if (si.ssi_signo != SIGCHLD) {
          int st;
          if (waiting > 0 && !reaped_status(waiting, &st)) kill(waiting, (int)si.ssi_signo);
        }
      }
      reap();
      int st;
      if (waiting > 0 && reaped_status(waiting, &st)) {
        send_exited(sock, waiting, st);
        waiting = 0;
      }
    }
    if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR))) continue;
    uint8_t *buf;
    int fds[TSR_REMOTE_MAXFDS], nfds;
    ssize_t n = tsr_recv_record_alloc(sock, SIZE_MAX, &buf, fds, &nfds);
    if (n == -ENOMEM) die("out of memory");
    if (n < (ssize_t)sizeof(uint32_t)) {
      if (!accepted) return -1; /* it closed before taking the call: nothing happened, go direct */
      server_lost(held);
    }
    uint32_t type;
    int32_t arg = 0;
    memcpy(&type, buf, sizeof type);
    if (n >= 8) memcpy(&arg, buf + 4, sizeof arg);
    if (type == SV_SPAWN) {
      /* The child is ours now; a failure was reported to the server, which says what to do. */
      tsrunc_spawner_handle(sock, buf, (size_t)n, fds, nfds);
      free(buf);
      continue;
    }
    for (int k = 0; k < nfds; k++) close(fds[k]);
    if (type == SV_ACCEPT) {
      accepted = 1;
    } else if (type == SV_DIRECT) {
      return -1;
    } else if (type == SV_HOLD && n > 4 && buf[n - 1] == 0) {
      free(held);
      held = malloc((size_t)n - 4);
      if (!held) die("out of memory");
      memcpy(held, buf + 4, (size_t)n - 4);
    } else if (type == SV_WAIT && n >= 8) {
      /* From here signals go to the container as runc's foreground run does it. */
      if (signalfd(sfd, &fw, 0) < 0) die("signalfd failed");
      reap();
      int st;
      if (reaped_status(arg, &st)) send_exited(sock, arg, st);
      else waiting = arg;
    } else if (type == SV_EXIT && n >= 8) {
      reap();
      return arg & 0xff;
    } else {
      die("unexpected record from the tsrunc server");
    }
    free(buf);
  }
}

int main(int argc, char **argv) {
  orig_argc = argc;
  orig_argv = argv;
  find_root();
  if (!wants_server()) direct();
  mode_t mask = umask(022);
  umask(mask);
  char path[256];
  if (socket_path(path, sizeof path, mask) < 0) direct();
  int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
  if (sock < 0) direct();
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strcpy(sa.sun_path, path);
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    if (errno == ENOENT || errno == ECONNREFUSED) start_server(path);
    close(sock);
    direct();
  }
  if (send_request(sock, mask) < 0) {
    close(sock);
    direct();
  }
  int code = converse(sock);
  close(sock);
  if (code < 0) direct();
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL); /* a signal held during the call acts now */
  return code;
}
