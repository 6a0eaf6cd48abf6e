/* The container's only program when the host has no busybox: greets, and says who and where it is. */
#include <stdio.h>
#include <sys/utsname.h>
#include <unistd.h>

int main(void) {
  struct utsname u;
  if (uname(&u) != 0) {
    perror("uname");
    return 1;
  }
  printf("Hello from a tsrunc container!\n");
  printf("I am uid=%u gid=%u\n", (unsigned)getuid(), (unsigned)getgid());
  printf("My hostname is %s\n", u.nodename);
  return 0;
}
