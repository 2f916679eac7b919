#include "cri_log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
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

/* name is "<log name>.<digits>": that rotated file's logical offset in *off. */
static int rotated_offset(const struct container_log *l, const char *name, long long *off) {
  size_t n = strlen(l->name);
  if (strncmp(name, l->name, n) != 0 || name[n] != '.' || !name[n + 1]) return 0;
  char *end;
  errno = 0;
  long long v = strtoll(name + n + 1, &end, 10);
  if (*end || errno || v < 0 || name[n + 1] == '+' || name[n + 1] == '-') return 0;
  *off = v;
  return 1;
}

/* The rotated files: how many, the oldest, and the newest (with its size). */
struct rotated_files { int count; long long oldest, newest, newest_size; };

static int scan_rotated(const struct container_log *l, struct rotated_files *r) {
  r->count = 0;
  r->oldest = r->newest = -1;
  r->newest_size = 0;
  int fd = openat(l->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR *d = fd < 0 ? NULL : fdopendir(fd);
  if (!d) { if (fd >= 0) close(fd); return -1; }
  struct dirent *e;
  long long off;
  while ((e = readdir(d))) {
    if (!rotated_offset(l, e->d_name, &off)) continue;
    r->count++;
    if (r->oldest < 0 || off < r->oldest) r->oldest = off;
    if (off > r->newest) {
      struct stat st;
      r->newest = off;
      r->newest_size = fstatat(l->dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_size : 0;
    }
  }
  closedir(d);
  return 0;
}

/* Remove the oldest rotated files until LOG and the rest are max_files. */
static void prune_rotated(const struct container_log *l) {
  struct rotated_files r;
  while (scan_rotated(l, &r) == 0 && r.count > l->max_files - 1) {
    char name[512];
    snprintf(name, sizeof name, "%s.%lld", l->name, r.oldest);
    if (unlinkat(l->dirfd, name, 0) < 0) return;
  }
}

int cri_log_rotation_valid(long long max_size, int max_files) {
  return max_size == 0 || (max_size >= CRI_LOG_MIN_ROTATE_SIZE && max_files >= 2);
}

int container_log_open(struct container_log *l, const char *path, long long max_size, int max_files) {
  memset(l, 0, sizeof *l);
  l->fd = l->dirfd = -1;
  l->max_size = max_size > 0 && max_files >= 2 ? max_size : 0;
  l->max_files = max_files;
  const char *slash = strrchr(path, '/');
  char dir[4096];
  if (slash) snprintf(dir, sizeof dir, "%.*s", (int)(slash - path) + (slash == path), path);
  else snprintf(dir, sizeof dir, ".");
  const char *base_name = slash ? slash + 1 : path;
  if (!*base_name || strlen(base_name) > 200) { errno = EINVAL; return -1; }
  if (!(l->name = strdup(base_name))) return -1;
  if ((l->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
      (l->fd = openat(l->dirfd, l->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640)) < 0) {
    int e = errno;
    container_log_close(l);
    errno = e;
    return -1;
  }
  struct stat st;
  l->size = fstat(l->fd, &st) == 0 ? st.st_size : 0;
  struct rotated_files r;
  if (scan_rotated(l, &r) == 0 && r.count) l->base = r.newest + r.newest_size;
  if (l->max_size) prune_rotated(l);
  return 0;
}

int container_log_reopen(struct container_log *l) {
  if (l->fd < 0) { errno = EBADF; return -1; }
  int fd = openat(l->dirfd, l->name, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) return -1;
  struct stat st;
  l->base += l->size;
  l->size = fstat(fd, &st) == 0 ? st.st_size : 0;
  close(l->fd);
  l->fd = fd;
  return 0;
}

void container_log_close(struct container_log *l) {
  if (l->fd >= 0) close(l->fd);
  if (l->dirfd >= 0) close(l->dirfd);
  free(l->name);
  l->fd = l->dirfd = -1;
  l->name = NULL;
}

long long container_log_offset(const struct container_log *l) {
  return l->base + l->size;
}

/* LOG → LOG.<base>, a new empty LOG. On failure the old file stays LOG
 * (it grows past the limit rather than the output being lost). */
static void rotate(struct container_log *l) {
  char rotated[512];
  snprintf(rotated, sizeof rotated, "%s.%lld", l->name, l->base);
  if (renameat(l->dirfd, l->name, l->dirfd, rotated) < 0) return;
  int fd = openat(l->dirfd, l->name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
  if (fd < 0) {
    (void)renameat(l->dirfd, rotated, l->dirfd, l->name);
    return;
  }
  close(l->fd);
  l->fd = fd;
  l->base += l->size;
  l->size = 0;
  prune_rotated(l);
}

void cri_log_line(struct container_log *l, const char *stream, int full, const char *text, size_t len) {
  struct timespec now;
  char head[96];
  clock_gettime(CLOCK_REALTIME, &now);
  long long days = now.tv_sec / 86400, secs = now.tv_sec % 86400;
  int y;
  unsigned mo, d;
  civil_from_days(days, &y, &mo, &d);
  size_t n = (size_t)snprintf(head, sizeof head, "%04d-%02u-%02uT%02lld:%02lld:%02lld.%09ldZ %s %c ", y, mo, d,
                              secs / 3600, secs / 60 % 60, secs % 60, now.tv_nsec, stream, full ? 'F' : 'P');
  if (l->max_size && l->size > 0 && l->size + (long long)(n + len + 1) > l->max_size) rotate(l);
  struct iovec iov[3] = { { head, n }, { (void *)text, len }, { "\n", 1 } };
  ssize_t w = writev(l->fd, iov, 3);
  if (w > 0) l->size += w;
}

void cri_log_pump(struct container_log *l, struct log_stream *ls, int tee_fd) {
  ssize_t n = read(ls->fd, ls->buf + ls->len, sizeof ls->buf - ls->len);
  if (n > 0 && tee_fd >= 0) (void)!send(tee_fd, ls->buf + ls->len, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (ls->len) cri_log_line(l, ls->name, 0, ls->buf, ls->len); /* last line without newline */
    ls->len = 0;
    close(ls->fd);
    ls->fd = -1;
    return;
  }
  ls->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < ls->len; i++) {
    if (ls->buf[i] != '\n') continue;
    cri_log_line(l, ls->name, 1, ls->buf + start, i - start);
    start = i + 1;
  }
  if (start == 0 && ls->len == sizeof ls->buf) { /* no newline in a full buffer */
    cri_log_line(l, ls->name, 0, ls->buf, ls->len);
    ls->len = 0;
    return;
  }
  memmove(ls->buf, ls->buf + start, ls->len - start);
  ls->len -= start;
}
