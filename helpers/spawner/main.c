/* spawner/main.c — the tsrunc-spawner executable: a Runtime (src/native/spawner.ts) starts one and has it
 * clone every container (remote.c, REMOTE_SPAWN_SIBLING) from this small address space instead of from
 * Node's. A clone from Node copies its page tables (tens of MiB mapped), makes every later write of Node
 * to those pages a copy-on-write fault, and the child's execve tears the copy down again: about a
 * millisecond of CPU per container. The containers are still the runtime's children (CLONE_PARENT).
 * Serves requests on fd 3 until the runtime hangs up. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/prctl.h>

int tsrunc_spawner_serve_one(int sock);

int main(void) {
  /* Gone with the runtime that started us, even if it could not close the connection. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0) return 1;
  for (;;) {
    int r = tsrunc_spawner_serve_one(3);
    if (r == 0) return 0;                              /* the runtime hung up */
    if (r == -EPROTO || r == -EBADF || r == -EPIPE) return 1; /* not a runtime on the other end */
  }
}
