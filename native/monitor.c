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
 *       and records DIR/exit when it exits. With --log FILE (implies --keep)
 *       the container's stdout and stderr are pipes to the monitor, which
 *       writes them to FILE in the CRI format. Either way the CLI may exit
 *       at any time, and a killed monitor leaves the container running.
 *       With --restart always|on-failure [--backoff-ms N] (implies --keep) it
 *       launches the plan again when the container exits (on-failure: with a
 *       non-zero status or a signal), after kubelet's back-off: N ms (default
 *       10 s), doubling per restart up to 5 min, reset after 10 min of running.
 *       DIR/pid holds the current "pid starttime", DIR/restarts "count
 *       next_restart_unix_ms log_offset previous_log_offset" (next is 0 when
 *       none is pending), DIR/last-exit the previous run's exit. "norestart"
 *       on the socket cancels restarts (podrun stop sends it first).
 *   podrun-monitor pod-init [CGROUP_PROCS]
 *       the init of a pod's shared PID namespace (shareProcessNamespace):
 *       unshares a PID namespace, forks its pid 1 (moved into CGROUP_PROCS
 *       when given), prints that pid and returns. Pid 1 reaps whatever is
 *       re-parented to it and exits on SIGTERM/SIGINT; the namespace lives
 *       as long as it does.
 */
#include "launch.h"
#include "proc_stat.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
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

static long long clock_ms(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
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

/* One container output stream to the CRI log: no allocation per line, a
 * fixed buffer; a line longer than it is written as partial ("P") pieces. */
struct log_stream {
  const char *name; /* "stdout" / "stderr" */
  int fd;           /* read end of the container's pipe, -1 at EOF */
  size_t len;
  char buf[16384];
};

enum restart_policy { RESTART_NEVER, RESTART_ALWAYS, RESTART_ON_FAILURE };

struct supervisor {
  const char *dir;
  int keep;
  int report_fd;
  int log_fd;
  struct log_stream out, err;
  struct launch_result res;
  int started;
  int listen_fd;
  enum restart_policy restart;
  long long backoff_ms;    /* initial back-off */
  int no_restart;          /* "norestart" received */
  int restarts;            /* how many times it was launched again */
  int backoff_step;        /* exponent of the next back-off */
  long long restart_at;    /* CLOCK_MONOTONIC ms of the pending restart, 0 if none */
  long long run_started;   /* CLOCK_MONOTONIC ms the current run started */
  long long log_start, log_prev_start; /* log offsets where the current and previous runs begin */
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

static void write_restarts(struct supervisor *s);

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
  } else if (strncmp(req, "norestart", 9) == 0) {
    s->no_restart = 1;
    if (s->restart_at) { s->restart_at = 0; write_restarts(s); }
    snprintf(reply, sizeof reply, "ok\n");
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

/* <RFC3339Nano> <stream> <F|P> <text>\n */
static void log_line(struct supervisor *s, const char *stream, int full, const char *text, size_t len) {
  struct timespec now;
  struct tm tm;
  char head[80];
  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  size_t n = strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
  n += (size_t)snprintf(head + n, sizeof head - n, ".%09ldZ %s %c ", now.tv_nsec, stream, full ? 'F' : 'P');
  struct iovec iov[3] = { { head, n }, { (void *)text, len }, { "\n", 1 } };
  (void)!writev(s->log_fd, iov, 3);
}

/* Drain a readable stream: every complete line is one F entry. */
static void pump(struct supervisor *s, struct log_stream *ls) {
  ssize_t n = read(ls->fd, ls->buf + ls->len, sizeof ls->buf - ls->len);
  if (n <= 0) {
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
    if (ls->len) log_line(s, ls->name, 0, ls->buf, ls->len); /* last line without newline */
    ls->len = 0;
    close(ls->fd);
    ls->fd = -1;
    return;
  }
  ls->len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < ls->len; i++) {
    if (ls->buf[i] != '\n') continue;
    log_line(s, ls->name, 1, ls->buf + start, i - start);
    start = i + 1;
  }
  if (start == 0 && ls->len == sizeof ls->buf) { /* no newline in a full buffer */
    log_line(s, ls->name, 0, ls->buf, ls->len);
    ls->len = 0;
    return;
  }
  memmove(ls->buf, ls->buf + start, ls->len - start);
  ls->len -= start;
}

/* Container stdout/stderr become pipes to us; stdin reads /dev/null. */
static int setup_log_pipes(struct supervisor *s) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) return -1;
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) return -1;
  close(devnull); close(out[1]); close(err[1]);
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  s->out.name = "stdout"; s->out.fd = out[0];
  s->err.name = "stderr"; s->err.fd = err[0];
  return 0;
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

/* Reap re-parented orphans, but never the container itself: its status is
 * read through its pidfd (a plain waitpid(-1) here would race with that). */
static void reap_orphans(pid_t container) {
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0 || si.si_pid == 0) return;
    if (si.si_pid == container) return; /* left for the pidfd; the rest next round */
    waitpid(si.si_pid, NULL, WNOHANG | __WALL);
  }
}

static void write_restarts(struct supervisor *s) {
  char buf[160];
  long long next = s->restart_at ? clock_ms(CLOCK_REALTIME) + (s->restart_at - clock_ms(CLOCK_MONOTONIC)) : 0;
  snprintf(buf, sizeof buf, "%d %lld %lld %lld\n", s->restarts, next, s->log_start, s->log_prev_start);
  write_atomic("restarts", buf);
}

static void write_pid(struct supervisor *s) {
  char buf[80];
  snprintf(buf, sizeof buf, "%d %ld\n", (int)s->res.pid, proc_start_time(s->res.pid));
  write_atomic("pid", buf);
}

/* Decide at exit, before the exit is recorded, so a reader never sees an
 * exit without the restart that follows it. */
static void plan_restart(struct supervisor *s, const siginfo_t *si) {
  if (s->restart == RESTART_NEVER || s->no_restart) return;
  if (s->restart == RESTART_ON_FAILURE && si->si_code == CLD_EXITED && si->si_status == 0) return;
  long long now = clock_ms(CLOCK_MONOTONIC);
  if (now - s->run_started >= 600000) s->backoff_step = 0; /* it ran 10 min: forgive */
  long long delay = s->backoff_ms << (s->backoff_step < 10 ? s->backoff_step : 10);
  if (delay > 300000) delay = 300000;
  s->backoff_step++;
  s->restart_at = now + delay;
  write_restarts(s);
}

/* Launch the plan again, started at once, with fresh log pipes. */
static int relaunch(struct supervisor *s, struct launch_error *err) {
  struct launch_plan plan;
  if (load_plan("plan.bin", &plan, err) < 0) return -1;
  if (s->log_fd >= 0) {
    if (setup_log_pipes(s) < 0) {
      plan_free(&plan);
      err->step = STEP_SYNC; err->err = errno; err->index = -1;
      snprintf(err->detail, sizeof err->detail, "log pipes");
      return -1;
    }
    s->log_prev_start = s->log_start;
    s->log_start = lseek(s->log_fd, 0, SEEK_END);
  }
  if (s->res.pidfd >= 0) close(s->res.pidfd);
  struct launch_callbacks cb = { before_pivot, s };
  int rc = launch(&plan, &cb, &s->res, err);
  plan_free(&plan);
  if (rc == 0 && launch_start(&s->res, err) < 0) rc = -1;
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) dup2(devnull, fd);
  close(devnull);
  return rc;
}

static int supervise(const char *dir, int report_fd, int keep, const char *log_path, enum restart_policy restart, long long backoff_ms) {
  static struct supervisor s; /* large (log buffers): not on the stack */
  s.dir = dir; s.keep = keep || log_path || restart != RESTART_NEVER; s.report_fd = report_fd; s.listen_fd = -1;
  s.restart = restart; s.backoff_ms = backoff_ms;
  s.log_fd = -1; s.out.fd = -1; s.err.fd = -1;
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
  if (log_path) {
    s.log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (s.log_fd < 0 || setup_log_pipes(&s) < 0) {
      err.step = STEP_SYNC; err.err = errno; err.index = -1;
      snprintf(err.detail, sizeof err.detail, "%.400s", log_path);
      plan_free(&plan);
      goto fail;
    }
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

  s.run_started = clock_ms(CLOCK_MONOTONIC);
  if (s.restart != RESTART_NEVER) write_pid(&s);
  int sfd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
  int exited = 0;
  siginfo_t exit_info;
  for (;;) {
    /* after the exit, drain what the container (or its children) wrote; then restart or leave */
    int timeout = -1;
    if (exited && s.out.fd < 0 && s.err.fd < 0) {
      if (!s.restart_at || s.no_restart) break;
      long long left = s.restart_at - clock_ms(CLOCK_MONOTONIC);
      if (left <= 0) {
        if (access("plan.bin", R_OK) < 0) break; /* deleted under us: nothing to restart */
        rename("exit", "last-exit");
        s.restart_at = 0;
        s.restarts++;
        if (relaunch(&s, &err) == 0) {
          exited = 0;
          s.run_started = clock_ms(CLOCK_MONOTONIC);
          write_pid(&s);
          write_restarts(&s);
        } else {
          /* could not launch: counts as a failed run, and backs off again */
          s.res.pidfd = -1;
          memset(&exit_info, 0, sizeof exit_info);
          exit_info.si_code = CLD_EXITED; exit_info.si_status = 128;
          plan_restart(&s, &exit_info);
          if (!s.restart_at) write_restarts(&s);
          record_exit(&s, &exit_info);
        }
        continue;
      }
      timeout = left > 60000 ? 60000 : (int)left;
    }
    struct pollfd pfd[5] = {
      { s.listen_fd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { s.out.fd, POLLIN, 0 }, { s.err.fd, POLLIN, 0 },
      { exited ? -1 : s.res.pidfd, POLLIN, 0 },
    };
    if (poll(pfd, 5, timeout) < 0 && errno != EINTR) break;
    if (pfd[2].revents) pump(&s, &s.out);
    if (pfd[3].revents) pump(&s, &s.err);
    if (pfd[0].revents & POLLIN) {
      int cfd = accept4(s.listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (cfd >= 0) {
        serve_client(&s, cfd);
        close(cfd);
      }
      if (s.started && !s.keep) break; /* hand the container to our reaper */
    }
    if (pfd[1].revents & POLLIN) {
      struct signalfd_siginfo ssi;
      while (read(sfd, &ssi, sizeof ssi) == sizeof ssi) {}
    }
    if (!exited && (s.res.pidfd < 0 || (pfd[4].revents & POLLIN))) {
      memset(&exit_info, 0, sizeof exit_info);
      if (s.res.pidfd < 0 || waitid((idtype_t)P_PIDFD, (id_t)s.res.pidfd, &exit_info, WEXITED) != 0) {
        /* a failed start already reaped it: record a launch failure */
        exit_info.si_code = CLD_EXITED; exit_info.si_status = 127;
      }
      exited = 1;
      if (s.started) plan_restart(&s, &exit_info);
      record_exit(&s, &exit_info);
      /* orphans may hold the pipes open: they die with the cgroup, not with us */
    }
    reap_orphans(exited ? 0 : s.res.pid);
  }
  if (s.res.sync_fd >= 0) launch_abort(&s.res);
  unlink("monitor.sock");
  reap_orphans(exited ? 0 : s.res.pid);
  return 0;
fail:
  if (s.listen_fd >= 0) unlink("monitor.sock");
  format_error(line, sizeof line, &err);
  (void)!write(report_fd, line, strlen(line));
  return 125;
}

static int pod_init(const char *procs) {
  if (unshare(CLONE_NEWPID) < 0) { perror("podrun-monitor: unshare(CLONE_NEWPID)"); return 1; }
  int ready[2];
  if (pipe2(ready, O_CLOEXEC) < 0) { perror("podrun-monitor: pipe"); return 1; }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  sigprocmask(SIG_BLOCK, &set, NULL); /* pid 1 drops unhandled signals unless they are blocked and waited for */
  pid_t pid = fork();
  if (pid < 0) { perror("podrun-monitor: fork"); return 1; }
  if (pid == 0) {
    close(ready[1]);
    setsid();
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int fd = 0; fd < 3; fd++) dup2(devnull, fd);
    char go;
    (void)!read(ready[0], &go, 1); /* EOF once the parent placed us in the cgroup */
    close(ready[0]);
    prctl(PR_SET_NAME, "podrun-pod-init");
    for (;;) {
      int sig = sigwaitinfo(&set, NULL);
      if (sig == SIGCHLD) { while (waitpid(-1, NULL, WNOHANG) > 0) {} }
      else if (sig == SIGTERM || sig == SIGINT) _exit(0);
    }
  }
  close(ready[0]);
  if (procs) {
    char buf[32];
    int fd = open(procs, O_WRONLY | O_CLOEXEC);
    int n = snprintf(buf, sizeof buf, "%d", (int)pid);
    if (fd < 0 || write(fd, buf, (size_t)n) != n) {
      perror("podrun-monitor: joining the cgroup");
      kill(pid, SIGKILL);
      return 1;
    }
    close(fd);
  }
  close(ready[1]);
  printf("%d\n", (int)pid);
  return 0;
}

int main(int argc, char **argv) {
  if ((argc == 2 || argc == 3) && strcmp(argv[1], "pod-init") == 0) return pod_init(argc == 3 ? argv[2] : NULL);
  if (argc == 3 && strcmp(argv[1], "run") == 0) return run_foreground(argv[2]);
  if (argc >= 4 && strcmp(argv[1], "container") == 0) {
    int keep = 0;
    const char *log = NULL;
    enum restart_policy restart = RESTART_NEVER;
    long long backoff = 10000;
    for (int i = 4; i < argc; i++) {
      if (strcmp(argv[i], "--keep") == 0) keep = 1;
      else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) log = argv[++i];
      else if (strcmp(argv[i], "--restart") == 0 && i + 1 < argc) {
        i++;
        if (strcmp(argv[i], "always") == 0) restart = RESTART_ALWAYS;
        else if (strcmp(argv[i], "on-failure") == 0) restart = RESTART_ON_FAILURE;
        else if (strcmp(argv[i], "never") != 0) goto usage;
      } else if (strcmp(argv[i], "--backoff-ms") == 0 && i + 1 < argc) backoff = atoll(argv[++i]);
      else goto usage;
    }
    if (backoff < 1) goto usage;
    return supervise(argv[2], atoi(argv[3]), keep, log, restart, backoff);
  }
usage:
  fprintf(stderr, "usage: podrun-monitor pod-init [CGROUP_PROCS] | run PLANFILE | container DIR REPORT_FD [--keep] [--log FILE] [--restart always|on-failure|never] [--backoff-ms N]\n");
  return 2;
}
