/* podrun launch library: applies a launch plan (built and encoded by the
 * TypeScript oci layer, decoded by plan.c) in a child created with clone3.
 * Shared by the node addon and podrun-monitor. */
#ifndef PODRUN_LAUNCH_H
#define PODRUN_LAUNCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/filter.h>

/* Record tags of the encoded plan. Keep in sync with src/oci/plan-encode.ts. */
enum plan_tag {
  T_NEW_NS = 1,        /* u64 clone flags of namespaces to create */
  T_NS_JOIN = 2,       /* u32 nstype, str path */
  T_UID_MAP = 3,       /* str */
  T_GID_MAP = 4,       /* str */
  T_CGROUP = 5,        /* str absolute cgroup directory */
  T_ROOTFS = 6,        /* str absolute rootfs */
  T_ROOTFS_PROP = 7,   /* u64 propagation flags for "/" */
  T_READONLY_ROOT = 8, /* (flag) */
  T_NO_PIVOT = 9,      /* (flag) */
  T_MOUNT = 10,        /* u64 flags, u64 pflags, u32 kind, str src, str dst, str type, str data (kind 2: the subpath) */
  T_DEVICE = 11,       /* u32 type, u32 major, u32 minor, u32 mode, u32 uid, u32 gid, u32 bind, str path */
  T_SYMLINK = 12,      /* str target, str linkpath */
  T_MASKED = 13,       /* str path */
  T_READONLY = 14,     /* str path */
  T_HOSTNAME = 15,     /* str */
  T_DOMAINNAME = 16,   /* str */
  T_SYSCTL = 17,       /* str /proc/sys path, str value */
  T_RLIMIT = 18,       /* u32 resource, u64 soft, u64 hard */
  T_OOM_SCORE_ADJ = 19,/* i32 */
  T_CAPS = 20,         /* 5 x u64: bounding, effective, permitted, inheritable, ambient */
  T_NO_NEW_PRIVS = 21, /* (flag) */
  T_SECCOMP = 22,      /* u32 default action, u32 filter flags */
  T_SECCOMP_ARCH = 23, /* str libseccomp arch name */
  T_SECCOMP_RULE = 24, /* u32 action, u32 nargs, nargs x (u32 index, u32 op, u64 v, u64 v2), str name */
  T_USER = 25,         /* u32 uid, u32 gid */
  T_GIDS = 26,         /* u32 gid (repeated) */
  T_UMASK = 27,        /* u32 */
  T_CWD = 28,          /* str */
  T_ARG = 29,          /* str (repeated) */
  T_ENV = 30,          /* str (repeated) */
  T_PRESERVE_FDS = 31, /* u32 */
  T_ROOTFS_PARENT = 32,/* str mount point holding the rootfs (made private before pivot) */
  T_WAIT_START = 33,   /* (flag) stop before exec until launch_start() */
  T_CONSOLE = 34,      /* u32 rows, u32 cols, str console socket path */
  T_HOOK_PAUSE = 35,   /* (flag) stop before pivot_root for the create hooks */
  T_DEV_RULE = 36,     /* u32 allow, u32 type (0 all, 1 block, 2 char), i64 major, i64 minor (-1 any), u32 access (1 m, 2 r, 4 w) */
  T_STDOUT_FD = 40,    /* u32 fd of the launcher that becomes the process's stdout (after T_STDIO_FD) */
  T_STDERR_FD = 41,    /* u32 fd of the launcher that becomes the process's stderr (after T_STDIO_FD) */
  T_HOST_MOUNT_NS = 39,/* (flag) no mount namespace of its own: no propagation changes, chroot instead of pivot_root */
  T_IDMAP_EXPECT = 42, /* str uid_map, str gid_map: the joined user namespace's maps, which idmapped binds use */
  T_MOUNT_ATTR = 43,   /* u64 attr_set, u64 attr_clr: recursive mount_setattr(2) attributes (OCI "rro"…) of the T_MOUNT before it */
  T_STDIO_FD = 37,     /* u32 fd of the launcher that becomes the process's stdin, stdout and stderr */
  T_STDIN_FD = 38,     /* u32 fd of the launcher that becomes the process's stdin (after T_STDIO_FD) */
};

/* MOUNT_BIND_BENEATH: a bind of `data` (relative, untrusted: a subPath)
 * resolved beneath `source` (trusted: the volume) — see rootfs.c */
enum mount_kind { MOUNT_FS = 0, MOUNT_BIND = 1, MOUNT_BIND_BENEATH = 2 };

struct pr_mount {
  const char *source, *destination, *type, *data;
  unsigned long flags, pflags;
  uint32_t kind;
  uint32_t idmap; /* idmapped with the joined user namespace (kind's 0x100 in the plan) */
  uint64_t rattr_set, rattr_clr; /* T_MOUNT_ATTR: set on the mount and every mount below it */
};

struct pr_device {
  const char *path;
  uint32_t type, major, minor, mode, uid, gid, bind;
};

struct pr_symlink { const char *target, *linkpath; };
struct pr_ns_join { uint32_t type; const char *path; int fd; };
struct pr_sysctl { const char *path, *value; };
struct pr_rlimit { uint32_t resource; uint64_t soft, hard; };
struct pr_sc_arg { uint32_t index, op; uint64_t value, value2; };
struct pr_dev_rule { uint32_t allow, type, access; int64_t major, minor; };
struct pr_sc_rule {
  const char *name;
  uint32_t action, nargs;
  struct pr_sc_arg *args;
};

struct launch_plan {
  char *buf; /* owned copy of the encoded plan; strings point into it */
  size_t buf_len;
  uint64_t new_ns;
  struct pr_ns_join *joins; size_t njoins;
  const char *uid_map, *gid_map;
  const char *cgroup;
  const char *rootfs, *rootfs_parent;
  unsigned long rootfs_prop;
  int readonly_root, no_pivot;
  struct pr_mount *mounts; size_t nmounts;
  struct pr_device *devices; size_t ndevices;
  struct pr_symlink *symlinks; size_t nsymlinks;
  const char **masked; size_t nmasked;
  const char **readonly; size_t nreadonly;
  const char *hostname, *domainname;
  struct pr_sysctl *sysctls; size_t nsysctls;
  struct pr_rlimit *rlimits; size_t nrlimits;
  int has_oom; int32_t oom_score_adj;
  int has_caps; uint64_t caps[5];
  int no_new_privs;
  int has_seccomp; uint32_t sc_default, sc_flags;
  const char **sc_arches; size_t nsc_arches;
  struct pr_sc_rule *sc_rules; size_t nsc_rules;
  struct sock_fprog bpf; /* compiled in the parent */
  int has_user; uint32_t uid, gid;
  uint32_t *gids; size_t ngids;
  int has_umask; uint32_t umask;
  const char *cwd;
  char **argv; size_t nargv;
  char **envp; size_t nenvp;
  uint32_t preserve_fds;
  int has_stdio_fd; int stdio_fd;
  int has_stdin_fd; int stdin_fd;
  int has_stdout_fd; int stdout_fd;
  int has_stderr_fd; int stderr_fd;
  int wait_start;
  /* process.terminal: a pty whose master goes to this unix socket */
  const char *console_socket;
  uint32_t console_rows, console_cols;
  int console_fd; /* connected by the parent */
  int hook_pause;
  int host_mount_ns; /* the caller's mount namespace: mounts are made there, root entered by chroot */
  const char *idmap_uid_map, *idmap_gid_map; /* T_IDMAP_EXPECT: the joined user namespace's maps (idmapped binds) */
  struct pr_dev_rule *dev_rules; size_t ndev_rules;
};

/* Steps reported on failure; names in launch_step_name(). */
enum launch_step {
  STEP_PLAN = 1, STEP_SECCOMP_COMPILE, STEP_NS_OPEN, STEP_CGROUP_OPEN, STEP_CLONE,
  STEP_SETNS, STEP_UNSHARE, STEP_USERNS_MAP, STEP_SETID_ROOT, STEP_FORK,
  STEP_HOSTNAME, STEP_DOMAINNAME, STEP_OOM_SCORE_ADJ, STEP_ROOT_PROPAGATION,
  STEP_ROOTFS, STEP_MOUNTPOINT, STEP_MOUNT, STEP_DEVICE, STEP_SYMLINK,
  STEP_PIVOT_ROOT, STEP_SYSCTL, STEP_READONLY_PATH, STEP_MASKED_PATH,
  STEP_READONLY_ROOT, STEP_RLIMIT, STEP_SECCOMP, STEP_CAPS, STEP_SETGROUPS,
  STEP_SETGID, STEP_SETUID, STEP_NO_NEW_PRIVS, STEP_CWD, STEP_EXEC, STEP_SYNC, STEP_CONSOLE, STEP_HOOK,
  STEP_DEVICE_CGROUP, STEP_HELPER, STEP_LOOPBACK,
  STEP__COUNT
};

struct launch_error {
  int step;   /* enum launch_step */
  int err;    /* errno */
  int index;  /* index of the offending plan item (mount #, rlimit #...), -1 if none */
  char detail[480];
};

struct launch_result {
  pid_t pid;
  int pidfd;
  /* with wait_start: the sync socket to the child blocked before exec, and
   * the shared error page; -1 / NULL otherwise */
  int sync_fd;
  struct launch_error *shared_err;
};

const char *launch_step_name(int step);

/* Decode an encoded plan (copied). Returns 0, or -1 with err filled. */
int plan_decode(const void *data, size_t len, struct launch_plan *plan, struct launch_error *err);
void plan_free(struct launch_plan *plan);

/* Read and decode the plan file at path (relative to dirfd, or AT_FDCWD);
 * label names it in an error. Returns 0, or -1 with err filled. */
int plan_load(int dirfd, const char *path, const char *label, struct launch_plan *plan, struct launch_error *err);

/* Compile seccomp, open namespace files and cgroup, clone and drive the child
 * until it has exec'd. Returns 0 with res filled, or -1 with err filled; on
 * failure nothing is left running. Call from any thread; the child runs no
 * code that allocates or takes locks. */
/* Called when a hook_pause child stops before pivot_root: run the
 * prestart/createRuntime/createContainer hooks, return 0 to go on or -1 with
 * err set to fail the launch. pid is the container process. */
struct launch_callbacks {
  int (*before_pivot)(void *ctx, pid_t pid, struct launch_error *err);
  void *ctx;
};

int launch(struct launch_plan *plan, const struct launch_callbacks *cb, struct launch_result *res, struct launch_error *err);

/* The podrun-monitor executable that every launch child re-executes (sealed,
 * see exe_seal.c) before it goes near a container. Set once per process,
 * before the first launch; the string must outlive it. */
void launch_set_helper(const char *monitor_path);

/* Bring lo up in the caller's network namespace; -1 with errno. */
int loopback_up(void);

/* The entry of that re-executed child (podrun-monitor __launch-child FD):
 * resumes the launch with what the launcher handed over in FD. */
__attribute__((noreturn)) void launch_child_resume(int handoff_fd);
#define LAUNCH_CHILD_ARG "__launch-child"

/* For a plan with wait_start: let the child exec. Returns 0 once it has
 * exec'd, or -1 with err filled (the child is then dead and reaped). Always
 * releases res->sync_fd and res->shared_err. */
int launch_start(struct launch_result *res, struct launch_error *err);

/* Give up on a created child that was never started: kill, reap, release. */
void launch_abort(struct launch_result *res);

#endif
