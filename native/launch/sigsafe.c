/* Async-signal-safe helpers for the child (no libc string functions that
 * might be IFUNC-resolved lazily or allocate). */
#include "child.h"

#include <errno.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

size_t ss_len(const char *s) {
  size_t n = 0;
  while (s && s[n]) n++;
  return n;
}

char *ss_cat(char *dst, size_t cap, const char *src) {
  size_t n = ss_len(dst);
  while (src && *src && n + 1 < cap) dst[n++] = *src++;
  dst[n] = 0;
  return dst;
}

char *ss_cat_int(char *dst, size_t cap, long v) {
  char tmp[24];
  int i = 0, neg = v < 0;
  unsigned long u = neg ? (unsigned long)(-(v + 1)) + 1 : (unsigned long)v;
  do { tmp[i++] = (char)('0' + u % 10); u /= 10; } while (u);
  if (neg) tmp[i++] = '-';
  char out[24];
  int j = 0;
  while (i) out[j++] = tmp[--i];
  out[j] = 0;
  return ss_cat(dst, cap, out);
}

int ss_eq(const char *a, const char *b) {
  while (*a && *a == *b) { a++; b++; }
  return *a == *b;
}

int ss_has_prefix(const char *s, const char *prefix) {
  while (*prefix) if (*s++ != *prefix++) return 0;
  return 1;
}

const char *ss_fd_path(char *buf, size_t cap, int fd) {
  buf[0] = 0;
  ss_cat(buf, cap, "/proc/self/fd/");
  return ss_cat_int(buf, cap, fd);
}

void child_fail(struct child *c, int step, int err, int index, const char *detail) {
  struct sync_msg m;
  char *p = (char *)&m;
  for (size_t i = 0; i < sizeof m; i++) p[i] = 0;
  m.type = MSG_ERROR;
  m.err.step = step;
  m.err.err = err;
  m.err.index = index;
  ss_cat(m.err.detail, sizeof m.err.detail, detail);
  if (c->shared_err) {
    char *dst = (char *)c->shared_err;
    const char *src = (const char *)&m.err;
    for (size_t i = 0; i < sizeof m.err; i++) dst[i] = src[i];
  }
  /* best effort: the parent treats EOF without a message as a crash */
  (void)!send(c->sync_fd, &m, sizeof m, MSG_NOSIGNAL);
  syscall(SYS_exit_group, 127);
  for (;;) {}
}
