/* A stranger at a tsrunc server's socket (test of src/server/serve.ts): connects to argv[1], sends a
 * well-formed `list` request as the front end would, with fds 0-2, and prints the first reply's type
 * ("TSDI" direct, "TSAC" accepted, …), "EOF" when the server closed, or "connect: <errno name>". */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  int fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  strncpy(sa.sun_path, argv[1], sizeof sa.sun_path - 1);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
    printf("connect: %s\n", errno == EACCES ? "EACCES" : strerror(errno));
    return 0;
  }
  mode_t mask = umask(0);
  umask(mask);
  uint32_t hdr[4] = {0x51524654u, mask, 1, 0};
  char body[] = "list\0/";
  struct iovec iov[2] = {{hdr, sizeof hdr}, {body, sizeof body}};
  union {
    char buf[CMSG_SPACE(3 * sizeof(int))];
    struct cmsghdr align;
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(3 * sizeof(int));
  int fds[3] = {0, 1, 2};
  memcpy(CMSG_DATA(cm), fds, sizeof fds);
  sendmsg(fd, &m, MSG_NOSIGNAL);
  char reply[4096];
  ssize_t n = recv(fd, reply, sizeof reply, 0);
  if (n < 4) printf("EOF\n");
  else printf("%.4s\n", reply);
  return 0;
}
