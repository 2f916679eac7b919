#include "cri_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* UTC calendar date of a day count since 1970-01-01 (H. Hinnant's
 * civil_from_days): no gmtime, whose time-zone code would bring a large
 * part of libc into this static binary. */
static void civil_from_days(long long z, int *y, unsigned *m, unsigned *d) {
  z += 719468;
  long long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int)(yoe + era * 400 + (*m <= 2));
}

void cri_log_line(int log_fd, const char *stream, int full, const char *text, size_t len) {
  struct timespec now;
  char head[96];
  clock_gettime(CLOCK_REALTIME, &now);
  long long days = now.tv_sec / 86400, secs = now.tv_sec % 86400;
  int y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  size_t n = (size_t)snprintf(head, sizeof head, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ %s %c ", y, mo, d,
                              secs / 3600, secs / 60 % 60, secs % 60, now.tv_nsec, stream, full ? 'F' : 'P');
  struct iovec iov[3] = { { head, n }, { (void *)text, len }, { "\n", 1 } };
  (void)!writev(log_fd, iov, 3);
}

void cri_log_pump(int log_fd, struct log_stream *ls, int tee_fd) {
  ssize_t n = read(ls->fd, ls->buf + ls->len, sizeof ls->buf - ls->len);
  if (n > 0 && tee_fd >= 0) (void)!send(tee_fd, ls->buf + ls->len, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (ls->len) cri_log_line(log_fd, ls->name, 0, ls->buf, ls->len); /* last line without newline */
    ls->len = 0;
    close(ls->fd);
    ls->fd = -1;
    return;
  }
  ls->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < ls->len; i++) {
    if (ls->buf[i] != '\n') continue;
    cri_log_line(log_fd, ls->name, 1, ls->buf + start, i - start);
    start = i + 1;
  }
  if (start == 0 && ls->len == sizeof ls->buf) { /* no newline in a full buffer */
    cri_log_line(log_fd, ls->name, 0, ls->buf, ls->len);
    ls->len = 0;
    return;
  }
  memmove(ls->buf, ls->buf + start, ls->len - start);
  ls->len -= start;
}
