/* The child between clone and exec: namespaces, then rootfs, then process
 * attributes, then exec. Order follows runc/crun. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

/* the kernel's layout, not glibc's struct sigaction */
struct kernel_sigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

/* handlers of the launcher (node, the monitor) must not run here, and
 * ignored signals must not stay ignored in the container */
static void reset_signals(void) {
  struct kernel_sigaction sa = { SIG_DFL, 0, NULL, 0 };
  for (int sig = 1; sig < _NSIG; sig++) {
    if (sig == SIGKILL || sig == SIGSTOP) continue;
    syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof sa.mask);
  }
}

void sync_send(struct child *c, int type, int pid) {
  struct sync_msg m;
  char *p = (char *)&m;
  for (size_t i = 0; i < sizeof m; i++) p[i] = 0;
  m.type = type;
  m.pid = pid;
  if (send(c->sync_fd, &m, sizeof m, MSG_NOSIGNAL) != (ssize_t)sizeof m)
    child_fail(c, STEP_SYNC, errno, -1, "send");
}

void sync_expect(struct child *c, int type) {
  struct sync_msg m;
  ssize_t n = recv(c->sync_fd, &m, sizeof m, 0);
  if (n != (ssize_t)sizeof m || m.type != type)
    child_fail(c, STEP_SYNC, n < 0 ? errno : EPROTO, -1, "waiting for parent");
}

static void join_namespaces(struct child *c, int user_only) {
  const struct launch_plan *p = c->plan;
  for (size_t i = 0; i < p->njoins; i++) {
    int is_user = p->joins[i].type == CLONE_NEWUSER;
    if (is_user != user_only) continue;
    if (setns(p->joins[i].fd, (int)p->joins[i].type) < 0)
      child_fail(c, STEP_SETNS, errno, (int)i, p->joins[i].path);
  }
}

/* Does the map file say what `want` ("inside outside count\n" lines) says? Whitespace is the kernel's own. */
static int same_map(const char *file, const char *want) {
  char buf[1024];
  int fd = open(file, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return 0;
  buf[n] = 0;
  const char *a = buf, *b = want;
  for (;;) {
    while (*a == ' ' || *a == '\t') a++;
    while (*b == ' ' || *b == '\t') b++;
    if (!*a || !*b) return !*a && !*b;
    if (*a == '\n' || *b == '\n') { if (*a != *b) return 0; a++; b++; continue; }
    /* one number from each, then at least one separator */
    while (*a >= '0' && *a <= '9' && *a == *b) { a++; b++; }
    if ((*a >= '0' && *a <= '9') || (*b >= '0' && *b <= '9')) return 0;
    if (!(*a == ' ' || *a == '\t' || *a == '\n') || !(*b == ' ' || *b == '\t' || *b == '\n')) return 0;
  }
}

/* The parent writes the id maps of a new user namespace; then become root in it. */
static void await_userns_maps(struct child *c) {
  sync_send(c, MSG_NEED_MAPS, (int)syscall(SYS_getpid));
  sync_expect(c, MSG_MAPS_DONE);
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) child_fail(c, STEP_SETID_ROOT, errno, -1, "setresgid(0)");
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) child_fail(c, STEP_SETID_ROOT, errno, -1, "setresuid(0)");
}

/* Joining a PID namespace, or unsharing one, only affects children: fork
 * once more. The grandchild is re-parented to the launcher (CLONE_PARENT);
 * the intermediate reports its pid and exits. */
static void fork_into_pidns(struct child *c) {
  struct clone_args args;
  char *p = (char *)&args;
  for (size_t i = 0; i < sizeof args; i++) p[i] = 0;
  args.flags = CLONE_PARENT;
  args.exit_signal = 0; /* CLONE_PARENT inherits our exit signal */
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) child_fail(c, STEP_FORK, errno, -1, "clone3(CLONE_PARENT)");
  if (pid > 0) {
    sync_send(c, MSG_PID, (int)pid);
    syscall(SYS_exit_group, 0);
  }
}

int loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct ifreq ifr;
  for (size_t i = 0; i < sizeof ifr; i++) ((char *)&ifr)[i] = 0;
  ifr.ifr_name[0] = 'l';
  ifr.ifr_name[1] = 'o';
  int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
  if (rc == 0) {
    ifr.ifr_flags |= IFF_UP;
    rc = ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  int e = errno;
  close(s);
  errno = e;
  return rc;
}

void child_main(struct child *c, int clone_made_ns) {
  const struct launch_plan *p = c->plan;
  reset_signals();
  /* die with the launcher while being set up; cleared just before exec */
  prctl(PR_SET_PDEATHSIG, SIGKILL);

  int need_fork = 0;
  if (clone_made_ns) {
    if (p->new_ns & CLONE_NEWUSER) { c->in_new_userns = 1; await_userns_maps(c); }
    join_namespaces(c, 0);
  } else {
    for (size_t i = 0; i < p->njoins; i++)
      if (p->joins[i].type == CLONE_NEWUSER && p->rootfs && !p->host_mount_ns) { rootfs_take_userns(c); break; }
    join_namespaces(c, 1);
    /* root of a joined user namespace (a user-namespaced pod's): our host ids are not mapped there, and files
     * made in its filesystems (devpts, mqueue, tmpfs) need an owner it maps */
    for (size_t i = 0; i < p->njoins; i++) {
      if (p->joins[i].type != CLONE_NEWUSER) continue;
      if (syscall(SYS_setresgid, 0, 0, 0) < 0) child_fail(c, STEP_SETID_ROOT, errno, -1, "setresgid(0)");
      if (syscall(SYS_setresuid, 0, 0, 0) < 0) child_fail(c, STEP_SETID_ROOT, errno, -1, "setresuid(0)");
      /* idmapped binds were made with this namespace: it must map what their uidMappings asked */
      if (p->idmap_uid_map && (!same_map("/proc/self/uid_map", p->idmap_uid_map) || !same_map("/proc/self/gid_map", p->idmap_gid_map)))
        child_fail(c, STEP_MOUNT, EINVAL, -1, "idmapped mount mappings differ from the joined user namespace's");
      break;
    }
    join_namespaces(c, 0);
    if (p->new_ns & CLONE_NEWUSER) {
      if (unshare(CLONE_NEWUSER) < 0) child_fail(c, STEP_UNSHARE, errno, -1, "user");
      c->in_new_userns = 1;
      await_userns_maps(c);
    }
    uint64_t rest = p->new_ns & ~(uint64_t)CLONE_NEWUSER;
    if (rest && unshare((int)rest) < 0) child_fail(c, STEP_UNSHARE, errno, -1, "namespaces");
    need_fork = (rest & CLONE_NEWPID) != 0;
  }
  /* a new network namespace's lo comes up, as runc's and crun's do: a pod's
   * containers (`podman --network none`) talk over 127.0.0.1 */
  if ((p->new_ns & CLONE_NEWNET) && loopback_up() < 0) child_fail(c, STEP_LOOPBACK, errno, -1, "lo");
  for (size_t i = 0; i < p->njoins; i++)
    if (p->joins[i].type == CLONE_NEWPID) need_fork = 1;
  for (size_t i = 0; i < p->njoins; i++) {
    if (p->joins[i].fd >= 0) close(p->joins[i].fd);
  }
  /* Entering a PID namespace makes us visible to its processes. Do it once
   * the root is the container's (after pivot_root), so nothing there can
   * reach the host through our root, cwd or fds while the rootfs is made,
   * not even with SYS_PTRACE. procfs mounts wait until then: a procfs
   * shows the PID namespace of whoever mounts it. */
  int late_fork = need_fork && rootfs_can_fork_late(c);
  if (need_fork && !late_fork) fork_into_pidns(c);

  if (p->hostname && sethostname(p->hostname, ss_len(p->hostname)) < 0)
    child_fail(c, STEP_HOSTNAME, errno, -1, p->hostname);
  if (p->domainname && setdomainname(p->domainname, ss_len(p->domainname)) < 0)
    child_fail(c, STEP_DOMAINNAME, errno, -1, p->domainname);

  if (p->has_oom) {
    char val[24] = "";
    ss_cat_int(val, sizeof val, p->oom_score_adj);
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, val, ss_len(val)) < 0)
      child_fail(c, STEP_OOM_SCORE_ADJ, errno, -1, val);
    close(fd);
  }

  if (p->rootfs) rootfs_setup(c, late_fork);
  if (late_fork) {
    fork_into_pidns(c);
    rootfs_mount_procfs(c);
  }
  if (p->console_socket) console_setup(c);
  if (p->rootfs) rootfs_finish(c);
  process_finalize(c);
  if (p->wait_start) {
    /* "created": everything is in place; exec only when told to start */
    sync_send(c, MSG_READY, 0);
    sync_expect(c, MSG_START);
  }
  process_exec(c);
}
