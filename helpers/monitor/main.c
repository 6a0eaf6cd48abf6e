/* tsrunc-monitor — the small process that stays with a detached container (`tsrunc run -d`): it clones
 * the container's init itself (remote spawn, ../remote.c), so it is its parent, and as subreaper it also
 * reaps whatever the init leaves behind. It records how the init ended, optionally captures its stdout
 * and stderr into a log, and runs the runtime's exit step. Started by src/monitor/ in a session of its
 * own (setsid), so the caller's terminal going away does not reach it.
 *
 *   tsrunc-monitor [-p N] [-l] STATEDIR [CMD ARG...]
 *
 * fds 3…3+N-1  (-p N) the fds the container is to get (--preserve-fds, LISTEN_FDS): it inherits them
 *        from us at clone, so they sit at their final numbers here; closed once it is spawned.
 * fd 3+N the SOCK_SEQPACKET connection to the runtime: one spawn request (remote.c), then one commit
 *        record (../monitor.h) naming the init's pid once the container has started. EOF before the
 *        commit means the create failed: the monitor kills what it spawned, reaps it, records nothing.
 * fd 4+N with -l: the log file (opened O_APPEND by the runtime). The container's stdout and stderr are
 *        pipes held here; every read becomes records in CRI's log format:
 *        "<RFC 3339 time, ns> <stdout|stderr> <F|P> <text>\n" (P: the line goes on in the next record).
 * STATEDIR  the container's state directory: exit.json is written there atomically (temp + rename) as
 *        {"code":N|null,"signal":N|null,"at":"<RFC 3339>"} once the init has ended and the pipes are
 *        drained.
 * CMD    the runtime's exit step (poststop hooks, --rm), run after exit.json with stdio on /dev/null and
 *        waited for. Before it, the monitor takes wait.lock (made in STATEDIR at start) exclusively: a `tsrunc wait`
 *        holds it shared while it reads exit.json, so a removal cannot pull the status from under it.
 *
 * Descendants that outlive the init (no PID namespace) stay the monitor's: it reaps them and logs their
 * output until the last has ended, and only then exits. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../monitor.h"

int tsrunc_spawner_serve_one(int sock);

enum { EARLY = 16 };

/* Children reaped before the commit named the init (a fast init, or the intermediate process of a
 * double fork): the init's status is looked up here once its pid is known. */
struct early {
  pid_t pid;
  int status;
};

struct monitor {
  int dirfd, sigfd, sock, log, lock;
  int pipes[2]; /* read ends of the container's stdout and stderr, -1 once closed */
  pid_t child;  /* what we spawned */
  pid_t init;   /* the committed init, 0 before the commit */
  int ended, status, childless;
  struct early early[EARLY];
  int nearly;
};

static void die(const char *what) {
  /* stderr is /dev/null unless the runtime runs us by hand; the exit status is what it sees. */
  fprintf(stderr, "tsrunc-monitor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* "2026-11-23T23:10:00.123456789Z" into buf (at least 40 bytes). */
static void timestamp(char *buf, size_t len) {
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf + n, len - n, ".%09ldZ", ts.tv_nsec);
}

/* One read of stream k (0 stdout, 1 stderr) as log records; closes the pipe at EOF. Returns the bytes
 * read, 0 at EOF or when nothing is there (non-blocking). */
static ssize_t pump(struct monitor *m, int k) {
  static char in[16384], out[16384 + 4096];
  ssize_t n;
  do n = read(m->pipes[k], in, sizeof in);
  while (n < 0 && errno == EINTR);
  if (n < 0 && errno == EAGAIN) return 0;
  if (n <= 0) {
    close(m->pipes[k]);
    m->pipes[k] = -1;
    return 0;
  }
  char ts[48];
  timestamp(ts, sizeof ts);
  const char *stream = k == 0 ? "stdout" : "stderr";
  size_t used = 0;
  for (ssize_t start = 0; start < n;) {
    const char *nl = memchr(in + start, '\n', (size_t)(n - start));
    size_t len = nl ? (size_t)(nl - (in + start)) : (size_t)(n - start);
    /* Records are flushed whenever the next one might not fit. */
    if (used + len + 64 > sizeof out) {
      if (write_all(m->log, out, used) < 0) break;
      used = 0;
    }
    used += (size_t)snprintf(out + used, sizeof out - used, "%s %s %c ", ts, stream, nl ? 'F' : 'P');
    memcpy(out + used, in + start, len);
    used += len;
    out[used++] = '\n';
    start += (ssize_t)len + (nl ? 1 : 0);
  }
  /* A full disk must not stop the container: the record is lost, the monitor goes on. */
  if (used > 0) (void)write_all(m->log, out, used);
  return n;
}

/* Reaps every exited child; the committed init's status ends the watch. */
static void reap(struct monitor *m) {
  for (;;) {
    int st;
    pid_t p = waitpid(-1, &st, WNOHANG);
    if (p < 0 && errno == ECHILD) m->childless = 1;
    if (p <= 0) return;
    if (m->init > 0 && p == m->init) {
      m->ended = 1;
      m->status = st;
    } else if (m->init == 0) {
      m->early[m->nearly % EARLY] = (struct early){p, st};
      m->nearly++;
    }
  }
}

/* The commit record (or EOF) on the runtime connection. */
static void read_commit(struct monitor *m) {
  struct monitor_commit c;
  ssize_t n;
  do n = recv(m->sock, &c, sizeof c, 0);
  while (n < 0 && errno == EINTR);
  close(m->sock);
  m->sock = -1;
  if (n != (ssize_t)sizeof c || c.type != MONITOR_COMMIT || c.pid <= 0) {
    /* The create failed (or the runtime died): nothing of this container may stay behind. A child
     * already reaped has no pid to kill any more (it may be someone else's now). */
    int reaped = 0;
    for (int k = 0; k < (m->nearly < EARLY ? m->nearly : EARLY); k++) reaped |= m->early[k].pid == m->child;
    if (!reaped) kill(m->child, SIGKILL);
    while (waitpid(-1, NULL, 0) > 0 || errno == EINTR) {
    }
    exit(1);
  }
  m->init = c.pid;
  int held = m->nearly < EARLY ? m->nearly : EARLY;
  for (int k = 0; k < held; k++)
    if (m->early[k].pid == m->init) {
      m->ended = 1;
      m->status = m->early[k].status;
    }
}

/* exit.json, atomically; a container deleted meanwhile has no directory left, which is fine. */
static void record_exit(struct monitor *m) {
  char at[48], buf[160];
  timestamp(at, sizeof at);
  int code = WIFEXITED(m->status) ? WEXITSTATUS(m->status) : -1;
  int sig = WIFSIGNALED(m->status) ? WTERMSIG(m->status) : -1;
  char c[16] = "null", s[16] = "null";
  if (code >= 0) snprintf(c, sizeof c, "%d", code);
  if (sig >= 0) snprintf(s, sizeof s, "%d", sig);
  int n = snprintf(buf, sizeof buf, "{\"code\":%s,\"signal\":%s,\"at\":\"%s\"}\n", c, s, at);
  int fd = openat(m->dirfd, ".exit.json.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  int ok = write_all(fd, buf, (size_t)n) == 0;
  close(fd);
  if (!ok || renameat(m->dirfd, ".exit.json.tmp", m->dirfd, "exit.json") < 0) unlinkat(m->dirfd, ".exit.json.tmp", 0);
}

/* Runs the exit step and waits for it, reaping anything else that ends meanwhile. */
static void run_exit_step(struct monitor *m, char **cmd) {
  int lock = m->lock;
  if (lock >= 0)
    while (flock(lock, LOCK_EX) < 0 && errno == EINTR) {
    }
  pid_t p = fork();
  if (p < 0) return;
  if (p == 0) {
    /* Ignored signals and the mask survive exec: the step starts as any process would. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    int null = open("/dev/null", O_RDWR);
    if (null >= 0)
      for (int k = 0; k < 3; k++) dup2(null, k);
    execvp(cmd[0], cmd);
    _exit(127);
  }
  /* Held until the step has ended: a waiter that comes during a removal finds the container gone. */
  for (;;) {
    pid_t r = waitpid(-1, NULL, 0);
    if (r == p || (r < 0 && errno != EINTR)) break;
  }
  if (lock >= 0) close(lock);
}

/* One round of the event loop: wait for a signal, a record from the runtime or output. */
static void step(struct monitor *m) {
  struct pollfd p[4];
  int n = 0;
  p[n++] = (struct pollfd){.fd = m->sigfd, .events = POLLIN};
  int sock = m->sock;
  if (sock >= 0) p[n++] = (struct pollfd){.fd = sock, .events = POLLIN};
  for (int k = 0; k < 2; k++)
    if (m->pipes[k] >= 0) p[n++] = (struct pollfd){.fd = m->pipes[k], .events = POLLIN};
  /* Once childless there is nothing left to wait for: the caller's loop ends. */
  reap(m);
  if (m->childless && m->ended) return;
  if (poll(p, (nfds_t)n, -1) < 0) {
    if (errno == EINTR) return;
    die("poll");
  }
  struct signalfd_siginfo si;
  while (read(m->sigfd, &si, sizeof si) > 0) {
  }
  reap(m);
  if (sock >= 0 && p[1].revents) read_commit(m);
  for (int k = 0; k < 2; k++)
    if (m->pipes[k] >= 0) pump(m, k);
}

int main(int argc, char **argv) {
  struct monitor m = {.log = -1, .pipes = {-1, -1}};
  int a = 1, preserved = 0;
  if (a + 1 < argc && strcmp(argv[a], "-p") == 0) {
    preserved = atoi(argv[a + 1]);
    a += 2;
  }
  m.sock = 3 + preserved;
  if (a < argc && strcmp(argv[a], "-l") == 0) {
    m.log = 4 + preserved;
    a++;
  }
  if (a >= argc || preserved < 0 || preserved > 900) {
    fprintf(stderr, "usage: tsrunc-monitor [-p N] [-l] STATEDIR [CMD ARG...] (fd 3+N: the runtime; started by tsrunc run -d)\n");
    return 2;
  }
  char **cmd = argv + a + 1;
  if ((m.dirfd = open(argv[a], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) die(argv[a]);
  /* Made now, while the directory surely exists: at the end it may be being removed (delete). */
  if ((m.lock = openat(m.dirfd, "wait.lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0600)) < 0) die("wait.lock");
  if (fcntl(m.sock, F_SETFD, FD_CLOEXEC) < 0) die("the runtime's fd");
  if (m.log >= 0 && fcntl(m.log, F_SETFD, FD_CLOEXEC) < 0) die("the log fd");
  /* Orphans of the container (its daemons, with no PID namespace) come to us, not to init. */
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("PR_SET_CHILD_SUBREAPER");
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  if (sigprocmask(SIG_BLOCK, &chld, NULL) < 0) die("sigprocmask");
  if ((m.sigfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) die("signalfd");

  /* The container inherits our stdout and stderr: with a log, make them the pipes we read. */
  if (m.log >= 0)
    for (int k = 0; k < 2; k++) {
      int p[2];
      if (pipe2(p, O_CLOEXEC) < 0 || dup2(p[1], 1 + k) < 0) die("pipe");
      close(p[1]);
      if (fcntl(p[0], F_SETFL, O_NONBLOCK) < 0) die("pipe");
      m.pipes[k] = p[0];
    }
  int r = tsrunc_spawner_serve_one(m.sock);
  if (r <= 0) return 1; /* the runtime was told why, or is gone */
  m.child = r;
  for (int k = 0; k < preserved; k++) close(3 + k);
  /* Only the container holds the write ends now: their EOF is its. */
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0) die("/dev/null");

  /* Until the init has ended and the runtime has committed (or hung up). */
  while (!m.ended || m.sock >= 0) step(&m);
  /* Everything the init wrote is in the pipes by now. */
  for (int k = 0; k < 2; k++)
    while (m.pipes[k] >= 0 && pump(&m, k) > 0) {
    }
  record_exit(&m);
  if (*cmd) run_exit_step(&m, cmd);
  /* Its orphans (no PID namespace) are ours until they end: reaped, their output still logged. Were we
   * to leave now they would go to init, and a pipe without a reader would kill them with SIGPIPE. */
  while (!m.childless) step(&m);
  if (m.log >= 0)
    for (int k = 0; k < 2; k++)
      while (m.pipes[k] >= 0 && pump(&m, k) > 0) {
      }
  return 0;
}
