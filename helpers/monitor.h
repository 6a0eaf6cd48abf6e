/* monitor.h — the runtime's side of a detached container's monitor (monitor/main.c): after the remote
 * spawn (remote.c) on the same connection, one record says the container has started and which pid is
 * its init. Without it (EOF), the create failed: the monitor kills what it spawned and records nothing. */
#ifndef TSRUNC_MONITOR_H
#define TSRUNC_MONITOR_H
#include <stdint.h>

#define MONITOR_COMMIT 0x314e4f4du /* "MON1" */

struct monitor_commit {
  uint32_t type;
  int32_t pid;
};

#endif
