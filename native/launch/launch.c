/* Parent side of a launch: everything that may allocate happens here,
 * before clone3; then the child is driven over a SOCK_SEQPACKET pair until
 * it execs (EOF on the close-on-exec socket) or reports a failure. */
#include "launch.h"
#include "child.h"
#include "device_filter.h"
#include "exe_seal.h"
#include "seccomp_compile.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const step_names[STEP__COUNT] = {
  [STEP_PLAN] = "plan", [STEP_SECCOMP_COMPILE] = "seccomp compile",
  [STEP_NS_OPEN] = "open namespace", [STEP_CGROUP_OPEN] = "open cgroup",
  [STEP_CLONE] = "clone3", [STEP_SETNS] = "setns", [STEP_UNSHARE] = "unshare",
  [STEP_USERNS_MAP] = "user namespace mapping", [STEP_SETID_ROOT] = "become root in user namespace",
  [STEP_FORK] = "fork into pid namespace", [STEP_HOSTNAME] = "sethostname",
  [STEP_DOMAINNAME] = "setdomainname", [STEP_OOM_SCORE_ADJ] = "oom_score_adj",
  [STEP_ROOT_PROPAGATION] = "rootfs propagation", [STEP_ROOTFS] = "rootfs",
  [STEP_MOUNTPOINT] = "mountpoint", [STEP_MOUNT] = "mount", [STEP_DEVICE] = "device",
  [STEP_SYMLINK] = "symlink", [STEP_PIVOT_ROOT] = "pivot_root", [STEP_SYSCTL] = "sysctl",
  [STEP_READONLY_PATH] = "readonly path", [STEP_MASKED_PATH] = "masked path",
  [STEP_READONLY_ROOT] = "readonly root", [STEP_RLIMIT] = "rlimit", [STEP_SECCOMP] = "seccomp",
  [STEP_CAPS] = "capabilities", [STEP_SETGROUPS] = "setgroups", [STEP_SETGID] = "setgid",
  [STEP_SETUID] = "setuid", [STEP_NO_NEW_PRIVS] = "no_new_privs", [STEP_CWD] = "chdir",
  [STEP_EXEC] = "exec", [STEP_SYNC] = "sync", [STEP_CONSOLE] = "console", [STEP_HOOK] = "hook",
  [STEP_DEVICE_CGROUP] = "device cgroup", [STEP_HELPER] = "sealed helper",
  [STEP_LOOPBACK] = "loopback up",
};

const char *launch_step_name(int step) {
  if (step <= 0 || step >= STEP__COUNT || !step_names[step]) return "unknown";
  return step_names[step];
}

static int set_err(struct launch_error *err, int step, int e, int index, const char *detail) {
  err->step = step; err->err = e; err->index = index;
  snprintf(err->detail, sizeof err->detail, "%s", detail ? detail : "");
  return -1;
}

static void close_fds(struct launch_plan *p, int cgroup_fd) {
  for (size_t i = 0; i < p->njoins; i++)
    if (p->joins[i].fd >= 0) { close(p->joins[i].fd); p->joins[i].fd = -1; }
  if (cgroup_fd >= 0) close(cgroup_fd);
  if (p->console_fd >= 0) { close(p->console_fd); p->console_fd = -1; }
}

static int connect_console(struct launch_plan *p, struct launch_error *err) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(p->console_socket) >= sizeof addr.sun_path)
    return set_err(err, STEP_CONSOLE, ENAMETOOLONG, -1, p->console_socket);
  strcpy(addr.sun_path, p->console_socket);
  p->console_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (p->console_fd < 0 || connect(p->console_fd, (struct sockaddr *)&addr, sizeof addr) < 0)
    return set_err(err, STEP_CONSOLE, errno, -1, p->console_socket);
  return 0;
}

static int write_file(const char *path, const char *data) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, data, strlen(data));
  int e = errno;
  close(fd);
  errno = e;
  return n == (ssize_t)strlen(data) ? 0 : -1;
}

static int write_id_maps(const struct launch_plan *p, pid_t pid, struct launch_error *err) {
  char path[64];
  if (p->uid_map) {
    snprintf(path, sizeof path, "/proc/%d/uid_map", pid);
    if (write_file(path, p->uid_map) < 0) return set_err(err, STEP_USERNS_MAP, errno, -1, "uidMappings");
  }
  if (p->gid_map) {
    snprintf(path, sizeof path, "/proc/%d/gid_map", pid);
    if (write_file(path, p->gid_map) < 0) return set_err(err, STEP_USERNS_MAP, errno, -1, "gidMappings");
  }
  return 0;
}

/* Namespaces can be created by clone3 itself (one process, fastest) unless
 * a user namespace is involved: the child re-executes the helper first, and
 * an execve in a user namespace whose maps are not written yet drops every
 * capability, so it joins or creates that one (and what follows) after. */
static int clone_can_create_ns(const struct launch_plan *p) {
  for (size_t i = 0; i < p->njoins; i++)
    if (p->joins[i].type == CLONE_NEWUSER) return 0;
  return !(p->new_ns & CLONE_NEWUSER);
}

static const char *helper_path;
static int helper_fd = -1;

void launch_set_helper(const char *monitor_path) { helper_path = monitor_path; }

/* opened on first use and kept: one private read-only mount per launcher */
static int sealed_helper(struct launch_error *err) {
  if (helper_fd >= 0) return helper_fd;
  if (!helper_path) return set_err(err, STEP_HELPER, EINVAL, -1, "no podrun-monitor path set (launch_set_helper)");
  helper_fd = exe_seal_open(helper_path);
  if (helper_fd < 0) return set_err(err, STEP_HELPER, errno, -1, helper_path);
  return helper_fd;
}

/* The memfd the child resumes from after its re-exec; its first page (the
 * handoff, whose first member is the shared error) stays mapped here. */
static int make_handoff(const struct launch_plan *p, int sync_fd, int clone_made_ns, struct handoff **out, struct launch_error *err) {
  if (p->njoins > HANDOFF_MAX_JOINS) return set_err(err, STEP_PLAN, E2BIG, -1, "too many namespaces to join");
  int fd = memfd_create("podrun-launch", MFD_CLOEXEC);
  if (fd < 0) return set_err(err, STEP_SYNC, errno, -1, "memfd_create");
  size_t bpf_bytes = p->has_seccomp ? p->bpf.len * sizeof *p->bpf.filter : 0;
  struct handoff *h = MAP_FAILED;
  if (ftruncate(fd, (off_t)(HANDOFF_DATA_OFFSET + p->buf_len + bpf_bytes)) < 0 ||
      pwrite(fd, p->buf, p->buf_len, HANDOFF_DATA_OFFSET) != (ssize_t)p->buf_len ||
      (bpf_bytes && pwrite(fd, p->bpf.filter, bpf_bytes, (off_t)(HANDOFF_DATA_OFFSET + p->buf_len)) != (ssize_t)bpf_bytes) ||
      (h = mmap(NULL, HANDOFF_DATA_OFFSET, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
    int e = errno;
    close(fd);
    return set_err(err, STEP_SYNC, e, -1, "handoff");
  }
  h->sync_fd = sync_fd;
  h->console_fd = p->console_fd;
  h->clone_made_ns = clone_made_ns;
  h->njoins = (int32_t)p->njoins;
  for (size_t i = 0; i < p->njoins; i++) h->join_fds[i] = p->joins[i].fd;
  h->plan_len = p->buf_len;
  h->bpf_len = p->has_seccomp ? p->bpf.len : 0;
  *out = h;
  return fd;
}

static void reap(pid_t pid) {
  while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {}
}

struct drive {
  const struct launch_plan *plan; /* NULL after MSG_READY: no more map requests */
  const struct launch_callbacks *cb;
  int sock;
  pid_t child;                     /* the process clone3 made */
  pid_t final;                     /* the process that execs (child, or its re-parented child) */
  const struct launch_error *shared_err;
};

static void kill_and_reap(struct drive *d) {
  kill(d->child, SIGKILL);
  reap(d->child);
  if (d->final != d->child) { kill(d->final, SIGKILL); reap(d->final); }
}

/* Send the child a bare message (go-ahead). 0, or -1 with err set. */
static int tell_child(struct drive *d, int type, struct launch_error *err) {
  struct sync_msg m;
  memset(&m, 0, sizeof m);
  m.type = type;
  if (send(d->sock, &m, sizeof m, MSG_NOSIGNAL) == (ssize_t)sizeof m) return 0;
  return set_err(err, STEP_SYNC, errno, -1, "send");
}

/* Drive the child until it execs (EOF on the close-on-exec socket) or, when
 * stop_at_ready, until it reports "created". 0, or -1 with err set and the
 * child killed and reaped. */
static int drive_child(struct drive *d, int stop_at_ready, struct launch_error *err) {
  for (;;) {
    struct sync_msg m;
    ssize_t n = recv(d->sock, &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break;
    if (n != (ssize_t)sizeof m) { set_err(err, STEP_SYNC, n < 0 ? errno : EPROTO, -1, "recv"); goto fail; }
    switch (m.type) {
    case MSG_NEED_MAPS: {
      if (!d->plan) { set_err(err, STEP_SYNC, EPROTO, -1, "late map request"); goto fail; }
      if (write_id_maps(d->plan, d->child, err) < 0 || tell_child(d, MSG_MAPS_DONE, err) < 0) goto fail;
      break;
    }
    case MSG_PID:
      d->final = m.pid;
      /* the intermediate exits right after telling us */
      reap(d->child);
      d->child = d->final;
      break;
    case MSG_HOOKS: {
      if (!d->cb || !d->cb->before_pivot) { set_err(err, STEP_SYNC, EPROTO, -1, "hooks without a handler"); goto fail; }
      if (d->cb->before_pivot(d->cb->ctx, d->final, err) < 0 || tell_child(d, MSG_HOOKS_DONE, err) < 0) goto fail;
      break;
    }
    case MSG_READY:
      if (stop_at_ready) return 0;
      set_err(err, STEP_SYNC, EPROTO, -1, "unexpected ready");
      goto fail;
    case MSG_ERROR:
      *err = m.err;
      err->detail[sizeof err->detail - 1] = 0;
      goto fail;
    default:
      set_err(err, STEP_SYNC, EPROTO, -1, "unexpected message");
      goto fail;
    }
  }
  /* EOF: the child exec'd, or failed where it could not send (seccomp) */
  if (d->shared_err->step) {
    *err = *d->shared_err;
    err->detail[sizeof err->detail - 1] = 0;
    goto fail;
  }
  if (stop_at_ready) { set_err(err, STEP_SYNC, EPROTO, -1, "child exec'd before ready"); goto fail; }
  /* or it was killed before exec, which its exit status will tell */
  return 0;
fail:
  kill_and_reap(d);
  return -1;
}

int launch(struct launch_plan *p, const struct launch_callbacks *cb, struct launch_result *res, struct launch_error *err) {
  int cgroup_fd = -1;
  memset(err, 0, sizeof *err);
  res->pid = -1; res->pidfd = -1; res->sync_fd = -1; res->shared_err = NULL;
  if (p->has_seccomp && !p->bpf.filter && seccomp_compile(p, err) < 0) return -1;
  for (size_t i = 0; i < p->njoins; i++) {
    p->joins[i].fd = open(p->joins[i].path, O_RDONLY | O_CLOEXEC);
    if (p->joins[i].fd < 0) {
      set_err(err, STEP_NS_OPEN, errno, (int)i, p->joins[i].path);
      close_fds(p, -1);
      return -1;
    }
  }
  if (p->console_socket && connect_console(p, err) < 0) {
    close_fds(p, -1);
    return -1;
  }
  if (p->cgroup) {
    cgroup_fd = open(p->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      set_err(err, STEP_CGROUP_OPEN, errno, -1, p->cgroup);
      close_fds(p, -1);
      return -1;
    }
    if (device_filter_attach(p, cgroup_fd, err) < 0) {
      close_fds(p, cgroup_fd);
      return -1;
    }
  }
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
    close_fds(p, cgroup_fd);
    return set_err(err, STEP_SYNC, errno, -1, "socketpair");
  }

  /* the child's end must not land among the fds it preserves, or it would
   * survive exec and we would never see EOF */
  int min_fd = 3 + (int)p->preserve_fds;
  for (int i = 0; i < 2; i++) {
    if (sv[i] >= min_fd) continue;
    int moved = fcntl(sv[i], F_DUPFD_CLOEXEC, min_fd);
    if (moved < 0) {
      int e = errno;
      close(sv[0]); close(sv[1]); close_fds(p, cgroup_fd);
      return set_err(err, STEP_SYNC, e, -1, "F_DUPFD_CLOEXEC");
    }
    close(sv[i]);
    sv[i] = moved;
  }

  int in_clone = clone_can_create_ns(p);
  struct handoff *handoff;
  int handoff_fd = sealed_helper(err) < 0 ? -1 : make_handoff(p, sv[1], in_clone, &handoff, err);
  if (handoff_fd < 0) {
    close(sv[0]); close(sv[1]); close_fds(p, cgroup_fd);
    return -1;
  }
  struct launch_error *shared_err = &handoff->err;
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_PIDFD | (in_clone ? p->new_ns : 0) | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.exit_signal = SIGCHLD;
  int pidfd = -1;
  args.pidfd = (uint64_t)(uintptr_t)&pidfd;
  args.cgroup = cgroup_fd >= 0 ? (uint64_t)cgroup_fd : 0;

  /* no signal handler of the launcher may run in the child */
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) {
    close(sv[0]);
    struct child c = { .plan = p, .sync_fd = sv[1], .shared_err = shared_err, .root_fd = -1, .in_new_userns = 0, .rootfs_by_cwd = 0, .rootfs_tree = -1, .trees = NULL, .envp = NULL };
    child_reexec(&c, helper_fd, handoff_fd);
  }
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(sv[1]);
  close(handoff_fd);
  close_fds(p, cgroup_fd);
  if (pid < 0) {
    close(sv[0]);
    munmap(shared_err, sizeof *shared_err);
    return set_err(err, STEP_CLONE, clone_errno, -1, p->cgroup ? p->cgroup : "");
  }
  struct drive d = { .plan = p, .cb = cb, .sock = sv[0], .child = (pid_t)pid, .final = (pid_t)pid, .shared_err = shared_err };
  if (drive_child(&d, p->wait_start, err) < 0) {
    close(sv[0]);
    munmap(shared_err, sizeof *shared_err);
    close(pidfd);
    return -1;
  }
  if (d.final != pid) {
    /* the process that execs is the grandchild, re-parented to us */
    close(pidfd);
    pidfd = (int)syscall(SYS_pidfd_open, d.final, 0);
    if (pidfd < 0) {
      set_err(err, STEP_FORK, errno, -1, "pidfd_open");
      kill_and_reap(&d);
      close(sv[0]);
      munmap(shared_err, sizeof *shared_err);
      return -1;
    }
  }
  if (p->wait_start) {
    res->sync_fd = sv[0];
    res->shared_err = shared_err;
  } else {
    close(sv[0]);
    munmap(shared_err, sizeof *shared_err);
  }
  res->pid = d.final;
  res->pidfd = pidfd;
  return 0;
}

static void release(struct launch_result *res) {
  if (res->sync_fd >= 0) close(res->sync_fd);
  if (res->shared_err) munmap(res->shared_err, sizeof *res->shared_err);
  res->sync_fd = -1;
  res->shared_err = NULL;
}

int launch_start(struct launch_result *res, struct launch_error *err) {
  memset(err, 0, sizeof *err);
  if (res->sync_fd < 0 || !res->shared_err) return set_err(err, STEP_SYNC, EINVAL, -1, "not waiting for start");
  struct drive d = { .plan = NULL, .sock = res->sync_fd, .child = res->pid, .final = res->pid, .shared_err = res->shared_err };
  int rc;
  if (tell_child(&d, MSG_START, err) < 0) {
    /* the child is gone (killed while created) */
    rc = set_err(err, STEP_SYNC, err->err, -1, "container process is gone");
    kill_and_reap(&d);
  } else {
    rc = drive_child(&d, 0, err);
  }
  release(res);
  if (rc < 0) { close(res->pidfd); res->pidfd = -1; }
  return rc;
}

void launch_abort(struct launch_result *res) {
  struct drive d = { .child = res->pid, .final = res->pid };
  if (res->pid > 0) kill_and_reap(&d);
  release(res);
  if (res->pidfd >= 0) close(res->pidfd);
  res->pidfd = -1;
}
