/* `podrun-monitor sandbox`: a pod's net/UTS/IPC namespaces — and, for a pod
 * with its own user namespace (hostUsers: false), that user namespace, owning
 * the others — pinned by bind mounts onto files (no pause process). A child
 * unshares them, sets the hostname and brings loopback up; we, still in the
 * host's namespaces with every capability there, write its id maps and bind
 * its /proc/<pid>/ns/<kind> onto DIR/<kind>, where they outlive it. (The
 * child could not pin them itself once in a user namespace of its own: it has
 * no capability left in the host's mount namespace.) */
#include "sandbox.h"

#include "launch.h"
#include "handshake.h"
#include "write_full.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int fail(const char *step, const char *what) {
  fprintf(stderr, "podrun-monitor: sandbox: %s%s%s: %s\n", step, what ? " " : "", what ? what : "", strerror(errno));
  return 1;
}

static int pin(const char *dir, pid_t pid, const char *kind) {
  char src[64], dst[4096];
  snprintf(src, sizeof src, "/proc/%d/ns/%s", (int)pid, kind);
  snprintf(dst, sizeof dst, "%s/%s", dir, kind);
  int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return fail("create", dst);
  close(fd);
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0) return fail("bind", dst);
  return 0;
}

/* one byte each way: the child says what it did, we say we are done with it */
struct sandbox_args {
  const char *hostname;
  int flags;
  const struct id_range *userns;
};

static int in_child(int sync, void *arg) {
  const struct sandbox_args *a = arg;
  const char *hostname = a->hostname;
  int flags = a->flags;
  const struct id_range *userns = a->userns;
  if (userns) {
    if (unshare(CLONE_NEWUSER) < 0) return fail("unshare", "user namespace");
    if (handshake_say(sync, 'u') < 0 || handshake_hear(sync, 'm') < 0) return 1; /* the parent said why */
  }
  if (unshare(flags) < 0) return fail("unshare", NULL);
  if ((flags & CLONE_NEWUTS) && sethostname(hostname, strlen(hostname)) < 0) return fail("sethostname", hostname);
  if ((flags & CLONE_NEWNET) && loopback_up() < 0) return fail("loopback up", NULL);
  if (handshake_say(sync, 'p') < 0 || handshake_hear(sync, 'd') < 0) return 1;
  return 0;
}

static int write_map(pid_t pid, const char *file, unsigned long base, unsigned long size) {
  char line[64];
  snprintf(line, sizeof line, "0 %lu %lu\n", base, size);
  return proc_pid_write(pid, file, line) < 0 ? fail("write", file) : 0;
}

int make_sandbox(const char *dir, const char *hostname, int flags, const struct id_range *userns) {
  /* a child: unshare changes the caller's namespaces for good */
  struct sandbox_args args = { hostname, flags, userns };
  int sync;
  pid_t pid = handshake_fork(in_child, &args, &sync);
  if (pid < 0) return fail("fork", NULL);
  int rc = 0;
  if (userns) {
    if (handshake_hear(sync, 'u') < 0) rc = 1; /* it failed, and said why */
    else if (write_map(pid, "uid_map", userns->uid_base, userns->size) || write_map(pid, "gid_map", userns->gid_base, userns->size)) rc = 1;
    else if (handshake_say(sync, 'm') < 0) rc = fail("sync", NULL);
  }
  if (rc == 0 && handshake_hear(sync, 'p') < 0) rc = 1;
  /* what is pinned before a failure stays: the caller unpins DIR */
  if (rc == 0 && userns && pin(dir, pid, "user")) rc = 1;
  if (rc == 0 && (flags & CLONE_NEWNET) && pin(dir, pid, "net")) rc = 1;
  if (rc == 0 && (flags & CLONE_NEWUTS) && pin(dir, pid, "uts")) rc = 1;
  if (rc == 0 && (flags & CLONE_NEWIPC) && pin(dir, pid, "ipc")) rc = 1;
  if (rc == 0 && handshake_say(sync, 'd') < 0) rc = fail("sync", NULL);
  close(sync);
  int status;
  while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) return fail("wait", NULL);
  if (rc) return rc;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
