/* Container supervision for podrun-monitor (see supervisor.h).
 *
 * Each container has a directory holding plan.bin, and gets monitor.sock
 * there ("start", "norestart", "ping", "reopen-log", and in a pod "release"). Files the
 * supervisor keeps in it: started, exit ("code signal unix_ns"), and with a
 * restart policy pid ("pid starttime"), restarts ("count next_unix_ms
 * log_offset previous_log_offset"; next is 0 when none is pending) and
 * last-exit; it reads rootfs-reset, if there, before each restart (see
 * rootfs_reset.h). All are written atomically through the directory's fd, so a
 * path longer than a socket address allows is fine.
 *
 * Every child is reaped here (we are a subreaper): an exit whose pid is a
 * supervised container is that container's exit; anything else is an
 * orphan of one. */
#include "supervisor.h"

#include "cri_log.h"
#include "launch.h"
#include "proc_stat.h"
#include "rootfs_reset.h"
#include "tty_proxy.h"

#include <errno.h>
#include <linux/sched.h>
#include <malloc.h>
#include <stddef.h>
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

struct monitor;

struct ctr {
  struct ctr *next;
  struct monitor *m;
  char dir[480]; /* for messages */
  int dirfd;
  int listen_fd;
  int keep;
  struct container_log log; /* log.fd -1: none */
  struct launch_result res;
  int launched;  /* res.pid is our child until its exit is seen */
  int started, exited, released;
  enum restart_policy restart;
  long long backoff_ms;
  int no_restart;        /* "norestart" received */
  int restarts;          /* how many times it was launched again */
  int backoff_step;      /* exponent of the next back-off */
  long long restart_at;  /* CLOCK_MONOTONIC ms of the pending restart, 0 if none */
  long long run_started; /* CLOCK_MONOTONIC ms the current run started */
  long long log_start, log_prev_start; /* logical log offsets (cri_log.h) where the current and previous runs begin */
  enum stdin_mode stdin_mode;
  int tty;               /* its stdio is a pty whose master we hold (out.fd; stdin_fd a dup of it) */
  int stdin_fd;          /* what an attached client's input is written to, -1 if none */
  int attach_fd;         /* the attached client (podrun attach), -1 if none */
  int attach_input_done; /* it sent all its input: only output goes to it now */
  size_t pending_len;    /* client input the container has not taken yet */
  char pending[4096];
  struct log_stream out, err; /* last: large, and left uninitialised past their headers */
};

struct monitor {
  struct ctr *ctrs;
  int report_fd;  /* container mode: the creator's pipe while it listens (hooks); else -1 */
  int pod_dirfd;  /* pod mode: the pod's directory; -1 in container mode */
  int pod_listen_fd;
  int quit;
};

int parse_restart_policy(const char *s, enum restart_policy *out) {
  if (strcmp(s, "always") == 0) *out = RESTART_ALWAYS;
  else if (strcmp(s, "on-failure") == 0) *out = RESTART_ON_FAILURE;
  else if (strcmp(s, "never") == 0) *out = RESTART_NEVER;
  else return -1;
  return 0;
}

static long long clock_ms(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int set_err(struct launch_error *err, int step, int e, const char *detail) {
  err->step = step; err->err = e; err->index = -1;
  snprintf(err->detail, sizeof err->detail, "%.470s", detail);
  return -1;
}

/* tab-separated so the detail may contain spaces */
static void format_error(char *buf, size_t cap, const struct launch_error *err) {
  snprintf(buf, cap, "err\t%s\t%d\t%d\t%s\n", launch_step_name(err->step), err->err, err->index, err->detail);
}

/* Runtime state: temp + rename, no fsync (volatile by design; see
 * writeFileAtomic in src/util/atomic-file.ts). */
static int write_atomic_at(int dirfd, const char *name, const char *data) {
  char tmp[256];
  snprintf(tmp, sizeof tmp, "%s.tmp", name);
  int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  size_t len = strlen(data);
  if (write(fd, data, len) != (ssize_t)len) { close(fd); unlinkat(dirfd, tmp, 0); return -1; }
  close(fd);
  return renameat(dirfd, tmp, dirfd, name);
}

/* Listen on DIRFD/name; through /proc/self/fd since a socket address is
 * limited to 108 bytes and state paths can be longer. */
static int listen_at(int dirfd, const char *name) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, name);
  unlinkat(dirfd, name, 0);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) { int e = errno; close(fd); errno = e; return -1; }
  fchmodat(dirfd, name, 0600, 0);
  return fd;
}

/* One request line (up to cap - 1 bytes) from a fresh connection. */
static ssize_t read_request(int cfd, char *req, size_t cap) {
  size_t got = 0;
  while (got + 1 < cap) {
    struct pollfd p = { cfd, POLLIN, 0 };
    if (poll(&p, 1, 2000) <= 0) break;
    ssize_t n = read(cfd, req + got, cap - 1 - got);
    if (n <= 0) break;
    got += (size_t)n;
    if (memchr(req, '\n', got)) break;
  }
  req[got] = 0;
  char *nl = strchr(req, '\n');
  if (nl) *nl = 0;
  return (ssize_t)got;
}

/* The answer, then EOF: shut down, since a close alone would not end the
 * connection while a container created meanwhile (not yet exec'd) still
 * holds a copy of the fd. */
static void reply(int cfd, const char *line) {
  (void)!write(cfd, line, strlen(line));
  shutdown(cfd, SHUT_RDWR);
}

static void stdio_to_devnull(void) {
  int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
  for (int fd = 0; fd < 3; fd++) dup2(devnull, fd);
  close(devnull);
}

/* The container's stdout/stderr become pipes to us, its stdin /dev/null:
 * set up as our fds 0-2 for the launch, which the child inherits. */
static int setup_log_pipes(struct ctr *c) {
  int out[2], err[2], in[2] = { -1, -1 };
  if (pipe2(out, O_CLOEXEC) < 0) return -1;
  if (pipe2(err, O_CLOEXEC) < 0) { close(out[0]); close(out[1]); return -1; }
  /* stdin: a pipe from us when the container takes it (attach writes there), else /dev/null */
  if (c->stdin_mode != STDIN_NONE) {
    if (pipe2(in, O_CLOEXEC) < 0) in[0] = -1;
  } else {
    in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
  }
  if (in[0] < 0 || dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0) {
    int e = errno;
    if (in[0] >= 0) close(in[0]);
    if (in[1] >= 0) close(in[1]);
    close(out[0]); close(out[1]); close(err[0]); close(err[1]);
    errno = e;
    return -1;
  }
  close(in[0]); close(out[1]); close(err[1]);
  if (in[1] >= 0) { fcntl(in[1], F_SETFL, O_NONBLOCK); c->stdin_fd = in[1]; }
  fcntl(out[0], F_SETFL, O_NONBLOCK);
  fcntl(err[0], F_SETFL, O_NONBLOCK);
  c->out.name = "stdout"; c->out.fd = out[0]; c->out.len = 0;
  c->err.name = "stderr"; c->err.fd = err[0]; c->err.len = 0;
  return 0;
}

static void close_log_pipes(struct ctr *c) {
  if (c->out.fd >= 0) close(c->out.fd);
  if (c->err.fd >= 0) close(c->err.fd);
  c->out.fd = c->err.fd = -1;
}

static void write_restarts(struct ctr *c) {
  char buf[160];
  long long next = c->restart_at ? clock_ms(CLOCK_REALTIME) + (c->restart_at - clock_ms(CLOCK_MONOTONIC)) : 0;
  snprintf(buf, sizeof buf, "%d %lld %lld %lld\n", c->restarts, next, c->log_start, c->log_prev_start);
  write_atomic_at(c->dirfd, "restarts", buf);
}

static void write_pid(struct ctr *c) {
  char buf[80];
  snprintf(buf, sizeof buf, "%d %ld\n", (int)c->res.pid, proc_start_time(c->res.pid));
  write_atomic_at(c->dirfd, "pid", buf);
}

static void record_exit(struct ctr *c, const siginfo_t *si) {
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  char buf[128];
  int code = si->si_code == CLD_EXITED ? si->si_status : -1;
  int sig = si->si_code == CLD_EXITED ? 0 : si->si_status;
  snprintf(buf, sizeof buf, "%d %d %lld%09ld\n", code, sig, (long long)now.tv_sec, now.tv_nsec);
  write_atomic_at(c->dirfd, "exit", buf);
}

/* Decide at exit, before the exit is recorded, so a reader never sees an
 * exit without the restart that follows it. */
static void plan_restart(struct ctr *c, const siginfo_t *si) {
  if (c->restart == RESTART_NEVER || c->no_restart) return;
  if (c->restart == RESTART_ON_FAILURE && si->si_code == CLD_EXITED && si->si_status == 0) return;
  long long now = clock_ms(CLOCK_MONOTONIC);
  if (now - c->run_started >= 600000) c->backoff_step = 0; /* it ran 10 min: forgive */
  long long delay = c->backoff_ms << (c->backoff_step < 10 ? c->backoff_step : 10);
  if (delay > 300000) delay = 300000;
  c->backoff_step++;
  c->restart_at = now + delay;
  write_restarts(c);
}

static void ctr_exited(struct ctr *c, const siginfo_t *si) {
  c->exited = 1;
  c->launched = 0;
  if (c->res.pidfd >= 0) { close(c->res.pidfd); c->res.pidfd = -1; }
  if (c->started) plan_restart(c, si);
  record_exit(c, si);
  /* orphans may hold the pipes open: they die with the cgroup, not with us */
}

/* A launch or start that failed: counts as a failed run (status `code`). */
static void ctr_failed_run(struct ctr *c, int code) {
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_code = CLD_EXITED; si.si_status = code;
  ctr_exited(c, &si);
}

/* The container stopped before pivot_root: ask the creator to run the
 * create hooks, and wait on our socket for "hooks-done" or "hooks-failed". */
static int before_pivot(void *ctx, pid_t pid, struct launch_error *err) {
  struct ctr *c = ctx;
  int report_fd = c->m->report_fd;
  char line[64];
  snprintf(line, sizeof line, "hooks %d\n", pid);
  if (write(report_fd, line, strlen(line)) < 0) goto gone;
  for (;;) {
    struct pollfd p[2] = { { c->listen_fd, POLLIN, 0 }, { report_fd, 0, 0 } };
    if (poll(p, 2, 600000) <= 0) return set_err(err, STEP_HOOK, ETIMEDOUT, "no word from the creator after its hooks");
    if (p[1].revents & (POLLERR | POLLHUP)) goto gone;
    int cfd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (cfd < 0) continue;
    char req[600];
    read_request(cfd, req, sizeof req);
    reply(cfd, "ok\n");
    close(cfd);
    if (strncmp(req, "hooks-done", 10) == 0) return 0;
    if (strncmp(req, "hooks-failed", 12) == 0) {
      set_err(err, STEP_HOOK, ECANCELED, "");
      snprintf(err->detail, sizeof err->detail, "%.470s", req[12] ? req + 13 : "a hook failed");
      return -1;
    }
  }
gone:
  return set_err(err, STEP_HOOK, EPIPE, "the creator went away during the hooks");
}

/* Launch the container's plan: stopped before exec unless start_now. */
static int ctr_launch(struct ctr *c, int start_now, struct launch_error *err) {
  struct launch_plan plan;
  char label[600];
  snprintf(label, sizeof label, "%.470s/plan.bin", c->dir);
  if (plan_load(c->dirfd, "plan.bin", label, &plan, err) < 0) return -1;
  if (!plan.wait_start) { plan_free(&plan); return set_err(err, STEP_PLAN, EINVAL, "plan is not a create plan"); }
  if (plan.hook_pause && c->m->report_fd < 0) {
    plan_free(&plan);
    return set_err(err, STEP_HOOK, EINVAL, "create hooks need their creator: not in a pod's monitor, nor on a restart");
  }
  if (c->stdin_fd >= 0) { close(c->stdin_fd); c->stdin_fd = -1; }
  c->pending_len = 0;
  /* a pod container's terminal: its master comes to us, on a socket of ours (the plan's path is a placeholder) */
  c->tty = plan.console_socket && c->m->pod_dirfd >= 0 && c->log.fd >= 0;
  char console_path[64];
  int console_fd = -1;
  if (c->tty) {
    snprintf(console_path, sizeof console_path, "/proc/self/fd/%d/console.sock", c->dirfd);
    if ((console_fd = listen_at(c->dirfd, "console.sock")) < 0) { plan_free(&plan); return set_err(err, STEP_CONSOLE, errno, "console.sock"); }
    plan.console_socket = console_path;
  }
  if (c->log.fd >= 0) {
    if (!c->tty && setup_log_pipes(c) < 0) { plan_free(&plan); return set_err(err, STEP_SYNC, errno, "log pipes"); }
    c->log_prev_start = c->log_start;
    c->log_start = container_log_offset(&c->log);
  }
  struct launch_callbacks cb = { before_pivot, c };
  int rc = launch(&plan, plan.hook_pause ? &cb : NULL, &c->res, err);
  plan_free(&plan);
  if (console_fd >= 0) {
    int master = rc == 0 ? receive_pty_master(console_fd) : -1;
    if (rc == 0 && master < 0) { set_err(err, STEP_CONSOLE, errno, "no terminal from the container"); launch_abort(&c->res); rc = -1; }
    close(console_fd);
    unlinkat(c->dirfd, "console.sock", 0);
    if (master >= 0) {
      fcntl(master, F_SETFL, O_NONBLOCK);
      c->out.name = "stdout"; c->out.fd = master; c->out.len = 0;
      c->err.fd = -1;
      if (c->stdin_mode != STDIN_NONE) c->stdin_fd = fcntl(master, F_DUPFD_CLOEXEC, 3);
    }
  }
  malloc_trim(0); /* the plan and seccomp compilation were transient: give their heap back */
  /* our 0-2 were the container's: drop them, so EOF on its pipes means it (and its children) closed them */
  if (c->log.fd >= 0) stdio_to_devnull();
  if (rc < 0) { c->res.pidfd = -1; c->res.sync_fd = -1; close_log_pipes(c); return -1; }
  c->launched = 1;
  c->exited = 0;
  if (!start_now) return 0;
  if (launch_start(&c->res, err) < 0) { c->launched = 0; close_log_pipes(c); return -1; }
  return 0;
}

static struct ctr *ctr_new(struct monitor *m, const char *dir, const struct ctr_options *o, struct launch_error *err) {
  /* not calloc: the log buffers' pages stay untouched (not resident) until output arrives */
  struct ctr *c = malloc(sizeof *c);
  if (!c) { set_err(err, STEP_SYNC, ENOMEM, "monitor"); return NULL; }
  memset(c, 0, offsetof(struct ctr, out));
  c->out.len = c->err.len = 0;
  c->m = m;
  snprintf(c->dir, sizeof c->dir, "%s", dir);
  c->log.fd = c->log.dirfd = -1;
  c->listen_fd = c->out.fd = c->err.fd = c->stdin_fd = c->attach_fd = -1;
  c->stdin_mode = o->stdin_mode;
  c->res.pidfd = c->res.sync_fd = -1;
  c->keep = o->keep || o->log_path || o->restart != RESTART_NEVER;
  c->restart = o->restart;
  c->backoff_ms = o->backoff_ms;
  char detail[600];
  c->dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->dirfd < 0 || (c->listen_fd = listen_at(c->dirfd, "monitor.sock")) < 0) {
    snprintf(detail, sizeof detail, "%.400s/monitor.sock", dir);
    set_err(err, STEP_SYNC, errno, detail);
    goto fail;
  }
  if (o->log_path) {
    if (container_log_open(&c->log, o->log_path, o->log_max_size, o->log_max_files) < 0) { set_err(err, STEP_SYNC, errno, o->log_path); goto fail; }
  }
  return c;
fail:
  if (c->listen_fd >= 0) { close(c->listen_fd); unlinkat(c->dirfd, "monitor.sock", 0); }
  if (c->dirfd >= 0) close(c->dirfd);
  free(c);
  return NULL;
}

/* The attached client went (or the container is done): forget it; with
 * stdinOnce the container's stdin closes with the first attach. */
static void ctr_end_input(struct ctr *c) {
  c->attach_input_done = 1;
  c->pending_len = 0;
  if (c->stdin_mode == STDIN_ONCE && c->stdin_fd >= 0) { close(c->stdin_fd); c->stdin_fd = -1; }
}

static void ctr_detach(struct ctr *c) {
  if (c->attach_fd >= 0) close(c->attach_fd);
  c->attach_fd = -1;
  ctr_end_input(c);
}

/* Client input to the container's stdin, without ever blocking: what it does
 * not take now waits in pending (and the client is not read meanwhile). */
static void ctr_feed_stdin(struct ctr *c) {
  if (c->stdin_fd < 0) { c->pending_len = 0; return; }
  ssize_t n = write(c->stdin_fd, c->pending, c->pending_len);
  if (n < 0) {
    if (errno != EAGAIN && errno != EINTR) c->pending_len = 0; /* nobody reads it any more */
    return;
  }
  memmove(c->pending, c->pending + n, c->pending_len - (size_t)n);
  c->pending_len -= (size_t)n;
}

static void ctr_attach_input(struct ctr *c) {
  ssize_t n = read(c->attach_fd, c->pending, sizeof c->pending);
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n < 0) { ctr_detach(c); return; }
  if (n == 0) { ctr_end_input(c); return; } /* it keeps the output until the container is done or it goes */
  c->pending_len = (size_t)n;
  ctr_feed_stdin(c);
}

static void ctr_free(struct ctr *c) {
  if (c->res.sync_fd >= 0) launch_abort(&c->res); /* created, never started */
  if (c->stdin_fd >= 0) close(c->stdin_fd);
  if (c->attach_fd >= 0) close(c->attach_fd);
  if (c->res.pidfd >= 0) close(c->res.pidfd);
  close_log_pipes(c);
  container_log_close(&c->log);
  if (c->listen_fd >= 0) { close(c->listen_fd); unlinkat(c->dirfd, "monitor.sock", 0); }
  close(c->dirfd);
  free(c);
}

/* Exited, its output drained, and nothing more to do for it. */
static int ctr_done(const struct ctr *c) {
  return c->exited && c->out.fd < 0 && c->err.fd < 0 && (!c->restart_at || c->no_restart);
}

static void ctr_restart_now(struct ctr *c) {
  if (faccessat(c->dirfd, "plan.bin", R_OK, 0) < 0) { c->restart_at = 0; return; } /* deleted under us */
  renameat(c->dirfd, "exit", c->dirfd, "last-exit");
  c->restart_at = 0;
  c->restarts++;
  struct launch_error err;
  if (rootfs_reset(c->dirfd, &err) == 0 && ctr_launch(c, 1, &err) == 0) {
    c->run_started = clock_ms(CLOCK_MONOTONIC);
    write_pid(c);
    write_restarts(c);
  } else {
    ctr_failed_run(c, 128); /* backs off again */
    if (!c->restart_at) write_restarts(c);
  }
}

/* Returns 1 when it keeps the connection (attach). */
static int ctr_serve(struct ctr *c, int cfd) {
  char req[64], line[700];
  read_request(cfd, req, sizeof req);
  if (strcmp(req, "attach") == 0 && c->m->pod_dirfd >= 0) {
    if (c->attach_fd >= 0 || ctr_done(c)) {
      reply(cfd, c->attach_fd >= 0 ? "err\tattach\t16\t-1\tanother client is attached\n" : "err\tattach\t3\t-1\tthe container has exited\n");
      return 0;
    }
    (void)!write(cfd, "ok\n", 3);
    fcntl(cfd, F_SETFL, O_NONBLOCK);
    c->attach_fd = cfd;
    c->attach_input_done = 0;
    return 1;
  }
  if (strcmp(req, "start") == 0) {
    if (c->started) {
      snprintf(line, sizeof line, "err\tstart\t%d\t-1\tcontainer already started\n", EEXIST);
    } else if (!c->launched) {
      snprintf(line, sizeof line, "err\tstart\t%d\t-1\tcontainer process is gone\n", ESRCH);
    } else {
      struct launch_error err;
      if (launch_start(&c->res, &err) == 0) {
        c->started = 1;
        c->run_started = clock_ms(CLOCK_MONOTONIC);
        write_atomic_at(c->dirfd, "started", "1\n");
        snprintf(line, sizeof line, "ok\n");
      } else {
        format_error(line, sizeof line, &err);
        ctr_failed_run(c, 127); /* launch_start reaped it */
      }
    }
  } else if (strcmp(req, "norestart") == 0) {
    c->no_restart = 1;
    if (c->restart_at) { c->restart_at = 0; write_restarts(c); }
    snprintf(line, sizeof line, "ok\n");
  } else if (strcmp(req, "ping") == 0) {
    snprintf(line, sizeof line, "ok %d\n", c->res.pid);
  } else if (strcmp(req, "reopen-log") == 0) {
    if (c->log.fd < 0) snprintf(line, sizeof line, "err\treopen\t%d\t-1\tthe container has no log\n", EBADF);
    else if (container_log_reopen(&c->log) < 0) snprintf(line, sizeof line, "err\treopen\t%d\t-1\t%s\n", errno, c->log.name);
    else snprintf(line, sizeof line, "ok\n");
  } else if (strcmp(req, "release") == 0 && c->m->pod_dirfd >= 0) {
    c->released = 1; /* freed after this round; a live process becomes an orphan we reap */
    snprintf(line, sizeof line, "ok\n");
  } else {
    snprintf(line, sizeof line, "err\tprotocol\t%d\t-1\tunknown request\n", EINVAL);
  }
  reply(cfd, line);
  return 0;
}

/* "create\tDIR\tLOG\tRESTART\tBACKOFF_MS[\tSTDIN[\tLOG_MAX_SIZE\tLOG_MAX_FILES]]":
 * launch DIR/plan.bin stopped before exec; STDIN is "stdin" or "stdin-once"
 * when it takes input from `attach` ("-": none); LOG rotates at
 * LOG_MAX_SIZE bytes, LOG_MAX_FILES files kept (0 0: never). */
static void pod_create(struct monitor *m, char *args, char *line, size_t cap) {
  char *fields[7] = { NULL };
  for (int i = 0; i < 7 && args; i++) {
    fields[i] = args;
    args = strchr(args, '\t');
    if (args) *args++ = 0;
  }
  struct ctr_options o = { .keep = 1, .log_path = NULL, .restart = RESTART_NEVER, .backoff_ms = 10000, .stdin_mode = STDIN_NONE };
  if (!fields[3] || parse_restart_policy(fields[2], &o.restart) < 0 || (o.backoff_ms = atoll(fields[3])) < 1) {
    snprintf(line, cap, "err\tprotocol\t%d\t-1\tusage: create DIR LOG RESTART BACKOFF_MS\n", EINVAL);
    return;
  }
  if (strcmp(fields[1], "-") != 0) o.log_path = fields[1];
  if (fields[6]) {
    o.log_max_size = atoll(fields[5]);
    o.log_max_files = atoi(fields[6]);
    if (!cri_log_rotation_valid(o.log_max_size, o.log_max_files)) {
      snprintf(line, cap, "err\tprotocol\t%d\t-1\tlog rotation needs a size of at least %d bytes and 2 files or more\n", EINVAL, CRI_LOG_MIN_ROTATE_SIZE);
      return;
    }
  }
  if (fields[4] && strcmp(fields[4], "stdin") == 0) o.stdin_mode = STDIN_OPEN;
  else if (fields[4] && strcmp(fields[4], "stdin-once") == 0) o.stdin_mode = STDIN_ONCE;
  struct launch_error err;
  struct ctr *c = ctr_new(m, fields[0], &o, &err);
  if (c && ctr_launch(c, 0, &err) < 0) { ctr_free(c); c = NULL; }
  if (!c) { format_error(line, cap, &err); return; }
  c->next = m->ctrs;
  m->ctrs = c;
  if (c->restart != RESTART_NEVER) write_pid(c);
  snprintf(line, cap, "ok %d\n", (int)c->res.pid);
}

static void pod_serve(struct monitor *m, int cfd) {
  char req[8192], line[700];
  read_request(cfd, req, sizeof req);
  if (strncmp(req, "create\t", 7) == 0) {
    pod_create(m, req + 7, line, sizeof line);
  } else if (strcmp(req, "ping") == 0) {
    snprintf(line, sizeof line, "ok %d\n", (int)getpid());
  } else if (strcmp(req, "exit") == 0) {
    m->quit = 1;
    snprintf(line, sizeof line, "ok\n");
  } else {
    snprintf(line, sizeof line, "err\tprotocol\t%d\t-1\tunknown request\n", EINVAL);
  }
  reply(cfd, line);
}

static void reap_children(struct monitor *m) {
  for (;;) {
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | __WALL) < 0 || si.si_pid == 0) return;
    for (struct ctr *c = m->ctrs; c; c = c->next) {
      if (c->launched && c->res.pid == si.si_pid) { ctr_exited(c, &si); break; }
    }
  }
}

static void free_released(struct monitor *m) {
  for (struct ctr **p = &m->ctrs; *p;) {
    struct ctr *c = *p;
    if (!c->released) { p = &c->next; continue; }
    *p = c->next;
    ctr_free(c);
  }
}

#define MAX_POLL 1024

/* The event loop. In container mode (no pod socket) it returns when the one
 * container is done, or once it started when it is not kept (handed to the
 * caller's reaper). In pod mode it returns on "exit" or SIGTERM. */
static void serve(struct monitor *m, int sfd) {
  static struct pollfd pfd[MAX_POLL];
  static struct ctr *owner[MAX_POLL];
  int single = m->pod_dirfd < 0;
  while (!m->quit) {
    long long now = clock_ms(CLOCK_MONOTONIC);
    int timeout = -1;
    for (struct ctr *c = m->ctrs; c; c = c->next) {
      if (!c->exited || c->out.fd >= 0 || c->err.fd >= 0 || !c->restart_at || c->no_restart) continue;
      long long left = c->restart_at - now;
      if (left <= 0) { ctr_restart_now(c); now = clock_ms(CLOCK_MONOTONIC); continue; }
      if (timeout < 0 || left < timeout) timeout = left > 60000 ? 60000 : (int)left;
    }
    if (single && (!m->ctrs || ctr_done(m->ctrs))) return;
    int n = 0;
    pfd[n] = (struct pollfd){ sfd, POLLIN, 0 }; owner[n++] = NULL;
    if (m->pod_listen_fd >= 0) { pfd[n] = (struct pollfd){ m->pod_listen_fd, POLLIN, 0 }; owner[n++] = NULL; }
    for (struct ctr *c = m->ctrs; c && n + 5 <= MAX_POLL; c = c->next) {
      if (c->attach_fd >= 0 && ctr_done(c)) ctr_detach(c); /* nothing more will come: the client sees EOF */
      pfd[n] = (struct pollfd){ c->listen_fd, POLLIN, 0 }; owner[n++] = c;
      pfd[n] = (struct pollfd){ c->out.fd, POLLIN, 0 }; owner[n++] = c;
      pfd[n] = (struct pollfd){ c->err.fd, POLLIN, 0 }; owner[n++] = c;
      /* client input only while the container has taken the last piece */
      /* (after its input ended, only a hang-up: events 0) */
      pfd[n] = (struct pollfd){ c->pending_len ? -1 : c->attach_fd, (short)(c->attach_input_done ? 0 : POLLIN), 0 }; owner[n++] = c;
      pfd[n] = (struct pollfd){ c->pending_len ? c->stdin_fd : -1, POLLOUT, 0 }; owner[n++] = c;
    }
    if (poll(pfd, (nfds_t)n, timeout) < 0 && errno != EINTR) return;
    for (int i = 0; i < n; i++) {
      struct ctr *c = owner[i];
      if (!pfd[i].revents || !c) continue;
      if (pfd[i].events == POLLOUT) { if (pfd[i].fd == c->stdin_fd) ctr_feed_stdin(c); }
      else if (pfd[i].fd == c->out.fd) cri_log_pump(&c->log, &c->out, c->attach_fd);
      else if (pfd[i].fd == c->err.fd) cri_log_pump(&c->log, &c->err, c->attach_fd);
      else if (pfd[i].fd == c->attach_fd) {
        if (c->attach_input_done) ctr_detach(c); /* hung up */
        else ctr_attach_input(c);
      }
      else if (pfd[i].fd == c->listen_fd) {
        int cfd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (cfd < 0) continue;
        if (!ctr_serve(c, cfd)) close(cfd);
        if (single && c->started && !c->keep) return; /* hand the container to our reaper, unreaped */
      }
    }
    if (m->pod_listen_fd >= 0 && (pfd[1].revents & POLLIN)) {
      int cfd = accept4(m->pod_listen_fd, NULL, NULL, SOCK_CLOEXEC);
      if (cfd >= 0) { pod_serve(m, cfd); close(cfd); }
    }
    if (pfd[0].revents & POLLIN) {
      struct signalfd_siginfo ssi;
      while (read(sfd, &ssi, sizeof ssi) == sizeof ssi) {
        if (ssi.ssi_signo == SIGTERM) m->quit = 1;
      }
    }
    reap_children(m);
    free_released(m);
  }
}

/* Signals: SIGCHLD (and in a pod SIGTERM) are read from a signalfd. */
static int monitor_signals(int pod) {
  prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of the containers are re-parented to us, and we reap them */
  signal(SIGPIPE, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGINT, SIG_IGN);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (pod) sigaddset(&set, SIGTERM);
  sigprocmask(SIG_BLOCK, &set, NULL);
  return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

int supervise_container(const char *dir, int report_fd, const struct ctr_options *o) {
  struct monitor m = { .report_fd = report_fd, .pod_dirfd = -1, .pod_listen_fd = -1 };
  struct launch_error err;
  char line[700];
  int sfd = monitor_signals(0);
  struct ctr *c = ctr_new(&m, dir, o, &err);
  if (!c) goto fail;
  if (ctr_launch(c, 0, &err) < 0) { ctr_free(c); goto fail; }
  m.ctrs = c;
  snprintf(line, sizeof line, "ok %d\n", c->res.pid);
  reply(report_fd, line);
  close(report_fd);
  m.report_fd = -1;
  /* the container holds the caller's stdio now; we must not keep it open */
  stdio_to_devnull();
  if (c->restart != RESTART_NEVER) write_pid(c);
  serve(&m, sfd);
  int handed_off = c->started && !c->keep;
  if (handed_off) c->res.pid = 0; /* never reaped here */
  else reap_children(&m);
  ctr_free(c);
  return 0;
fail:
  format_error(line, sizeof line, &err);
  reply(report_fd, line);
  return 125;
}

/* Go on as a child created in the cgroup (CLONE_INTO_CGROUP): a write to
 * cgroup.procs would cost a migration (~10 ms here, an RCU grace period);
 * the parent leaves at once, and the child is re-parented like a daemon.
 * Returns 0 in the child, -1 (errno) on failure; never returns in the parent. */
static int fork_into_cgroup(const char *cgroup) {
  int fd = open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_INTO_CGROUP;
  args.exit_signal = SIGCHLD;
  args.cgroup = (uint64_t)fd;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) { int e = errno; close(fd); errno = e; return -1; }
  if (pid > 0) _exit(0);
  close(fd);
  return 0;
}

int supervise_pod(const char *dir, int report_fd, const char *cgroup) {
  struct monitor m = { .report_fd = -1, .pod_dirfd = -1, .pod_listen_fd = -1 };
  char line[700], buf[80];
  if (cgroup && fork_into_cgroup(cgroup) < 0) {
    snprintf(line, sizeof line, "err\tcgroup\t%d\t-1\t%.500s\n", errno, cgroup);
    goto fail;
  }
  m.pod_dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (m.pod_dirfd < 0 || (m.pod_listen_fd = listen_at(m.pod_dirfd, "monitor.sock")) < 0) {
    snprintf(line, sizeof line, "err\tsync\t%d\t-1\t%.500s/monitor.sock\n", errno, dir);
    goto fail;
  }
  snprintf(buf, sizeof buf, "%d %ld\n", (int)getpid(), proc_start_time(getpid()));
  if (write_atomic_at(m.pod_dirfd, "monitor.pid", buf) < 0) {
    snprintf(line, sizeof line, "err\tsync\t%d\t-1\t%.500s/monitor.pid\n", errno, dir);
    goto fail;
  }
  int sfd = monitor_signals(1);
  if (chdir("/") < 0) { /* pin nothing */ }
  snprintf(line, sizeof line, "ok %d\n", (int)getpid());
  reply(report_fd, line);
  close(report_fd);
  stdio_to_devnull();
  serve(&m, sfd);
  while (m.ctrs) {
    struct ctr *c = m.ctrs;
    m.ctrs = c->next;
    ctr_free(c);
  }
  close(m.pod_listen_fd);
  unlinkat(m.pod_dirfd, "monitor.sock", 0);
  unlinkat(m.pod_dirfd, "monitor.pid", 0);
  return 0;
fail:
  reply(report_fd, line);
  return 125;
}
