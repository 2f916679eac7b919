/* podrun-monitor: the C front end of the launch library.
 *
 *   podrun-monitor run PLANFILE
 *       launch an encoded plan in the foreground, forward signals, exit with
 *       its status.
 *   podrun-monitor run PLANFILE --terminal CONSOLE_SOCKET [--stdin] [--resize-fd N]
 *       the same for a plan with process.terminal (podrun exec -t): listens
 *       on CONSOLE_SOCKET for the pty master, puts our terminal in raw mode
 *       and connects it (stdin only with --stdin) to the pty. With
 *       --resize-fd, "ROWS COLS" lines on fd N set the pty's size (a CRI
 *       exec's resize stream) instead of our terminal's.
 *   podrun-monitor container DIR REPORT_FD [--keep]
 *       the supervisor behind `podrun oci create`: launches DIR/plan.bin
 *       stopped before exec, reports "ok <pid>" (or the launch error) on
 *       REPORT_FD, then serves DIR/monitor.sock ("start"). Like runc's init
 *       it then leaves, so the container is re-parented to the caller's
 *       subreaper (conmon, containerd-shim) or init, which reaps it and
 *       reads its exit status. With --keep it stays the container's parent
 *       and records DIR/exit when it exits. With --log FILE (implies --keep)
 *       the container's stdout and stderr are pipes to the monitor, which
 *       writes them to FILE in the CRI format, rotated with --log-max-size
 *       BYTES --log-max-files N as kubelet rotates (see cri_log.h). Either way the CLI may exit
 *       at any time, and a killed monitor leaves the container running.
 *       With --restart always|on-failure [--backoff-ms N] (implies --keep) it
 *       launches the plan again when the container exits (on-failure: with a
 *       non-zero status or a signal), after kubelet's back-off: N ms (default
 *       10 s), doubling per restart up to 5 min, reset after 10 min of running.
 *       DIR/pid holds the current "pid starttime", DIR/restarts "count
 *       next_restart_unix_ms log_offset previous_log_offset" (logical
 *       offsets, counted across rotations; next is 0 when
 *       none is pending), DIR/last-exit the previous run's exit. "norestart"
 *       on the socket cancels restarts (podrun stop sends it first).
 *   podrun-monitor pod DIR REPORT_FD [--cgroup CGROUP_DIR]
 *       one supervisor for all of a pod's containers (a child created in
 *       CGROUP_DIR; the process started returns at once): serves DIR/monitor.sock, records "pid starttime" in
 *       DIR/monitor.pid, reports "ok <pid>" on REPORT_FD. Requests:
 *       "create\tCTRDIR\tLOG|-\tnever|always|on-failure\tBACKOFF_MS[\tstdin|
 *       stdin-once]" launches CTRDIR/plan.bin as above with --keep (answering
 *       "ok <pid>"); a plan with process.terminal gets its pty master here
 *       (output logged as stdout). The container then has its own
 *       CTRDIR/monitor.sock ("start", "norestart", "ping", "release" to forget
 *       it, "attach": the connection then carries its output and input to its
 *       stdin); "exit" (or SIGTERM) ends the monitor.
 *   podrun-monitor attach CTRDIR [--stdin] [--raw]
 *       podrun attach: a pod container's live output (and, with --stdin,
 *       our input to its stdin) through its monitor; --raw puts our
 *       terminal in raw mode (containers with a tty).
 *   podrun-monitor sandbox DIR HOSTNAME [--net] [--uts] [--ipc] [--user UIDBASE:GIDBASE:SIZE]
 *       a pod's namespaces pinned on DIR/net, DIR/uts, DIR/ipc; with --user
 *       owned by a user namespace mapping ids 0..SIZE-1 to the bases, pinned
 *       on DIR/user (see sandbox.c).
 *   podrun-monitor probe NETNS|- tcp HOST PORT TIMEOUT_MS
 *   podrun-monitor probe NETNS|- http HOST PORT PATH TIMEOUT_MS [NAME:VALUE...]
 *       a tcpSocket / httpGet probe from inside a network namespace (see
 *       net_probe.c).
 *   podrun-monitor reaper OWNER_PID CMD [ARG...]
 *       runs CMD once process OWNER_PID has ended, however it ended: the
 *       library's clean-up of the pods a process owns (see owner_reaper.c).
 *   podrun-monitor pod-init [CGROUP_DIR [--userns PATH]]
 *       the init of a pod's shared PID namespace (shareProcessNamespace):
 *       clones its pid 1 into a new PID namespace (in CGROUP_DIR when
 *       given), prints that pid and returns. Pid 1 reaps whatever is
 *       re-parented to it and exits on SIGTERM/SIGINT; the namespace lives
 *       as long as it does.
 */
#include "cri_log.h"
#include "owner_reaper.h"
#include "../rootless/entry.h"
#include "../rootless/rootless_ns.h"
#include "exe_seal.h"
#include "launch.h"
#include "supervisor.h"
#include "net_probe.h"
#include "sandbox.h"
#include "tty_proxy.h"

#include <errno.h>
#include <grp.h>
#include <linux/sched.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#define POD_INIT_REAP_ARG "--pod-init-reap"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int run_foreground(const char *plan_path) {
  struct launch_plan plan;
  struct launch_error err;
  if (plan_load(AT_FDCWD, plan_path, plan_path, &plan, &err) < 0) goto fail;
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

/* Pid 1 of a shared PID namespace: every container of the pod sees it, so
 * it must hold nothing of the host (a container granted SYS_PTRACE could
 * otherwise use /proc/1/root, /proc/1/fd or inject code into it): it gets a
 * private mount namespace whose root is an empty read-only tmpfs, no fds, no
 * capabilities (bounding set empty, no_new_privs), and then re-executes the
 * sealed helper (exe_seal.c), so /proc/1/exe cannot be written either. */
static void pod_init_isolate(int sealed) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  setsid();
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
      mount("podrun-pod-init", "/proc", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=0555") < 0 ||
      chdir("/proc") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
    perror("podrun-monitor pod-init: empty root");
    _exit(1);
  }
  if (sealed != 3 && dup3(sealed, 3, O_CLOEXEC) < 0) _exit(1);
  syscall(SYS_close_range, 0, 2, 0);
  syscall(SYS_close_range, 4, ~0U, 0);
  for (int cap = 0; cap < 64; cap++)
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL) break;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) _exit(1);
  char *argv[] = { "podrun-pod-init", POD_INIT_REAP_ARG, NULL };
  char *envp[] = { NULL };
  syscall(SYS_execveat, 3, "", argv, envp, AT_EMPTY_PATH);
  _exit(1);
}

/* what pid 1 runs once isolated: reap whatever is re-parented to it, leave on SIGTERM/SIGINT */
/* pid 1 drops unhandled signals unless they are blocked and waited for */
static void block_init_signals(sigset_t *set) {
  sigemptyset(set);
  sigaddset(set, SIGCHLD);
  sigaddset(set, SIGTERM);
  sigaddset(set, SIGINT);
  sigprocmask(SIG_BLOCK, set, NULL);
}

static int pod_init_reap(void) {
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  prctl(PR_SET_NAME, "podrun-pod-init");
  sigset_t set;
  block_init_signals(&set); /* blocked already (the mask survives execve); this gives the set to wait on */
  for (;;) {
    int sig = sigwaitinfo(&set, NULL);
    if (sig == SIGCHLD) { while (waitpid(-1, NULL, WNOHANG) > 0) {} }
    else if (sig == SIGTERM || sig == SIGINT) return 0;
  }
}

/* every launch child re-executes this binary, sealed (exe_seal.c) */
static const char *use_self_as_helper(void) {
  static char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return "/proc/self/exe"; /* launch() then fails, saying so */
  self[n] = 0;
  launch_set_helper(self);
  return self;
}

static int pod_init(const char *self, const char *cgroup, const char *userns) {
  /* pid 1 of a new PID namespace, created right in the cgroup (no cgroup.procs migration) */
  int cgfd = -1;
  if (cgroup && (cgfd = open(cgroup, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0) { perror("podrun-monitor: the pod's cgroup"); return 1; }
  int sealed = exe_seal_open(self);
  if (sealed < 0) { perror("podrun-monitor: sealed view of itself"); return 1; }
  if (userns) {
    /* made from inside the pod's user namespace, the PID namespace is its: the pod's containers can mount its /proc.
     * Our ids stay the host's until the clone (the cgroup is written as root); pid 1 then becomes the pod's root */
    int ufd = open(userns, O_RDONLY | O_CLOEXEC);
    if (ufd < 0 || setns(ufd, CLONE_NEWUSER) < 0) { perror("podrun-monitor: the pod's user namespace"); return 1; }
    close(ufd);
  }
  sigset_t set;
  block_init_signals(&set); /* before the clone: no signal may be lost before pid 1 waits for it */
  struct clone_args args;
  memset(&args, 0, sizeof args);
  args.flags = CLONE_NEWPID | (cgfd >= 0 ? CLONE_INTO_CGROUP : 0);
  args.exit_signal = SIGCHLD;
  args.cgroup = cgfd >= 0 ? (uint64_t)cgfd : 0;
  long pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) { perror("podrun-monitor: clone3(CLONE_NEWPID)"); return 1; }
  if (pid == 0) {
    if (userns && (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)) { perror("podrun-monitor pod-init: the pod's root"); _exit(1); }
    pod_init_isolate(sealed);
  }
  printf("%ld\n", pid);
  return 0;
}

int main(int argc, char **argv) {
  /* first: a launch child resuming in the sealed helper runs nothing else */
  if (argc == 3 && strcmp(argv[1], LAUNCH_CHILD_ARG) == 0) launch_child_resume(atoi(argv[2]));
  if (argc == 2 && strcmp(argv[1], POD_INIT_REAP_ARG) == 0) return pod_init_reap();
  if (argc >= 3 && strcmp(argv[1], "entry") == 0) return podrun_entry(argv + 2);
  if (argc >= 5 && strcmp(argv[1], "rootless") == 0) {
    struct rootless_map map;
    int i = 3, with_map = 0;
    char extra;
    if (strcmp(argv[i], "--map") == 0 && i + 1 < argc) {
      if (sscanf(argv[i + 1], "%lu:%lu:%lu%c", &map.uid_start, &map.gid_start, &map.count, &extra) != 3 || map.count == 0) goto usage;
      with_map = 1;
      i += 2;
    }
    if (i + 1 >= argc || strcmp(argv[i], "--") != 0) goto usage;
    return rootless_main(argv[2], with_map ? &map : NULL, argv + i + 1);
  }
  const char *self = use_self_as_helper();
  if ((argc == 2 || argc == 3) && strcmp(argv[1], "pod-init") == 0) return pod_init(self, argc == 3 ? argv[2] : NULL, NULL);
  if (argc == 5 && strcmp(argv[1], "pod-init") == 0 && strcmp(argv[3], "--userns") == 0) return pod_init(self, argv[2], argv[4]);
  if (argc == 3 && strcmp(argv[1], "run") == 0) return run_foreground(argv[2]);
  if (argc >= 5 && strcmp(argv[1], "run") == 0 && strcmp(argv[3], "--terminal") == 0) {
    int with_stdin = 0, resize_fd = -1;
    for (int i = 5; i < argc; i++) {
      if (strcmp(argv[i], "--stdin") == 0) with_stdin = 1;
      else if (strcmp(argv[i], "--resize-fd") == 0 && i + 1 < argc) resize_fd = atoi(argv[++i]);
      else goto usage;
    }
    return run_with_terminal(argv[2], argv[4], with_stdin, resize_fd);
  }
  if (argc >= 4 && strcmp(argv[1], "reaper") == 0) return owner_reaper_main(argv[2], argv + 3);
  if (strcmp(argc > 1 ? argv[1] : "", "probe") == 0) {
    int rc = net_probe_main(argc - 2, argv + 2);
    if (rc == 2) goto usage;
    return rc;
  }
  if (argc >= 5 && strcmp(argv[1], "sandbox") == 0) {
    int flags = 0;
    struct id_range range;
    const struct id_range *userns = NULL;
    for (int i = 4; i < argc; i++) {
      if (strcmp(argv[i], "--net") == 0) flags |= CLONE_NEWNET;
      else if (strcmp(argv[i], "--uts") == 0) flags |= CLONE_NEWUTS;
      else if (strcmp(argv[i], "--ipc") == 0) flags |= CLONE_NEWIPC;
      else if (strcmp(argv[i], "--user") == 0 && i + 1 < argc) {
        char extra;
        if (sscanf(argv[++i], "%lu:%lu:%lu%c", &range.uid_base, &range.gid_base, &range.size, &extra) != 3 || range.size == 0) goto usage;
        userns = &range;
      } else goto usage;
    }
    return make_sandbox(argv[2], argv[3], flags, userns);
  }
  if (argc >= 3 && strcmp(argv[1], "attach") == 0) {
    int with_stdin = 0, raw = 0;
    for (int i = 3; i < argc; i++) {
      if (strcmp(argv[i], "--stdin") == 0) with_stdin = 1;
      else if (strcmp(argv[i], "--raw") == 0) raw = 1;
      else goto usage;
    }
    return attach_container(argv[2], with_stdin, raw);
  }
  if ((argc == 4 || argc == 6) && strcmp(argv[1], "pod") == 0) {
    if (argc == 6 && strcmp(argv[4], "--cgroup") != 0) goto usage;
    return supervise_pod(argv[2], atoi(argv[3]), argc == 6 ? argv[5] : NULL);
  }
  if (argc >= 4 && strcmp(argv[1], "container") == 0) {
    struct ctr_options o = { .keep = 0, .log_path = NULL, .restart = RESTART_NEVER, .backoff_ms = 10000 };
    for (int i = 4; i < argc; i++) {
      if (strcmp(argv[i], "--keep") == 0) o.keep = 1;
      else if (strcmp(argv[i], "--log") == 0 && i + 1 < argc) o.log_path = argv[++i];
      else if (strcmp(argv[i], "--log-max-size") == 0 && i + 1 < argc) o.log_max_size = atoll(argv[++i]);
      else if (strcmp(argv[i], "--log-max-files") == 0 && i + 1 < argc) o.log_max_files = atoi(argv[++i]);
      else if (strcmp(argv[i], "--restart") == 0 && i + 1 < argc) {
        if (parse_restart_policy(argv[++i], &o.restart) < 0) goto usage;
      } else if (strcmp(argv[i], "--backoff-ms") == 0 && i + 1 < argc) o.backoff_ms = atoll(argv[++i]);
      else goto usage;
    }
    if (o.backoff_ms < 1 || !cri_log_rotation_valid(o.log_max_size, o.log_max_files)) goto usage;
    return supervise_container(argv[2], atoi(argv[3]), &o);
  }
usage:
  fprintf(stderr, "usage: podrun-monitor entry SCRIPT [ARG...] | pod-init [CGROUP_DIR [--userns PATH]] | run PLANFILE [--terminal CONSOLE_SOCKET [--stdin] [--resize-fd N]] | reaper OWNER_PID CMD [ARG...] | rootless DIR [--map UIDSTART:GIDSTART:COUNT] -- CMD [ARG...] | container DIR REPORT_FD [--keep] [--log FILE [--log-max-size BYTES --log-max-files N]] [--restart always|on-failure|never] [--backoff-ms N] | pod DIR REPORT_FD [--cgroup DIR] | attach CTRDIR [--stdin] [--raw] | sandbox DIR HOSTNAME --net|--uts|--ipc... [--user UIDBASE:GIDBASE:SIZE] | probe NETNS|- tcp HOST PORT TIMEOUT_MS | probe NETNS|- http HOST PORT PATH TIMEOUT_MS [NAME:VALUE...]\n");
  return 2;
}
