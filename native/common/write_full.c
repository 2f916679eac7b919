#include "write_full.h"

#include <errno.h>
#include <poll.h>
#include <unistd.h>

int write_full(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { struct pollfd pfd = { fd, POLLOUT, 0 }; poll(&pfd, 1, 1000); continue; }
      return -1;
    }
    if (n == 0) { errno = EIO; return -1; }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}
