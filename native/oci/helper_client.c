/* podrun-oci's side of the warm helper (src/cli/oci-helper.ts): `create`
 * sent to a Node process that is already running, instead of starting one.
 * The helper does the work and asks us to start podrun-monitor, so the
 * container is our descendant (and, once we exit, the caller's subreaper's),
 * as runc's is. Messages are lists of netstrings led by their count. */
#include "helper_client.h"

#include "launch.h"
#include "write_full.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/wait.h>
#include <unistd.h>

#define PROTOCOL "podrun-oci-helper/1"

struct buf {
  char *data;
  size_t len, cap;
};

static int buf_add(struct buf *b, const void *p, size_t n) {
  if (b->len + n > b->cap) {
    size_t cap = (b->cap ? b->cap * 2 : 4096);
    while (cap < b->len + n) cap *= 2;
    char *d = realloc(b->data, cap);
    if (!d) return -1;
    b->data = d;
    b->cap = cap;
  }
  memcpy(b->data + b->len, p, n);
  b->len += n;
  return 0;
}

static int put(struct buf *b, const char *s, size_t n) {
  char head[24];
  int h = snprintf(head, sizeof head, "%zu:", n);
  return buf_add(b, head, (size_t)h) || buf_add(b, s, n) || buf_add(b, ",", 1) ? -1 : 0;
}

static int put_str(struct buf *b, const char *s) { return put(b, s, strlen(s)); }

static int put_int(struct buf *b, long v) {
  char n[24];
  snprintf(n, sizeof n, "%ld", v);
  return put_str(b, n);
}

static int send_msg(int fd, struct buf *items, int count) {
  struct buf m = { 0 };
  int rc = put_int(&m, count) || buf_add(&m, items->data, items->len) || write_full(fd, m.data, m.len) ? -1 : 0;
  free(m.data);
  return rc;
}

/* Incoming netstrings, whole messages out. */
struct reader {
  int fd;
  struct buf in;
  size_t pos;
};

/* The next netstring, as a NUL-terminated copy of its own (the buffer moves
 * as it grows); NULL at EOF or on a bad one. Short-lived process: never freed. */
static char *next_item(struct reader *r, size_t *len) {
  for (;;) {
    char *start = r->in.data + r->pos;
    size_t avail = r->in.len - r->pos;
    char *colon = avail ? memchr(start, ':', avail < 24 ? avail : 24) : NULL;
    if (colon) {
      size_t n = strtoul(start, NULL, 10);
      size_t need = (size_t)(colon - start) + 1 + n + 1;
      if (avail >= need) {
        if (colon[1 + n] != ',') return NULL;
        char *item = malloc(n + 1);
        if (!item) return NULL;
        memcpy(item, colon + 1, n);
        item[n] = 0;
        r->pos += need;
        *len = n;
        return item;
      }
    } else if (avail >= 24) {
      return NULL;
    }
    char chunk[8192];
    ssize_t got = read(r->fd, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return NULL;
    if (buf_add(&r->in, chunk, (size_t)got) < 0) return NULL;
  }
}

static void start_helper(const char *root) {
  char exe[PATH_MAX], script[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n < 0) return;
  exe[n] = 0;
  /* <repo>/build/Release/podrun-oci -> <repo>/bin/oci-helper.js */
  for (int up = 0; up < 3; up++) {
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
  }
  snprintf(script, sizeof script, "%.4000s/bin/oci-helper.js", exe);
  pid_t pid = fork();
  if (pid != 0) {
    if (pid > 0) waitpid(pid, NULL, 0);
    return;
  }
  /* a daemon of its own: not our caller's child, not in its session */
  setsid();
  if (fork() != 0) _exit(0);
  int null = open("/dev/null", O_RDWR);
  if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
  syscall(SYS_close_range, 3, ~0U, 0);
  unsetenv("NODE_EXTRA_CA_CERTS");
  execlp("node", "node", script, "--root", root, (char *)NULL);
  _exit(127);
}

/* Start podrun-monitor as the helper asks, our stdio and fds 3..report_fd-1
 * its own; its report pipe's read end is returned in *report. */
static pid_t spawn_monitor(const char *exe, char **args, int report_fd, int *report) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) return -1;
  pid_t pid = fork();
  if (pid < 0) { close(p[0]); close(p[1]); return -1; }
  if (pid == 0) {
    setsid(); /* as Node's detached spawn did */
    signal(SIGPIPE, SIG_DFL); /* ours was ignored for the socket; an ignored signal survives exec */
    if (p[1] == report_fd) fcntl(p[1], F_SETFD, 0);
    else if (dup2(p[1], report_fd) < 0) _exit(127);
    execv(exe, args);
    _exit(127);
  }
  close(p[1]);
  *report = p[0];
  return pid;
}

static int relay(int sock, struct reader *r, pid_t monitor, int report) {
  struct buf out = { 0 };
  int done_report = 0, code = -1;
  while (code < 0) {
    struct pollfd pfd[2] = { { sock, POLLIN, 0 }, { done_report ? -1 : report, POLLIN, 0 } };
    if (poll(pfd, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    if (pfd[1].revents) {
      char chunk[4096];
      ssize_t n = read(report, chunk, sizeof chunk);
      out.len = 0;
      if (n > 0) {
        if (put_str(&out, "report") || put(&out, chunk, (size_t)n) || send_msg(sock, &out, 2)) break;
      } else if (n == 0 || errno != EINTR) {
        int st = 0;
        long status = waitpid(monitor, &st, WNOHANG) == monitor && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        done_report = 1;
        if (put_str(&out, "eof") || put_int(&out, status) || send_msg(sock, &out, 2)) break;
      }
    }
    if (pfd[0].revents) {
      size_t len;
      char *count = next_item(r, &len);
      if (!count) break;
      int n = atoi(count);
      char *kind = n > 0 ? next_item(r, &len) : NULL;
      if (!kind || strcmp(kind, "exit") != 0 || n != 3) break;
      char *status = next_item(r, &len);
      char *err = status ? next_item(r, &len) : NULL;
      if (!err) break;
      if (len) (void)!write(2, err, len);
      code = atoi(status);
    }
  }
  free(out.data);
  if (report >= 0) close(report);
  return code < 0 ? 1 : code;
}

/* The rest of an "exit" message: its stderr written, its code returned. */
static int finish(struct reader *r) {
  size_t len;
  char *status = next_item(r, &len);
  char *err = status ? next_item(r, &len) : NULL;
  if (err && len) (void)!write(2, err, len);
  return status ? atoi(status) : 1;
}

/* `exec`: launch the plan the helper made, as runc's exec process is runc's
 * child; a launch error goes back to be worded as the CLI does. */
static int launch_plan_bytes(int sock, struct reader *r, const char *plan_bytes, size_t plan_len) {
  static char monitor[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", monitor, sizeof monitor - 1);
  if (n < 0) return 1;
  monitor[n] = 0;
  char *slash = strrchr(monitor, '/');
  if (!slash || (size_t)(slash - monitor) + sizeof "/podrun-monitor" > sizeof monitor) return 1;
  strcpy(slash, "/podrun-monitor"); /* the sealed helper every launch child re-executes */
  launch_set_helper(monitor);
  struct launch_plan plan;
  struct launch_error err;
  struct launch_result res;
  struct buf m = { 0 };
  int rc = plan_decode(plan_bytes, plan_len, &plan, &err);
  if (rc == 0) {
    rc = launch(&plan, NULL, &res, &err);
    plan_free(&plan);
  }
  if (rc < 0) {
    if (put_str(&m, "error") || put_str(&m, launch_step_name(err.step)) || put_int(&m, err.err) || put_int(&m, err.index) ||
        put_str(&m, err.detail) || send_msg(sock, &m, 5)) { free(m.data); return 1; }
  } else if (put_str(&m, "pid") || put_int(&m, res.pid) || send_msg(sock, &m, 2)) {
    free(m.data);
    return 1;
  }
  free(m.data);
  size_t len;
  char *count = next_item(r, &len);
  char *kind = count ? next_item(r, &len) : NULL;
  if (kind && !strcmp(kind, "exit")) return finish(r);
  if (rc < 0 || !kind || strcmp(kind, "wait") != 0) return 1;
  siginfo_t si;
  memset(&si, 0, sizeof si);
  while (waitid((idtype_t)P_PIDFD, (id_t)res.pidfd, &si, WEXITED) < 0)
    if (errno != EINTR) return 1;
  return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

int oci_helper(const char *root, const char *cmd, char **argv) {
  const char *off = getenv("PODRUN_OCI_HELPER");
  if (off && !strcmp(off, "0")) return -1;
  struct sockaddr_un sa = { .sun_family = AF_UNIX };
  if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/oci-helper.sock", root) >= sizeof sa.sun_path) return -1;
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return -1;
  if (connect(sock, (struct sockaddr *)&sa, sizeof sa) < 0) {
    int e = errno;
    close(sock);
    /* none yet: this call goes through Node as before, and the next ones to the helper. Only a
     * create starts one: it makes the root anyway, while an exec may name a root that is not there */
    if ((e == ENOENT || e == ECONNREFUSED) && !strcmp(cmd, "create")) start_helper(root);
    return -1;
  }
  signal(SIGPIPE, SIG_IGN);
  char cwd[PATH_MAX], mntns[64] = "", pidns[64] = "", cgroup[PATH_MAX] = "";
  if (!getcwd(cwd, sizeof cwd)) { close(sock); return -1; }
  ssize_t n = readlink("/proc/self/ns/mnt", mntns, sizeof mntns - 1);
  if (n > 0) mntns[n] = 0;
  n = readlink("/proc/self/ns/pid", pidns, sizeof pidns - 1);
  if (n > 0) pidns[n] = 0;
  FILE *f = fopen("/proc/self/cgroup", "re");
  if (f) {
    char line[PATH_MAX + 16];
    while (fgets(line, sizeof line, f))
      if (!strncmp(line, "0::", 3)) { line[strcspn(line, "\n")] = 0; snprintf(cgroup, sizeof cgroup, "%.4000s", line + 3); }
    fclose(f);
  }
  struct buf req = { 0 };
  int count = 5;
  int bad = put_str(&req, PROTOCOL) || put_str(&req, cwd) || put_str(&req, mntns) || put_str(&req, pidns) || put_str(&req, cgroup);
  for (int i = 1; argv[i] && !bad; i++, count++) bad = put_str(&req, argv[i]);
  if (bad || send_msg(sock, &req, count) < 0) { free(req.data); close(sock); return -1; }
  free(req.data);

  struct reader r = { .fd = sock };
  size_t len;
  char *nitems = next_item(&r, &len);
  char *kind = nitems ? next_item(&r, &len) : NULL;
  int rc = 1;
  if (!nitems) {
    rc = -1; /* the helper went away (idle, or rebuilt) before it read us: nothing was made */
  } else if (kind && !strcmp(kind, "fallback")) {
    rc = -1; /* nothing was made: Node decides */
  } else if (!kind) {
    fprintf(stderr, "podrun: podrun-oci helper: no answer\n");
  } else if (!strcmp(kind, "exit")) {
    rc = finish(&r);
  } else if (!strcmp(kind, "launch")) {
    char *plan = next_item(&r, &len);
    rc = plan ? launch_plan_bytes(sock, &r, plan, len) : 1;
  } else if (!strcmp(kind, "spawn")) {
    char *fd = next_item(&r, &len);
    char *exe = fd ? next_item(&r, &len) : NULL;
    char *nargs = exe ? next_item(&r, &len) : NULL;
    int na = nargs ? atoi(nargs) : -1;
    char **args = na >= 0 && na < 64 ? calloc((size_t)na + 2, sizeof *args) : NULL;
    if (args) {
      args[0] = "podrun-monitor";
      for (int i = 0; i < na && args; i++)
        if (!(args[i + 1] = next_item(&r, &len))) { free(args); args = NULL; }
    }
    int report = -1;
    pid_t monitor = args ? spawn_monitor(exe, args, atoi(fd), &report) : -1;
    free(args);
    struct buf m = { 0 };
    if (monitor > 0 && !put_str(&m, "pid") && !put_int(&m, monitor) && !send_msg(sock, &m, 2)) rc = relay(sock, &r, monitor, report);
    else { if (report >= 0) close(report); rc = 1; fprintf(stderr, "podrun: podrun-oci helper: could not start podrun-monitor\n"); }
    free(m.data);
  } else {
    fprintf(stderr, "podrun: podrun-oci helper: unexpected answer \"%.40s\"\n", kind);
  }
  free(r.in.data);
  close(sock);
  if (rc >= 0 && getenv("PODRUN_OCI_HELPER_TRACE")) fprintf(stderr, "podrun-oci: served by the helper\n");
  return rc;
}
