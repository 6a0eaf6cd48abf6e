/* winsize: prints the window size of its stdin ("ROWS COLS"), after sleeping argv[1] seconds if given.
 * A static stand-in for `stty size` in busybox containers. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc > 1) sleep((unsigned)atoi(argv[1]));
  struct winsize ws;
  if (ioctl(0, TIOCGWINSZ, &ws) < 0) {
    perror("winsize");
    return 1;
  }
  printf("%u %u\n", ws.ws_row, ws.ws_col);
  return 0;
}
