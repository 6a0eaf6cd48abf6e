/* monitor.c — the runtime's side of the monitor protocol (monitor.h): tell the monitor that its
 * container started. Runs in the runtime (Node's main thread), never in the child. */
#include <errno.h>
#include <sys/socket.h>

#include "monitor.h"
#include "plan.h"

/* Sends the commit record for init `pid` on the monitor connection `sock`: 0 or -errno (-EPIPE: the
 * monitor is gone). */
TSR_API int tsrunc_monitor_commit(int sock, int32_t pid) {
  struct monitor_commit c = {.type = MONITOR_COMMIT, .pid = pid};
  ssize_t r;
  do r = send(sock, &c, sizeof c, MSG_NOSIGNAL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  return r == (ssize_t)sizeof c ? 0 : -EPROTO;
}
