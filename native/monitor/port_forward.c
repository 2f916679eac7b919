/* `podrun-monitor forward NETNS|- PORT`: one port-forward connection into a
 * pod (CRI PortForward, kubectl port-forward): enters the pod's network
 * namespace, connects to localhost:PORT (127.0.0.1, else ::1, as kubelet
 * dials), and relays our stdin to it and its output to our stdout. The end
 * of our stdin half-closes the connection; the end of its output ends us.
 * Exit 0 when the connection ended, 1 (the reason on stderr) when it could
 * not be made. Node cannot enter a network namespace, so the server spawns
 * one of these per forwarded connection. */
#include "port_forward.h"
#include "write_full.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int dial_localhost(int port) {
  struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
  struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port) };
  inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
  v6.sin6_addr = in6addr_loopback;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&v4, sizeof v4) == 0) return fd;
  int saved = errno;
  if (fd >= 0) close(fd);
  fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&v6, sizeof v6) == 0) return fd;
  if (fd >= 0) close(fd);
  errno = saved;
  return -1;
}

int port_forward_main(const char *netns, const char *port_text) {
  char *end = NULL;
  long port = strtol(port_text, &end, 10);
  if (!*port_text || *end || port < 1 || port > 65535) { fprintf(stderr, "podrun-monitor: forward: %s is not a port\n", port_text); return 2; }
  if (strcmp(netns, "-") != 0) {
    int fd = open(netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) { fprintf(stderr, "entering the pod's network namespace %s: %s\n", netns, strerror(errno)); return 1; }
    close(fd);
  }
  int sock = dial_localhost((int)port);
  if (sock < 0) { fprintf(stderr, "dial tcp localhost:%ld: %s\n", port, strerror(errno)); return 1; }
  int in = STDIN_FILENO;
  for (;;) {
    struct pollfd p[2] = { { sock, POLLIN, 0 }, { in, POLLIN, 0 } };
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    if (p[0].revents) {
      char buf[32768];
      ssize_t n = read(sock, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || write_full(STDOUT_FILENO, buf, (size_t)n) < 0) break;
    }
    if (p[1].revents) {
      char buf[32768];
      ssize_t n = read(in, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n > 0) { if (write_full(sock, buf, (size_t)n) < 0) break; }
      else { shutdown(sock, SHUT_WR); in = -1; }
    }
  }
  close(sock);
  return 0;
}
