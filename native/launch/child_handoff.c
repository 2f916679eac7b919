/* The launch child's hand-over to the sealed helper (see exe_seal.c).
 *
 * child_reexec runs in the copy of the launcher (node or the monitor) right
 * after clone, before it joins anything: only raw syscalls. It makes the
 * process non-dumpable, keeps across execve just the fds the launch needs,
 * and re-executes podrun-monitor from the sealed fd. Everything else the
 * launcher had open (node's and the monitor's fds are close-on-exec) is gone
 * with the old image, and launch_child_resume closes whatever was not: no
 * process a container can see ever holds a host fd it was not meant to
 * have, or a dumpable copy of a host program. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static void keep_across_exec(int fd) {
  if (fd < 0) return;
  int fl = fcntl(fd, F_GETFD);
  if (fl >= 0 && (fl & FD_CLOEXEC)) fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
}

void child_reexec(struct child *c, int helper_fd, int handoff_fd) {
  const struct launch_plan *p = c->plan;
  /* not dumpable: /proc/PID/{exe,fd,root,mem} need CAP_SYS_PTRACE from now
   * until the container's own execve */
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* stdio and preserved fds reach the container even if the launcher (node
   * does this for its stdio) marked them close-on-exec: the flags cleared
   * here hold until the container's own execve */
  for (int fd = 0; fd < 3 + (int)p->preserve_fds; fd++) keep_across_exec(fd);
  keep_across_exec(c->sync_fd);
  keep_across_exec(handoff_fd);
  keep_across_exec(p->console_fd);
  for (size_t i = 0; i < p->njoins; i++) keep_across_exec(p->joins[i].fd);
  if (p->has_stdio_fd) keep_across_exec(p->stdio_fd);
  if (p->has_stdin_fd) keep_across_exec(p->stdin_fd);
  if (p->has_stdout_fd) keep_across_exec(p->stdout_fd);
  if (p->has_stderr_fd) keep_across_exec(p->stderr_fd);
  char num[16] = "";
  ss_cat_int(num, sizeof num, handoff_fd);
  char *argv[] = { "podrun-monitor", LAUNCH_CHILD_ARG, num, NULL };
  char *envp[] = { NULL };
  syscall(SYS_execveat, helper_fd, "", argv, envp, AT_EMPTY_PATH);
  child_fail(c, STEP_HELPER, errno, -1, "execveat");
}

static void sort_ints(int *a, size_t n) {
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && a[j - 1] > a[j]; j--) { int t = a[j]; a[j] = a[j - 1]; a[j - 1] = t; }
}

/* Close every fd from `from` up except those in keep (ascending). */
static void close_all_but(int from, const int *keep, size_t n) {
  unsigned int lo = (unsigned int)from;
  for (size_t i = 0; i < n; i++) {
    if (keep[i] < from || (unsigned int)keep[i] < lo) continue;
    if ((unsigned int)keep[i] > lo) syscall(SYS_close_range, lo, (unsigned int)keep[i] - 1, 0);
    lo = (unsigned int)keep[i] + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

void launch_child_resume(int handoff_fd) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); /* execve made us dumpable again */
  struct stat st;
  void *base = fstat(handoff_fd, &st) < 0 || st.st_size < HANDOFF_DATA_OFFSET ? MAP_FAILED
             : mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, handoff_fd, 0);
  if (base == MAP_FAILED) _exit(127); /* nothing to report through: the launcher sees a crash */
  struct handoff *h = base;
  static struct launch_plan plan;
  struct child c = { .plan = &plan, .sync_fd = h->sync_fd, .shared_err = &h->err, .root_fd = -1, .in_new_userns = 0, .rootfs_by_cwd = 0, .rootfs_tree = -1, .trees = NULL, .envp = NULL };
  struct launch_error err;
  if (h->plan_len > (uint64_t)st.st_size - HANDOFF_DATA_OFFSET ||
      h->bpf_len * sizeof(struct sock_filter) > (uint64_t)st.st_size - HANDOFF_DATA_OFFSET - h->plan_len)
    child_fail(&c, STEP_PLAN, EINVAL, -1, "handoff overruns its memfd");
  if (plan_decode((char *)base + HANDOFF_DATA_OFFSET, h->plan_len, &plan, &err) < 0)
    child_fail(&c, err.step, err.err, err.index, err.detail);
  if ((int32_t)plan.njoins != h->njoins) child_fail(&c, STEP_PLAN, EINVAL, -1, "handoff joins differ from the plan");
  for (size_t i = 0; i < plan.njoins; i++) plan.joins[i].fd = h->join_fds[i];
  plan.console_fd = h->console_fd;
  if (h->bpf_len) {
    plan.bpf.len = (unsigned short)h->bpf_len;
    plan.bpf.filter = (struct sock_filter *)((char *)base + HANDOFF_DATA_OFFSET + h->plan_len);
  }
  int keep[HANDOFF_MAX_JOINS + 6];
  size_t n = 0;
  keep[n++] = h->sync_fd;
  if (h->console_fd >= 0) keep[n++] = h->console_fd;
  for (size_t i = 0; i < plan.njoins; i++) keep[n++] = h->join_fds[i];
  if (plan.has_stdio_fd) keep[n++] = plan.stdio_fd;
  if (plan.has_stdin_fd) keep[n++] = plan.stdin_fd;
  if (plan.has_stdout_fd) keep[n++] = plan.stdout_fd;
  if (plan.has_stderr_fd) keep[n++] = plan.stderr_fd;
  sort_ints(keep, n);
  close_all_but(3 + (int)plan.preserve_fds, keep, n);
  child_main(&c, h->clone_made_ns);
}
