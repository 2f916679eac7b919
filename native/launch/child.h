/* Internals shared by the child-side files. Everything here runs between
 * clone and exec in a copy of a possibly multithreaded process: only raw
 * syscalls and async-signal-safe code, no malloc, no stdio, no locks. */
#ifndef PODRUN_CHILD_H
#define PODRUN_CHILD_H

#include "launch.h"

#include <stdint.h>
#include <sys/types.h>

enum sync_type { MSG_ERROR = 1, MSG_NEED_MAPS = 2, MSG_MAPS_DONE = 3, MSG_PID = 4, MSG_READY = 5, MSG_START = 6, MSG_HOOKS = 7, MSG_HOOKS_DONE = 8 };

struct sync_msg {
  int32_t type;
  int32_t pid;
  struct launch_error err;
};

/* What the launcher hands the child across its re-exec into the sealed
 * helper (see exe_seal.c): a memfd whose first page is this (shared with the
 * launcher, which reads err from it), followed by the encoded plan and the
 * compiled seccomp program. The fds named here are inherited. */
#define HANDOFF_MAX_JOINS 16
#define HANDOFF_DATA_OFFSET 4096
struct handoff {
  struct launch_error err; /* first: launch_result.shared_err points here */
  int32_t sync_fd, console_fd, clone_made_ns, njoins;
  int32_t join_fds[HANDOFF_MAX_JOINS];
  uint64_t plan_len, bpf_len; /* bytes; sock_filter count */
};

struct child {
  const struct launch_plan *plan;
  int sync_fd;
  /* MAP_SHARED page: the error is written here before anything else, so it
   * reaches the parent even when a seccomp profile denies send() */
  struct launch_error *shared_err;
  int root_fd;        /* O_PATH fd of the rootfs, valid until pivot_root */
  int in_new_userns;  /* the child created a user namespace */
  /* joining a user namespace (a user-namespaced pod's): its root may not search the host's directories to the
   * rootfs and the mount sources, so they are taken as host root first (rootfs_take_userns): the rootfs as our cwd
   * (carried into the new mount namespace), each bind source as a detached mount (open_tree) */
  int rootfs_by_cwd;
  int rootfs_tree;    /* the rootfs's own mount in the new namespace (an O_PATH fd), for pivot_root */
  int *trees;         /* per plan mount: its detached source, or -1 */
  char **envp;        /* the process's environment: the plan's, or a copy with HOME added */
};

void sync_send(struct child *c, int type, int pid);
void sync_expect(struct child *c, int type);

/* Report {step, errno, index, detail} to the parent and exit. */
__attribute__((noreturn)) void child_fail(struct child *c, int step, int err, int index, const char *detail);
__attribute__((noreturn)) void child_main(struct child *c, int clone_made_ns);
/* Right after clone, in the copy of the launcher: become non-dumpable and
 * re-execute the sealed helper, which resumes in launch_child_resume(). */
__attribute__((noreturn)) void child_reexec(struct child *c, int helper_fd, int handoff_fd);

/* rootfs.c */
/* without_procfs: leave the plan's procfs mounts to rootfs_mount_procfs(),
 * after pivot_root, in the process that has entered the PID namespace */
void rootfs_setup(struct child *c, int without_procfs);
/* As host root, before joining a user namespace: the rootfs and bind sources by handle (see struct child). */
void rootfs_take_userns(struct child *c);
void rootfs_mount_procfs(struct child *c);
/* whether the procfs mounts may wait until after pivot_root: no hooks need
 * the container's final pid before it, no mount goes below a procfs one, no
 * user namespace (see rootfs.c) */
int rootfs_can_fork_late(const struct child *c);
void rootfs_finish(struct child *c);

/* console.c */
void console_setup(struct child *c);

/* process.c */
void process_finalize(struct child *c);
__attribute__((noreturn)) void process_exec(struct child *c);

/* tiny async-signal-safe string helpers (sigsafe.c) */
size_t ss_len(const char *s);
/* Append src to dst (capacity cap, always NUL-terminated); returns dst. */
char *ss_cat(char *dst, size_t cap, const char *src);
char *ss_cat_int(char *dst, size_t cap, long v);
int ss_eq(const char *a, const char *b);
int ss_has_prefix(const char *s, const char *prefix);
/* "/proc/self/fd/<fd>" into buf */
const char *ss_fd_path(char *buf, size_t cap, int fd);

#endif
