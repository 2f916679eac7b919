/* /proc/self/uid_map, parsed without stdio or malloc: the launch child reads it between clone and exec. */
#include "uid_map.h"

#include <fcntl.h>
#include <unistd.h>

static const char *skip_blanks(const char *q) {
  while (*q == ' ' || *q == '\t') q++;
  return q;
}

int uid_map_initial(unsigned long *host_root) {
  if (host_root) *host_root = 0;
  char buf[512];
  int fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return -1;
  buf[n] = 0;
  int lines = 0, identity = 0;
  for (const char *q = buf; *q;) {
    unsigned long long f[3] = { 0, 0, 0 };
    for (int i = 0; i < 3; i++) {
      q = skip_blanks(q);
      if (*q < '0' || *q > '9') return -1; /* not a map as the kernel writes it */
      while (*q >= '0' && *q <= '9') f[i] = f[i] * 10 + (unsigned long long)(*q++ - '0');
    }
    q = skip_blanks(q);
    if (*q == '\n') q++;
    else if (*q) return -1;
    if (lines++ == 0) identity = f[0] == 0 && f[1] == 0 && f[2] == 4294967295ULL;
    if (f[0] == 0 && host_root) *host_root = (unsigned long)f[1];
  }
  return lines == 1 && identity;
}
