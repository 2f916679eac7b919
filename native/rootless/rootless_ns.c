/* Rootless podrun: one user namespace (and a mount namespace it owns) per user, kept by a tiny
 * pause process, which every podrun command joins before it runs. In there the user is root: the
 * mounts, namespaces and owners podrun makes are real, confined to the ids the user was given.
 * As podman does: the pause process is what keeps the overlay and tmpfs mounts of running pods
 * alive between commands, so it stays until killed.
 *
 *   podrun-monitor rootless DIR [--map UIDSTART:GIDSTART:COUNT] -- CMD [ARG...]
 *
 * DIR (the user's, mode 0700) holds pause.pid ("PID STARTTIME") and a lock. Without --map the
 * namespace maps the user's own uid and gid to 0 and nothing else (what an unprivileged process may
 * write itself); with it, newuidmap/newgidmap (setuid, Debian's uidmap) add COUNT ids from the
 * user's /etc/subuid and /etc/subgid ranges as 1..COUNT. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "rootless_ns.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/handshake.h"
#include "../common/proc_stat.h"
#include "../common/write_full.h"

static int fail(const char *what, const char *detail) {
  fprintf(stderr, "podrun: rootless: %s%s%s: %s\n", what, detail ? " " : "", detail ? detail : "", strerror(errno));
  return -1;
}

/* DIR must be ours and no one else's to write: a pause.pid planted by another user would have us
 * join their namespace */
static int own_dir(const char *dir) {
  if (mkdir(dir, 0700) < 0 && errno != EEXIST) return fail("mkdir", dir);
  struct stat st;
  if (lstat(dir, &st) < 0) return fail("stat", dir);
  if (!S_ISDIR(st.st_mode) || st.st_uid != getuid() || (st.st_mode & 022)) {
    errno = EPERM;
    return fail("not a directory of yours that only you can write:", dir);
  }
  return 0;
}

/* the pause process named in DIR/pause.pid if it is still that process, else 0 */
static pid_t live_pause(const char *dir) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/pause.pid", dir);
  FILE *f = fopen(path, "re");
  if (!f) return 0;
  long pid = 0, start = -1;
  int n = fscanf(f, "%ld %ld", &pid, &start);
  fclose(f);
  if (n != 2 || pid <= 0 || start < 0) return 0;
  return proc_start_time(pid) == start ? (pid_t)pid : 0;
}

static int write_pause_pid(const char *dir, pid_t pid) {
  char path[PATH_MAX], tmp[PATH_MAX], line[64];
  snprintf(path, sizeof path, "%s/pause.pid", dir);
  snprintf(tmp, sizeof tmp, "%s/.pause.pid.%d", dir, (int)getpid());
  int n = snprintf(line, sizeof line, "%d %ld\n", (int)pid, proc_start_time(pid));
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail("create", tmp);
  int rc = write_full(fd, line, (size_t)n);
  if (close(fd) < 0) rc = -1;
  if (rc < 0 || rename(tmp, path) < 0) {
    unlink(tmp);
    return fail("write", path);
  }
  return 0;
}

/* the single-id map an unprivileged process may write for its child itself */
static int write_own_map(pid_t pid) {
  char uid[32], gid[32];
  snprintf(uid, sizeof uid, "0 %lu 1\n", (unsigned long)getuid());
  snprintf(gid, sizeof gid, "0 %lu 1\n", (unsigned long)getgid());
  if (proc_pid_write(pid, "setgroups", "deny") < 0) return fail("write", "setgroups");
  if (proc_pid_write(pid, "uid_map", uid) < 0) return fail("write", "uid_map");
  if (proc_pid_write(pid, "gid_map", gid) < 0) return fail("write", "gid_map");
  return 0;
}

/* newuidmap PID 0 UID 1 1 START COUNT (and newgidmap): the setuid helpers check /etc/subuid */
static int run_idmap_helper(const char *helper, pid_t pid, unsigned long own, unsigned long start, unsigned long count) {
  char a[5][24];
  snprintf(a[0], sizeof a[0], "%d", (int)pid);
  snprintf(a[1], sizeof a[1], "%lu", own);
  snprintf(a[2], sizeof a[2], "%lu", start);
  snprintf(a[3], sizeof a[3], "%lu", count);
  char *argv[] = { (char *)helper, a[0], "0", a[1], "1", "1", a[2], a[3], NULL };
  pid_t h = fork();
  if (h < 0) return fail("fork", helper);
  if (h == 0) {
    execvp(helper, argv);
    fprintf(stderr, "podrun: rootless: %s: %s (Debian: apt install uidmap)\n", helper, strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(h, &status, 0) < 0) if (errno != EINTR) return fail("wait", helper);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  fprintf(stderr, "podrun: rootless: %s %s 0 %s 1 1 %s %s failed (is the range in /etc/sub%cid yours?)\n", helper, a[0], a[1], a[2], a[3],
          helper[3] == 'u' ? 'u' : 'g');
  return -1;
}

/* the pause process: the namespaces' keeper, nothing else */
static void pause_forever(void) {
  prctl(PR_SET_NAME, "podrun-pause", 0, 0, 0);
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null >= 0) {
    dup2(null, 0); dup2(null, 1); dup2(null, 2);
  }
  /* nothing else of the first command's: its lock above all (flock stays with every copy of the fd) */
  syscall(SYS_close_range, 3U, ~0U, 0U);
  sigset_t all;
  sigfillset(&all);
  sigdelset(&all, SIGTERM);
  sigdelset(&all, SIGKILL);
  sigprocmask(SIG_SETMASK, &all, NULL);  /* ^C on the terminal that first ran podrun does not end it */
  for (;;) pause();
}

static int pause_child(int sync, void *unused) {
  (void)unused;
  if (unshare(CLONE_NEWUSER) < 0) {
    fail("unshare(CLONE_NEWUSER)", "(are unprivileged user namespaces disabled? sysctl user.max_user_namespaces, kernel.unprivileged_userns_clone)");
    return 1;
  }
  if (handshake_say(sync, 'u') < 0 || handshake_hear(sync, 'm') < 0) return 1;
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) return fail("setresuid", "0"), 1;
  if (unshare(CLONE_NEWNS) < 0) return fail("unshare(CLONE_NEWNS)", NULL), 1;
  /* the host's later mounts still arrive; ours never leave (nor could they: the host's are locked) */
  if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) return fail("mount --make-rslave", "/"), 1;
  setsid();
  if (chdir("/") < 0) return fail("chdir", "/"), 1;
  if (handshake_say(sync, 'r') < 0) return 1;
  close(sync);
  pause_forever();
  return 0;
}

static pid_t make_pause(const char *dir, const struct rootless_map *map) {
  int sync;
  pid_t pid = handshake_fork(pause_child, NULL, &sync);
  if (pid < 0) return fail("fork", NULL);
  int rc = handshake_hear(sync, 'u');
  if (rc == 0) {
    rc = map ? (run_idmap_helper("newuidmap", pid, getuid(), map->uid_start, map->count) < 0 ||
                run_idmap_helper("newgidmap", pid, getgid(), map->gid_start, map->count) < 0 ? -1 : 0)
             : write_own_map(pid);
  }
  if (rc == 0 && (handshake_say(sync, 'm') < 0 || handshake_hear(sync, 'r') < 0)) rc = -1;
  close(sync);
  if (rc == 0) rc = write_pause_pid(dir, pid);
  if (rc < 0) {
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
  }
  /* it lives on below init: nothing of ours waits for it */
  return pid;
}

static int join(pid_t pause) {
  char path[64];
  int fds[2];
  const char *names[2] = { "user", "mnt" };
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/%d/ns/%s", (int)pause, names[i]);
    fds[i] = open(path, O_RDONLY | O_CLOEXEC);
    if (fds[i] < 0) return fail("open", path);
  }
  char cwd[PATH_MAX];
  int have_cwd = getcwd(cwd, sizeof cwd) != NULL;
  if (setns(fds[0], CLONE_NEWUSER) < 0) return fail("setns", "user namespace");
  if (setns(fds[1], CLONE_NEWNS) < 0) return fail("setns", "mount namespace");
  close(fds[0]);
  close(fds[1]);
  if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0) return fail("setresuid", "0");
  /* setns(CLONE_NEWNS) moved us to that namespace's root: back to where the user was (the same host path) */
  if (have_cwd && chdir(cwd) < 0 && chdir("/") < 0) return fail("chdir", cwd);
  return 0;
}

int rootless_main(const char *dir, const struct rootless_map *map, char **cmd) {
  if (own_dir(dir) < 0) return 125;
  char lockpath[PATH_MAX];
  snprintf(lockpath, sizeof lockpath, "%s/pause.lock", dir);
  int lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock < 0 || flock(lock, LOCK_EX) < 0) return fail("lock", lockpath), 125;
  pid_t pause = live_pause(dir);
  if (!pause) pause = make_pause(dir, map);
  if (pause <= 0 || join(pause) < 0) return 125;
  close(lock);
  setenv("PODRUN_ROOTLESS", "1", 1);
  execvp(cmd[0], cmd);
  fail("exec", cmd[0]);
  return 127;
}
