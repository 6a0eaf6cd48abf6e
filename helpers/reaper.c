/* reaper.c — one waiter for many processes (src/native/reaper.ts): an epoll set of pidfds plus an
 * eventfd to wake it, waited on by one koffi async call, instead of one blocked waitid per process
 * (each held a libuv threadpool thread: with more than four waiting, all other async work stalled). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plan.h"

/* A new epoll set holding a new eventfd (its wake-up): out = [epoll fd, eventfd]. 0 or -errno. */
TSR_API int tsrunc_reaper_open(int32_t *out) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return -errno;
  int ev = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (ev < 0) {
    int e = errno;
    close(ep);
    return -e;
  }
  struct epoll_event e = {.events = EPOLLIN, .data.fd = ev};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, ev, &e) < 0) {
    int err = errno;
    close(ev);
    close(ep);
    return -err;
  }
  out[0] = ep;
  out[1] = ev;
  return 0;
}

/* add != 0: watch `fd` for readability (a pidfd is readable once its process has exited); else stop
 * watching it. epoll_ctl is safe while another thread sits in tsrunc_reaper_wait. 0 or -errno. */
TSR_API int tsrunc_reaper_ctl(int ep, int fd, int add) {
  struct epoll_event e = {.events = EPOLLIN, .data.fd = fd};
  return epoll_ctl(ep, add ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, fd, &e) < 0 ? -errno : 0;
}

/* Wakes a tsrunc_reaper_wait in progress (it then reports the eventfd among the ready fds). */
TSR_API int tsrunc_reaper_poke(int ev) {
  uint64_t one = 1;
  return write(ev, &one, sizeof one) == sizeof one || errno == EAGAIN ? 0 : -errno;
}

/* Blocks until fds of the set are readable: writes up to `max` of them into `fds` and returns how many,
 * or -errno. Drains the eventfd when it is among them. Called through koffi's .async. */
TSR_API int tsrunc_reaper_wait(int ep, int ev, int32_t *fds, int max) {
  struct epoll_event evs[64];
  if (max > 64) max = 64;
  int n;
  do n = epoll_wait(ep, evs, max, -1);
  while (n < 0 && errno == EINTR);
  if (n < 0) return -errno;
  for (int i = 0; i < n; i++) {
    fds[i] = evs[i].data.fd;
    if (evs[i].data.fd == ev) {
      uint64_t v;
      if (read(ev, &v, sizeof v) < 0 && errno != EAGAIN) return -errno;
    }
  }
  return n;
}

/* Reaps the process behind `pidfd` if it has exited: its status as tsrunc_wait gives it,
 * -EAGAIN while it runs, -ECHILD when it is not our child (exited, status unknown), or -errno. */
TSR_API int tsrunc_wait_nohang(int pidfd) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  int r;
  do r = waitid(P_PIDFD, (id_t)pidfd, &si, WEXITED | WNOHANG | __WALL);
  while (r < 0 && errno == EINTR);
  if (r < 0) return -errno;
  if (si.si_pid == 0) return -EAGAIN;
  if (si.si_code == CLD_EXITED) return si.si_status & 0xff;
  return (si.si_status << 16) | ((128 + si.si_status) & 0xff);
}
