/* remote.c — spawning through another process. The process that must become the container's parent
 * (the CLI front end, the monitor of a detached container) is a "spawner": it receives a plan from the
 * runtime over a SOCK_SEQPACKET connection, runs tsrunc_spawn itself, and hands back the child's pid,
 * its pidfd and the parent's end of the sync socket. The runtime then drives the child exactly as if it
 * had cloned it. Nothing here runs in the child.
 *
 * Request (runtime -> spawner), one record: struct remote_req, then the encoded plan; SCM_RIGHTS carries
 * `nfds` fds, the k-th of which the spawner installs at fd number target[k] (the plan names fds by
 * those numbers: namespace fds to join, stdio sources, the state dir of the start socket path).
 * Reply (spawner -> runtime), one record: struct remote_reply; on success SCM_RIGHTS carries the pidfd
 * and the sync fd. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "plan.h"

#define REMOTE_SPAWN 0x31575053u   /* "SPW1" */
#define REMOTE_SPAWNED 0x32575053u /* "SPW2" */
/* As REMOTE_SPAWN, but the child becomes a child of the spawner's parent (CLONE_PARENT): a runtime that
 * started its own spawner keeps reaping its containers, without cloning them from its big address space. */
#define REMOTE_SPAWN_SIBLING 0x33575053u /* "SPW3" */
#define REMOTE_MAXLEN (4u << 20)

struct remote_req {
  uint32_t type, nfds;
  int32_t target[TSR_REMOTE_MAXFDS];
};

struct remote_reply {
  uint32_t type;
  int32_t r;
  int32_t out[5];
};

/* recvmsg of one record into buf (at most len bytes) and up to TSR_REMOTE_MAXFDS fds (close-on-exec).
 * The record's size, 0 at EOF, or -errno; a truncated record or fd list is -EMSGSIZE (fds closed). */
ssize_t tsr_recv_record(int sock, void *buf, size_t len, int *fds, int *nfds) {
  int flags;
  ssize_t r = tsr_recvmsg_fds(sock, buf, len, fds, TSR_REMOTE_MAXFDS, nfds, &flags);
  if (r >= 0 && (flags & (MSG_TRUNC | MSG_CTRUNC))) {
    for (int k = 0; k < *nfds; k++) close(fds[k]);
    *nfds = 0;
    return -EMSGSIZE;
  }
  return r;
}

/* A connected SOCK_SEQPACKET pair (close-on-exec) for a spawner connection: 0 or -errno. */
TSR_API int tsrunc_seqpacket_pair(int32_t *out) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) return -errno;
  out[0] = sv[0];
  out[1] = sv[1];
  return 0;
}

static int remote_spawn(int sock, uint32_t type, const uint8_t *plan, size_t len, const int32_t *fds, const int32_t *targets,
                        int nfds, int32_t *out);

/* Runtime side: ask the spawner at `sock` to spawn `plan`; fds[k] is installed there as targets[k].
 * Blocks until the spawner answers. Returns like tsrunc_spawn: out = [pid, pidfd, sync fd, bad op
 * index, failing step], with pidfd and sync fd now fds of this process. -EPIPE when the spawner is gone. */
TSR_API int tsrunc_spawn_remote(int sock, const uint8_t *plan, size_t len, const int32_t *fds, const int32_t *targets,
                                int nfds, int32_t *out) {
  return remote_spawn(sock, REMOTE_SPAWN, plan, len, fds, targets, nfds, out);
}

/* tsrunc_spawn_remote for a spawner this process started: the child becomes this process's child. */
TSR_API int tsrunc_spawn_sibling(int sock, const uint8_t *plan, size_t len, const int32_t *fds, const int32_t *targets,
                                 int nfds, int32_t *out) {
  return remote_spawn(sock, REMOTE_SPAWN_SIBLING, plan, len, fds, targets, nfds, out);
}

static int remote_spawn(int sock, uint32_t type, const uint8_t *plan, size_t len, const int32_t *fds, const int32_t *targets,
                        int nfds, int32_t *out) {
  for (int k = 0; k < 5; k++) out[k] = -1;
  if (nfds < 0 || nfds > TSR_REMOTE_MAXFDS || len > REMOTE_MAXLEN) return -EINVAL;
  struct remote_req req = {.type = type, .nfds = (uint32_t)nfds};
  int sent[TSR_REMOTE_MAXFDS];
  for (int k = 0; k < nfds; k++) {
    req.target[k] = targets[k];
    sent[k] = fds[k];
  }
  struct iovec iov[2] = {{.iov_base = &req, .iov_len = sizeof req}, {.iov_base = (void *)plan, .iov_len = len}};
  int r = tsr_send_iov_fds(sock, iov, 2, sent, nfds);
  if (r < 0) return r;

  struct remote_reply rep;
  int got[TSR_REMOTE_MAXFDS], ngot = 0;
  ssize_t n = tsr_recv_record(sock, &rep, sizeof rep, got, &ngot);
  if (n == 0) return -EPIPE;
  if (n < 0) return (int)n;
  int want = rep.r == 0 ? 2 : 0;
  if ((size_t)n != sizeof rep || rep.type != REMOTE_SPAWNED || ngot != want) {
    for (int k = 0; k < ngot; k++) close(got[k]);
    return -EPROTO;
  }
  memcpy(out, rep.out, sizeof rep.out);
  if (rep.r == 0) {
    out[1] = got[0];
    out[2] = got[1];
  }
  return rep.r;
}

/* The next record on `sock`, whatever its size up to `max`, in a buffer malloc'ed for it (*buf, which the
 * caller frees) with its fds: the record's size; 0 at EOF or for an empty record; -EMSGSIZE over `max`;
 * -ENOMEM; or -errno. *buf is NULL unless the size is > 0. */
ssize_t tsr_recv_record_alloc(int sock, size_t max, uint8_t **buf, int *fds, int *nfds) {
  *buf = NULL;
  *nfds = 0;
  ssize_t size;
  do size = recv(sock, NULL, 0, MSG_PEEK | MSG_TRUNC);
  while (size < 0 && errno == EINTR);
  if (size < 0) return -errno;
  if (size == 0) return 0;
  if ((size_t)size > max) return -EMSGSIZE;
  uint8_t *b = malloc((size_t)size + 1);
  if (!b) return -ENOMEM;
  ssize_t n = tsr_recv_record(sock, b, (size_t)size + 1, fds, nfds);
  if (n <= 0) free(b);
  else *buf = b;
  return n;
}

/* Spawner side, for a request record already received (msg/len, with its fds): install the fds, spawn,
 * reply. Returns the child's pid, or -errno when it could not spawn (the runtime was told why) or could
 * not reply. Closes every fd of the request. */
TSR_API int tsrunc_spawner_handle(int sock, const uint8_t *msg, size_t len, const int *fds, int nfds) {
  struct remote_req req;
  struct remote_reply rep = {.type = REMOTE_SPAWNED, .r = 0, .out = {-1, -1, -1, -1, -1}};
  int installed = 0;
  if (len < sizeof req) {
    rep.r = -EPROTO;
    goto reply;
  }
  memcpy(&req, msg, sizeof req);
  if ((req.type != REMOTE_SPAWN && req.type != REMOTE_SPAWN_SIBLING) || req.nfds != (uint32_t)nfds) {
    rep.r = -EPROTO;
    goto reply;
  }
  /* A target must be above stdio and free here: never clobber one of the spawner's own fds. */
  for (int k = 0; k < nfds; k++)
    if (req.target[k] < 3 || fcntl(req.target[k], F_GETFD) >= 0) {
      rep.r = -EBADF;
      goto reply;
    }
  for (; installed < nfds; installed++)
    if (dup3(fds[installed], req.target[installed], O_CLOEXEC) < 0) {
      rep.r = -errno;
      goto reply;
    }
  rep.r = tsr_spawn(msg + sizeof req, len - sizeof req, rep.out, req.type == REMOTE_SPAWN_SIBLING);

reply:
  for (int k = 0; k < installed; k++) close(req.target[k]);
  for (int k = 0; k < nfds; k++) close(fds[k]);
  struct iovec iov = {.iov_base = &rep, .iov_len = sizeof rep};
  int mine[2] = {rep.out[1], rep.out[2]};
  int r = tsr_send_iov_fds(sock, &iov, 1, mine, rep.r == 0 ? 2 : 0);
  if (rep.r == 0) {
    close(mine[0]);
    close(mine[1]);
  }
  if (r < 0) return r;
  return rep.r == 0 ? rep.out[0] : rep.r;
}

/* Spawner side, all in one: receive the next record on `sock` and, when it is a spawn request, handle
 * it. The child's pid; 0 at EOF (the runtime hung up); -EPROTO for a record that is not a request;
 * -errno otherwise. For spawners that have nothing else on the connection. */
TSR_API int tsrunc_spawner_serve_one(int sock) {
  int r;
  uint8_t *buf;
  int fds[TSR_REMOTE_MAXFDS], nfds;
  /* EOF, and an empty record (no request either), are 0. */
  ssize_t n = tsr_recv_record_alloc(sock, REMOTE_MAXLEN + sizeof(struct remote_req), &buf, fds, &nfds);
  if (n <= 0) return (int)n;
  r = tsrunc_spawner_handle(sock, buf, (size_t)n, fds, nfds);
  free(buf);
  return r;
}
