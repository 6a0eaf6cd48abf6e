/* A minimal spawner for the remote-spawn test (helpers/remote.c): serves spawn requests on fd 4 until
 * the runtime hangs up, then reaps its children, printing "spawned PID" and "exit PID CODE" lines. */
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

int tsrunc_spawner_serve_one(int sock);

int main(void) {
  for (int pid; (pid = tsrunc_spawner_serve_one(4)) != 0;) {
    if (pid < 0) printf("error %d\n", pid);
    else printf("spawned %d\n", pid);
    fflush(stdout);
  }
  close(4);
  int st;
  for (pid_t p; (p = wait(&st)) > 0;) printf("exit %d %d\n", p, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
  return 0;
}
