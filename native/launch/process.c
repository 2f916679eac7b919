/* Process attributes in the child, last steps before exec: rlimits,
 * seccomp, capabilities, user/groups, umask, no_new_privs, fds, cwd. Uses
 * raw syscalls for set*id: glibc's wrappers would try to broadcast to the
 * threads of the process we were cloned from. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

enum { CAP_BOUNDING, CAP_EFFECTIVE, CAP_PERMITTED, CAP_INHERITABLE, CAP_AMBIENT };

static void install_seccomp(struct child *c) {
  const struct launch_plan *p = c->plan;
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, p->sc_flags, &p->bpf) < 0)
    child_fail(c, STEP_SECCOMP, errno, -1, "seccomp(SECCOMP_SET_MODE_FILTER)");
}

static void drop_bounding(struct child *c) {
  uint64_t keep = c->plan->caps[CAP_BOUNDING];
  for (int cap = 0; cap < 64; cap++) {
    if (keep & (1ULL << cap)) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
      if (errno == EINVAL) break; /* past the kernel's last capability */
      child_fail(c, STEP_CAPS, errno, cap, "bounding set");
    }
  }
}

static void apply_caps(struct child *c) {
  const uint64_t *caps = c->plan->caps;
  struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
  struct __user_cap_data_struct data[2];
  for (int i = 0; i < 2; i++) {
    data[i].effective = (uint32_t)(caps[CAP_EFFECTIVE] >> (32 * i));
    data[i].permitted = (uint32_t)(caps[CAP_PERMITTED] >> (32 * i));
    data[i].inheritable = (uint32_t)(caps[CAP_INHERITABLE] >> (32 * i));
  }
  if (syscall(SYS_capset, &hdr, data) < 0) child_fail(c, STEP_CAPS, errno, -1, "capset");
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
    child_fail(c, STEP_CAPS, errno, -1, "ambient clear");
  for (int cap = 0; cap < 64; cap++) {
    if (!(caps[CAP_AMBIENT] & (1ULL << cap))) continue;
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
      child_fail(c, STEP_CAPS, errno, cap, "ambient raise");
  }
}

/* a user namespace whose setgroups is "deny" (rootless with the user's own id alone): no list can be set, so none
 * is, as long as nothing beyond the primary group is asked (runc's rule) */
static int setgroups_denied(const struct launch_plan *p) {
  for (size_t i = 0; i < p->ngids; i++) if (p->gids[i] != p->gid) return 0;
  char buf[8] = "";
  int fd = open("/proc/self/setgroups", O_RDONLY | O_CLOEXEC);
  ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
  if (fd >= 0) close(fd);
  return n >= 4 && strncmp(buf, "deny", 4) == 0;
}

static void set_ids(struct child *c) {
  const struct launch_plan *p = c->plan;
  if (syscall(SYS_setgroups, p->ngids, p->gids) < 0 && !(errno == EPERM && setgroups_denied(p)))
    child_fail(c, STEP_SETGROUPS, errno, -1, "additionalGids");
  if (syscall(SYS_setresgid, p->gid, p->gid, p->gid) < 0)
    child_fail(c, STEP_SETGID, errno, -1, "gid");
  if (syscall(SYS_setresuid, p->uid, p->uid, p->uid) < 0)
    child_fail(c, STEP_SETUID, errno, -1, "uid");
}

/* runc >= 1.1.12's check (CVE-2024-21626): whatever cwd names — even
 * /proc/self/fd/N of an fd that should not have been there — the process
 * must not start in a directory the container's root cannot reach. The
 * kernel's getcwd says "(unreachable)/…" for one. */
static void verify_cwd(struct child *c) {
  char buf[4096];
  if (syscall(SYS_getcwd, buf, sizeof buf) < 0) child_fail(c, STEP_CWD, errno, -1, c->plan->cwd ? c->plan->cwd : ".");
  if (buf[0] != '/') {
    char detail[sizeof c->shared_err->detail] = "";
    ss_cat(detail, sizeof detail, c->plan->cwd ? c->plan->cwd : "the inherited working directory");
    ss_cat(detail, sizeof detail, " is outside the container's root");
    child_fail(c, STEP_CWD, EPERM, -1, detail);
  }
}

/* The home directory of uid in a passwd text (name:pw:uid:gid:gecos:home:shell), or NULL. */
static const char *passwd_home(char *text, uid_t uid, size_t *len) {
  for (char *line = text; line && *line; ) {
    char *next = strchr(line, '\n');
    if (next) *next++ = 0;
    char *f[7] = { line };
    int n = 1;
    for (char *q = line; *q && n < 7; q++)
      if (*q == ':') { *q = 0; f[n++] = q + 1; }
    char *end;
    if (n >= 6 && *f[2] && strtoul(f[2], &end, 10) == uid && !*end && *f[5]) {
      *len = strlen(f[5]);
      return f[5];
    }
    line = next;
  }
  return NULL;
}

/* runc's HOME: when the environment has none, the home of the process's uid
 * in the container's /etc/passwd, else "/". Read as the container sees it
 * (we are past pivot_root or setns), bounded and without blocking: the image
 * owns that file, which could be a FIFO or huge. */
static void ensure_home(struct child *c) {
  const struct launch_plan *p = c->plan;
  c->envp = p->envp;
  for (size_t i = 0; i < p->nenvp; i++)
    if (ss_has_prefix(p->envp[i], "HOME=")) return;
  char *env = malloc(4096 + 6);
  char **envp = malloc((p->nenvp + 2) * sizeof *envp);
  if (!env || !envp) child_fail(c, STEP_EXEC, ENOMEM, -1, "HOME");
  strcpy(env, "HOME=/");
  int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  struct stat st;
  if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
    size_t cap = 1 << 20, got = 0;
    char *text = malloc(cap + 1);
    ssize_t n;
    while (text && got < cap && (n = read(fd, text + got, cap - got)) > 0) got += (size_t)n;
    if (text) {
      text[got] = 0;
      size_t len = 0;
      const char *home = passwd_home(text, p->has_user ? (uid_t)p->uid : getuid(), &len);
      if (home && len <= 4096) { memcpy(env + 5, home, len); env[5 + len] = 0; }
      free(text);
    }
  }
  if (fd >= 0) close(fd);
  memcpy(envp, p->envp, p->nenvp * sizeof *envp);
  envp[p->nenvp] = env;
  envp[p->nenvp + 1] = NULL;
  c->envp = envp;
}

/* Every fd from lo up closes on exec (the sync socket stays usable until
 * then). Before any seccomp filter: a profile without close_range (runtime-
 * tools' default has none) made it fail silently, and the sync socket
 * leaked into the container. Without close_range, fd by fd. */
static void cloexec_from(struct child *c, unsigned int lo) {
  if (syscall(SYS_close_range, lo, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;
  struct rlimit rl;
  int top = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536 ? (int)rl.rlim_cur : 65536;
  for (int fd = (int)lo; fd < top; fd++) {
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0 && !(flags & FD_CLOEXEC) && fcntl(fd, F_SETFD, flags | FD_CLOEXEC) < 0)
      child_fail(c, STEP_EXEC, errno, fd, "close-on-exec");
  }
}

void process_finalize(struct child *c) {
  const struct launch_plan *p = c->plan;
  cloexec_from(c, 3 + (unsigned int)p->preserve_fds);
  ensure_home(c); /* first: rlimits or a seccomp profile may forbid the open */
  for (size_t i = 0; i < p->nrlimits; i++) {
    struct rlimit64 rl = { p->rlimits[i].soft, p->rlimits[i].hard };
    if (syscall(SYS_prlimit64, 0, p->rlimits[i].resource, &rl, NULL) < 0)
      child_fail(c, STEP_RLIMIT, errno, (int)i, "setrlimit");
  }
  /* without no_new_privs the filter needs CAP_SYS_ADMIN: install it while we have it */
  if (p->has_seccomp && !p->no_new_privs) install_seccomp(c);

  /* try cwd as root first: a directory only the container user can enter
   * is retried after the user switch */
  int cwd_done = 0;
  if (p->cwd) {
    if (chdir(p->cwd) == 0) cwd_done = 1;
    else if (errno != EACCES && errno != EPERM) child_fail(c, STEP_CWD, errno, -1, p->cwd);
  }
  if (p->has_caps) {
    drop_bounding(c);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail(c, STEP_CAPS, errno, -1, "keepcaps");
  }
  if (p->has_user) set_ids(c);
  if (p->has_caps) {
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0) child_fail(c, STEP_CAPS, errno, -1, "keepcaps");
    apply_caps(c);
  }
  if (p->cwd && !cwd_done && chdir(p->cwd) < 0) child_fail(c, STEP_CWD, errno, -1, p->cwd);
  verify_cwd(c);
  if (p->has_umask) umask((mode_t)p->umask);
  if (p->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    child_fail(c, STEP_NO_NEW_PRIVS, errno, -1, "prctl");
}

static const char *env_path(const struct launch_plan *p) {
  for (size_t i = 0; i < p->nenvp; i++)
    if (ss_has_prefix(p->envp[i], "PATH=")) return p->envp[i] + 5;
  return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

static int has_slash(const char *s) {
  for (; *s; s++) if (*s == '/') return 1;
  return 0;
}

void process_exec(struct child *c) {
  const struct launch_plan *p = c->plan;
  /* fds above stdio + preserved ones are close-on-exec since process_finalize */
  /* a hook's output goes to a file the launcher opened, not to its stdio */
  if (p->has_stdio_fd)
    for (int fd = 0; fd < 3; fd++) dup2(p->stdio_fd, fd);
  /* exec without -i: the launcher's /dev/null, not its terminal */
  if (p->has_stdin_fd) dup2(p->stdin_fd, 0);
  /* ExecSync: stdout and stderr kept apart, each in a file of the launcher */
  if (p->has_stdout_fd) dup2(p->stdout_fd, 1);
  if (p->has_stderr_fd) dup2(p->stderr_fd, 2);
  /* stdio and preserved fds lost close-on-exec in child_reexec already */
  prctl(PR_SET_PDEATHSIG, 0);
  sigset_t none;
  sigemptyset(&none);
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, _NSIG / 8);
  /* with no_new_privs the filter goes last, so it only sees execve */
  if (p->has_seccomp && p->no_new_privs) install_seccomp(c);

  const char *file = p->argv[0];
  if (has_slash(file)) {
    execve(file, p->argv, c->envp ? c->envp : p->envp);
    child_fail(c, STEP_EXEC, errno, -1, file);
  }
  /* PATH search as execvpe does, without its allocation */
  int err = ENOENT;
  const char *dir = env_path(p);
  while (1) {
    char buf[4096] = "";
    size_t n = 0;
    while (dir[n] && dir[n] != ':' && n < sizeof buf - 1) { buf[n] = dir[n]; n++; }
    buf[n] = 0;
    if (n == 0) ss_cat(buf, sizeof buf, ".");
    ss_cat(buf, sizeof buf, "/");
    ss_cat(buf, sizeof buf, file);
    execve(buf, p->argv, c->envp ? c->envp : p->envp);
    if (errno == EACCES) err = EACCES;
    else if (errno != ENOENT && errno != ENOTDIR) { err = errno; break; }
    dir += n;
    if (!*dir) break;
    dir++;
  }
  child_fail(c, STEP_EXEC, err, -1, file);
}
