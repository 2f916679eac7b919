/* See handshake.h. */
#include "handshake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "write_full.h"

pid_t handshake_fork(int (*child)(int sync, void *arg), void *arg, int *sync) {
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) {
    int e = errno;
    close(sv[0]); close(sv[1]);
    errno = e;
    return -1;
  }
  if (pid == 0) {
    close(sv[0]);
    _exit(child(sv[1], arg));
  }
  close(sv[1]);
  *sync = sv[0];
  return pid;
}

int handshake_say(int fd, char c) { return write_full(fd, &c, 1) < 0 ? -1 : 0; }

int handshake_hear(int fd, char want) {
  char c;
  ssize_t n;
  do n = read(fd, &c, 1);
  while (n < 0 && errno == EINTR);
  return n == 1 && c == want ? 0 : -1;
}

int proc_pid_write(pid_t pid, const char *file, const char *text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  size_t n = strlen(text);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (write(fd, text, n) != (ssize_t)n) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  close(fd);
  return 0;
}
