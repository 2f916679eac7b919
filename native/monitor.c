/* podrun-monitor: the C front end of the launch library.
 *
 *   podrun-monitor run PLANFILE
 *       launch an encoded plan in the foreground, forward signals, exit with
 *       its status.
 *   podrun-monitor container DIR REPORT_FD [--keep]
 *       the supervisor behind `podrun oci create`: launches DIR/plan.bin
 *       stopped before exec, reports "ok <pid>" (or the launch error) on
 *       REPORT_FD, then serves DIR/monitor.sock ("start"). Like runc's init
 *       it then leaves, so the container is re-parented to the caller's
 *       subreaper (conmon, containerd-shim) or init, which reaps it and
 *       reads its exit status. With --keep it stays the container's parent
 *       and records DIR/exit when it exits. Either way the CLI may exit at
 *       any time, and a killed monitor leaves the container running.
 */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int read_file(const char *path, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) { close(fd); return -1; }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) { close(fd); errno = ENOMEM; return -1; }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n <= 0) { int e = n < 0 ? errno : EIO; free(buf); close(fd); errno = e; return -1; }
    got += (size_t)n;
  }
  close(fd);
  *out = buf;
  *len = got;
  return 0;
}

static int load_plan(const char *path, struct launch_plan *plan, struct launch_error *err) {
  char *data;
  size_t len;
  if (read_file(path, &data, &len) < 0) {
    err->step = STEP_PLAN; err->err = errno; err->index = -1;
    snprintf(err->detail, sizeof err->detail, "%s", path);
    return -1;
  }
  int rc = plan_decode(data, len, plan, err);
  free(data);
  return rc;
}

/* write path atomically (temp + rename) */
static int write_atomic(const char *path, const char *data) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  size_t len = strlen(data);
  if (write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) { close(fd); unlink(tmp); return -1; }
  close(fd);
  return rename(tmp, path);
}

static void format_error(char *buf, size_t cap, const struct launch_error *err) {
  /* tab-separated so the detail may contain spaces */
  snprintf(buf, cap, "err\t%s\t%d\t%d\t%s\n", launch_step_name(err->step), err->err, err->index, err->detail);
}

static int run_foreground(const char *plan_path) {
  struct launch_plan plan;
  struct launch_error err;
  if (load_plan(plan_path, &plan, &err) < 0) goto fail;
  /* forwarded signals are read from a signalfd, so block them first */
  sigset_t fwd;
  sigemptyset(&fwd);
  int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&fwd, sigs[i]);
  sigprocmask(SIG_BLOCK, &fwd, NULL);
  struct launch_result res;
  int rc = launch(&plan, NULL, &res, &err);
  plan_free(&plan);
  if (rc < 0) goto fail;
  int sfd = signalfd(-1, &fwd, SFD_CLOEXEC);
  struct pollfd pfd[2] = { { res.pidfd, POLLIN, 0 }, { sfd, POLLIN, 0 } };
  for (;;) {
    if (poll(pfd, 2, -1) < 0 && errno != EINTR) break;
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo si;
      if (read(sfd, &si, sizeof si) == sizeof si)
        syscall(SYS_pidfd_send_signal, res.pidfd, (int)si.ssi_signo, NULL, 0);
    }
    if (pfd[0].revents & POLLIN) break;
  }
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid((idtype_t)P_PIDFD, (id_t)res.pidfd, &si, WEXITED) < 0) return 125;
  return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
fail:
  fprintf(stderr, "podrun-monitor: %s %s: %s\n", launch_step_name(err.step), err.detail, strerror(err.err));
  return 125;
}

struct supervisor {
  const char *dir;
  int keep;
  int report_fd;
  struct launch_result res;
  int started;
  int listen_fd;
};

static void path_in(char *buf, size_t cap, const char *dir, const char *name) {
  snprintf(buf, cap, "%s/%s", dir, name);
}

static int listen_on(const char *path) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
  strcpy(addr.sun_path, path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 8) < 0) { close(fd); return -1; }
  chmod(path, 0600);
  return fd;
}

/* One request per connection: read a line, answer a line. */
static void serve_client(struct supervisor *s, int cfd) {
  char req[64] = "";
  struct pollfd p = { cfd, POLLIN, 0 };
  if (poll(&p, 1, 2000) <= 0) return;
  ssize_t n = read(cfd, req, sizeof req - 1);
  if (n <= 0) return;
  req[n] = 0;
  char reply[700];
  if (strncmp(req, "start", 5) == 0) {
    if (s->started) {
      snprintf(reply, sizeof reply, "err\tstart\t%d\t-1\tcontainer already started\n", EEXIST);
    } else {
      struct launch_error err;
      if (launch_start(&s->res, &err) == 0) {
        char path[4096];
        path_in(path, sizeof path, s->dir, "started");
        s->started = 1;
        write_atomic(path, "1\n");
        snprintf(reply, sizeof reply, "ok\n");
      } else {
        format_error(reply, sizeof reply, &err);
        s->res.pidfd = -1;
      }
    }
  } else if (strncmp(req, "ping", 4) == 0) {
    snprintf(reply, sizeof reply, "ok %d\n", s->res.pid);
  } else {
    snprintf(reply, sizeof reply, "err\tprotocol\t%d\t-1\tunknown request\n", EINVAL);
  }
  (void)!write(cfd, reply, strlen(reply));
}

/* The container stopped before pivot_root: ask the creator to run the
 * create hooks, and wait on our socket for "hooks-done" or "hooks-failed". */
static int before_pivot(void *ctx, pid_t pid, struct launch_error *err) {
  struct supervisor *s = ctx;
  char line[64];
  snprintf(line, sizeof line, "hooks %d\n", pid);
  if (write(s->report_fd, line, strlen(line)) < 0) goto gone;
  for (;;) {
    struct pollfd p[2] = { { s->listen_fd, POLLIN, 0 }, { s->report_fd, 0, 0 } };
    if (poll(p, 2, 600000) <= 0) {
      err->step = STEP_HOOK; err->err = ETIMEDOUT; err->index = -1;
      snprintf(err->detail, sizeof err->detail, "no word from the creator after its hooks");
      return -1;
    }
    if (p[1].revents & (POLLERR | POLLHUP)) goto gone;
    int cfd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    char req[600] = "";
    struct pollfd cp = { cfd, POLLIN, 0 };
    ssize_t n = poll(&cp, 1, 2000) > 0 ? read(cfd, req, sizeof req - 1) : -1;
    if (n > 0) req[n] = 0;
    (void)!write(cfd, "ok\n", 3);
    close(cfd);
    if (strncmp(req, "hooks-done", 10) == 0) return 0;
    if (strncmp(req, "hooks-failed", 12) == 0) {
      err->step = STEP_HOOK; err->err = ECANCELED; err->index = -1;
      char *nl = strchr(req, '\n');
      if (nl) *nl = 0;
      snprintf(err->detail, sizeof err->detail, "%.470s", req[12] ? req + 13 : "a hook failed");
      return -1;
    }
  }
gone:
  err->step = STEP_HOOK; err->err = EPIPE; err->index = -1;
  snprintf(err->detail, sizeof err->detail, "the creator went away during the hooks");
  return -1;
}

static void record_exit(struct supervisor *s, const siginfo_t *si) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char buf[128], path[4096];
  int code = si->si_code == CLD_EXITED ? si->si_status : -1;
  int sig = si->si_code == CLD_EXITED ? 0 : si->si_status;
  snprintf(buf, sizeof buf, "%d %d %lld%09ld\n", code, sig, (long long)now.tv_sec, now.tv_nsec);
  path_in(path, sizeof path, s->dir, "exit");
  write_atomic(path, buf);
}

static void reap_orphans(void) {
  while (waitpid(-1, NULL, WNOHANG | __WALL) > 0) {}
}

static int supervise(const char *dir, int report_fd, int keep) {
  struct supervisor s = { .dir = dir, .keep = keep, .report_fd = report_fd, .listen_fd = -1 };
  struct launch_plan plan;
  struct launch_error err;
  char path[4096], line[700];

  /* orphans of the container are re-parented to us, and we reap them */
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  sigset_t chld;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, NULL);

  path_in(path, sizeof path, dir, "plan.bin");
  if (load_plan(path, &plan, &err) < 0) goto fail;
  if (!plan.wait_start) {
    plan_free(&plan);
    err.step = STEP_PLAN; err.err = EINVAL; err.index = -1;
    snprintf(err.detail, sizeof err.detail, "plan is not a create plan");
    goto fail;
  }
  /* bound relative to the container directory: a socket path is limited to
   * 108 bytes, and --root plus a 64-character id can be longer */
  if (chdir(dir) < 0 || (s.listen_fd = listen_on("monitor.sock")) < 0) {
    err.step = STEP_SYNC; err.err = errno; err.index = -1;
    snprintf(err.detail, sizeof err.detail, "%.400s/monitor.sock", dir);
    plan_free(&plan);
    goto fail;
  }
  struct launch_callbacks cb = { before_pivot, &s };
  int rc = launch(&plan, &cb, &s.res, &err);
  plan_free(&plan);
  if (rc < 0) goto fail;
  snprintf(line, sizeof line, "ok %d\n", s.res.pid);
  (void)!write(report_fd, line, strlen(line));
  close(report_fd);
  /* the container holds the caller's stdio now; we must not keep it open */
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) dup2(devnull, fd);
  close(devnull);

  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  for (;;) {
    struct pollfd pfd[3] = { { s.listen_fd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { s.res.pidfd, POLLIN, 0 } };
    if (poll(pfd, s.res.pidfd >= 0 ? 3 : 2, -1) < 0 && errno != EINTR) break;
    if (pfd[0].revents & POLLIN) {
      int cfd = accept4(s.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (cfd >= 0) { serve_client(&s, cfd); close(cfd); }
      if (s.started && !s.keep) break; /* hand the container to our reaper */
    }
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo ssi;
      while (read(sfd, &ssi, sizeof ssi) == sizeof ssi) {}
    }
    if (s.res.pidfd < 0 || (pfd[2].revents & POLLIN)) {
      siginfo_t si;
      memset(&si, 0, sizeof si);
      if (s.res.pidfd >= 0 && waitid((idtype_t)P_PIDFD, (id_t)s.res.pidfd, &si, WEXITED) == 0) {
        record_exit(&s, &si);
      } else {
        /* a failed start already reaped it: record a launch failure */
        si.si_code = CLD_EXITED; si.si_status = 127;
        record_exit(&s, &si);
      }
      break;
    }
    reap_orphans();
  }
  if (s.res.sync_fd >= 0) launch_abort(&s.res);
  unlink("monitor.sock");
  reap_orphans();
  return 0;
fail:
  if (s.listen_fd >= 0) unlink("monitor.sock");
  format_error(line, sizeof line, &err);
  (void)!write(report_fd, line, strlen(line));
  return 125;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "run") == 0) return run_foreground(argv[2]);
  if ((argc == 4 || (argc == 5 && strcmp(argv[4], "--keep") == 0)) && strcmp(argv[1], "container") == 0)
    return supervise(argv[2], atoi(argv[3]), argc == 5);
  fprintf(stderr, "usage: podrun-monitor run PLANFILE | container DIR REPORT_FD [--keep]\n");
  return 2;
}
