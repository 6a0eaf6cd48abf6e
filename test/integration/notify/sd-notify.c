/* sd-notify: a tiny static stand-in for systemd-notify inside busybox containers. Sends its arguments,
 * one per line, as a single datagram to $NOTIFY_SOCKET ("@name" is an abstract socket). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  const char *path = getenv("NOTIFY_SOCKET");
  if (!path || !*path) {
    fprintf(stderr, "sd-notify: NOTIFY_SOCKET is not set\n");
    return 2;
  }
  char msg[4096];
  size_t n = 0;
  for (int i = 1; i < argc; i++) {
    size_t l = strlen(argv[i]);
    if (n + l + 2 > sizeof msg) return 2;
    memcpy(msg + n, argv[i], l);
    n += l;
    msg[n++] = '\n';
  }
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  size_t pl = strlen(path);
  if (pl >= sizeof sa.sun_path) return 2;
  memcpy(sa.sun_path, path, pl);
  if (path[0] == '@') sa.sun_path[0] = '\0';
  socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + pl + (path[0] == '@' ? 0 : 1));
  int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
  if (fd < 0 || sendto(fd, msg, n, 0, (struct sockaddr *)&sa, len) < 0) {
    perror("sd-notify");
    return 1;
  }
  return 0;
}
