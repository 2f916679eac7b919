/* Parent side of a launch: everything that may allocate happens here,
 * before clone3; then the child is driven over a SOCK_SEQPACKET pair until
 * it execs (EOF on the close-on-exec socket) or reports a failure. */
#include "launch.h"
#include "child.h"
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
  [STEP_EXEC] = "exec", [STEP_SYNC] = "sync",
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
 * a user namespace must be joined first or created after joining others. */
static int clone_can_create_ns(const struct launch_plan *p) {
  for (size_t i = 0; i < p->njoins; i++)
    if (p->joins[i].type == CLONE_NEWUSER) return 0;
  return !((p->new_ns & CLONE_NEWUSER) && p->njoins > 0);
}

static void reap(pid_t pid) {
  while (waitpid(pid, NULL, __WALL) < 0 && errno == EINTR) {}
}

/* Drive the child until exec. Returns the final pid, or -1 with err set. */
static pid_t drive_child(const struct launch_plan *p, int sock, pid_t child,
                         const struct launch_error *shared_err, struct launch_error *err) {
  pid_t final = child;
  pid_t intermediate = 0;
  for (;;) {
    struct sync_msg m;
    ssize_t n = recv(sock, &m, sizeof m, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) break; /* every copy of the child's end closed: exec'd or died */
    if (n != (ssize_t)sizeof m) { set_err(err, STEP_SYNC, n < 0 ? errno : EPROTO, -1, "recv"); goto fail; }
    switch (m.type) {
    case MSG_NEED_MAPS: {
      if (write_id_maps(p, child, err) < 0) goto fail;
      struct sync_msg ok = { .type = MSG_MAPS_DONE };
      if (send(sock, &ok, sizeof ok, MSG_NOSIGNAL) != (ssize_t)sizeof ok) {
        set_err(err, STEP_SYNC, errno, -1, "send");
        goto fail;
      }
      break;
    }
    case MSG_PID:
      intermediate = child;
      final = m.pid;
      break;
    case MSG_ERROR:
      *err = m.err;
      err->detail[sizeof err->detail - 1] = 0;
      goto fail;
    default:
      set_err(err, STEP_SYNC, EPROTO, -1, "unexpected message");
      goto fail;
    }
  }
  if (intermediate) reap(intermediate);
  /* EOF: the child exec'd, or failed where it could not send (seccomp) */
  if (shared_err->step) {
    *err = *shared_err;
    err->detail[sizeof err->detail - 1] = 0;
    goto fail;
  }
  /* or it was killed before exec, which its exit status will tell */
  return final;
fail:
  kill(child, SIGKILL);
  reap(child);
  if (final != child) { kill(final, SIGKILL); reap(final); }
  return -1;
}

int launch(struct launch_plan *p, struct launch_result *res, struct launch_error *err) {
  int cgroup_fd = -1;
  memset(err, 0, sizeof *err);
  res->pid = -1; res->pidfd = -1;
  if (p->has_seccomp && !p->bpf.filter && seccomp_compile(p, err) < 0) return -1;
  for (size_t i = 0; i < p->njoins; i++) {
    p->joins[i].fd = open(p->joins[i].path, O_RDONLY | O_CLOEXEC);
    if (p->joins[i].fd < 0) {
      set_err(err, STEP_NS_OPEN, errno, (int)i, p->joins[i].path);
      close_fds(p, -1);
      return -1;
    }
  }
  if (p->cgroup) {
    cgroup_fd = open(p->cgroup, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (cgroup_fd < 0) {
      set_err(err, STEP_CGROUP_OPEN, errno, -1, p->cgroup);
      close_fds(p, -1);
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

  struct launch_error *shared_err = mmap(NULL, sizeof *shared_err, PROT_READ | PROT_WRITE,
                                         MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared_err == MAP_FAILED) {
    int e = errno;
    close(sv[0]); close(sv[1]); close_fds(p, cgroup_fd);
    return set_err(err, STEP_SYNC, e, -1, "mmap");
  }

  int in_clone = clone_can_create_ns(p);
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
    struct child c = { .plan = p, .sync_fd = sv[1], .shared_err = shared_err, .root_fd = -1, .in_new_userns = 0 };
    child_main(&c, in_clone);
  }
  int clone_errno = errno;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  close(sv[1]);
  close_fds(p, cgroup_fd);
  if (pid < 0) {
    close(sv[0]);
    munmap(shared_err, sizeof *shared_err);
    return set_err(err, STEP_CLONE, clone_errno, -1, p->cgroup ? p->cgroup : "");
  }
  pid_t final = drive_child(p, sv[0], (pid_t)pid, shared_err, err);
  close(sv[0]);
  munmap(shared_err, sizeof *shared_err);
  if (final < 0) { close(pidfd); return -1; }
  if (final != pid) {
    /* the process that execs is the grandchild, re-parented to us */
    close(pidfd);
    pidfd = (int)syscall(SYS_pidfd_open, final, 0);
    if (pidfd < 0) {
      set_err(err, STEP_FORK, errno, -1, "pidfd_open");
      kill(final, SIGKILL);
      reap(final);
      return -1;
    }
  }
  res->pid = final;
  res->pidfd = pidfd;
  return 0;
}
