/* `podrun-monitor probe`: Kubernetes tcpSocket and httpGet probes, from
 * inside the pod's network namespace (so a loopback-only pod is reachable
 * too). Exit 0 on success, 1 on failure (the reason on stdout), 2 on bad
 * arguments. HTTP: success is a status from 200 to 399, as kubelet's. */
#include "net_probe.h"

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
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int failed(const char *fmt, const char *a, const char *b) {
  printf(fmt, a, b);
  putchar('\n');
  return 1;
}

/* Wait for events on fd until the deadline; 0 when ready, -1 on timeout. */
static int wait_for(int fd, short events, long long deadline) {
  for (;;) {
    long long left = deadline - now_ms();
    if (left <= 0) return -1;
    struct pollfd p = { fd, events, 0 };
    int n = poll(&p, 1, (int)left);
    if (n > 0) return 0;
    if (n < 0 && errno != EINTR) return -1;
  }
}

static int connect_to(const char *host, const char *port, long long deadline, char *why, size_t cap) {
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len;
  int p = atoi(port);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) { v4->sin_family = AF_INET; v4->sin_port = htons((uint16_t)p); len = sizeof *v4; }
  else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) { v6->sin6_family = AF_INET6; v6->sin6_port = htons((uint16_t)p); len = sizeof *v6; }
  else { snprintf(why, cap, "host %s is not an IP address", host); return -1; }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) { snprintf(why, cap, "socket: %s", strerror(errno)); return -1; }
  if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
    snprintf(why, cap, "dial tcp %s:%s: %s", host, port, strerror(errno));
    close(fd);
    return -1;
  }
  int err = 0;
  socklen_t elen = sizeof err;
  if (wait_for(fd, POLLOUT, deadline) < 0) { snprintf(why, cap, "dial tcp %s:%s: timed out", host, port); close(fd); return -1; }
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
    snprintf(why, cap, "dial tcp %s:%s: %s", host, port, strerror(err ? err : errno));
    close(fd);
    return -1;
  }
  return fd;
}

/* argv: NETNS|- tcp HOST PORT TIMEOUT_MS
 *       NETNS|- http HOST PORT PATH TIMEOUT_MS [NAME:VALUE...] */
int net_probe_main(int argc, char **argv) {
  if (argc < 5) return 2;
  const char *netns = argv[0], *kind = argv[1], *host = argv[2], *port = argv[3];
  int http = strcmp(kind, "http") == 0;
  if (!http && strcmp(kind, "tcp") != 0) return 2;
  if (http && argc < 6) return 2;
  long long deadline = now_ms() + atoll(argv[http ? 5 : 4]);
  if (strcmp(netns, "-") != 0) {
    int fd = open(netns, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) return failed("entering the pod's network namespace %s: %s", netns, strerror(errno));
    close(fd);
  }
  char why[512];
  int fd = connect_to(host, port, deadline, why, sizeof why);
  if (fd < 0) return failed("%s%s", why, "");
  if (!http) { printf("connected to %s:%s\n", host, port); return 0; }

  char req[8192];
  int v6 = strchr(host, ':') != NULL;
  int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: %s%s%s:%s\r\nUser-Agent: kube-probe/podrun\r\nAccept: */*\r\nConnection: close\r\n",
                   argv[4], v6 ? "[" : "", host, v6 ? "]" : "", port);
  for (int i = 6; i < argc && n > 0 && (size_t)n < sizeof req; i++) {
    const char *colon = strchr(argv[i], ':');
    if (!colon) return 2;
    n += snprintf(req + n, sizeof req - (size_t)n, "%.*s: %s\r\n", (int)(colon - argv[i]), argv[i], colon + 1);
  }
  if (n < 0 || (size_t)n + 3 > sizeof req) return failed("request too long%s%s", "", "");
  n += snprintf(req + n, sizeof req - (size_t)n, "\r\n");
  for (int off = 0; off < n;) {
    if (wait_for(fd, POLLOUT, deadline) < 0) return failed("sending the request: timed out%s%s", "", "");
    ssize_t w = write(fd, req + off, (size_t)(n - off));
    if (w < 0 && errno != EAGAIN && errno != EINTR) return failed("sending the request: %s%s", strerror(errno), "");
    if (w > 0) off += (int)w;
  }
  /* the status line is all it takes */
  char resp[512];
  size_t got = 0;
  while (got + 1 < sizeof resp && !memchr(resp, '\n', got)) {
    if (wait_for(fd, POLLIN, deadline) < 0) return failed("reading the response: timed out%s%s", "", "");
    ssize_t r = read(fd, resp + got, sizeof resp - 1 - got);
    if (r == 0) break;
    if (r < 0) { if (errno == EAGAIN || errno == EINTR) continue; return failed("reading the response: %s%s", strerror(errno), ""); }
    got += (size_t)r;
  }
  resp[got] = 0;
  char *eol = strpbrk(resp, "\r\n");
  if (eol) *eol = 0;
  int code = 0;
  if (strncmp(resp, "HTTP/", 5) != 0 || !strchr(resp, ' ') || (code = atoi(strchr(resp, ' ') + 1)) < 100)
    return failed("not an HTTP response: %.200s%s", resp, "");
  printf("%s\n", resp);
  return code >= 200 && code < 400 ? 0 : 1;
}
