/* `podrun-monitor sandbox`: a pod's net/UTS/IPC namespaces, pinned by bind
 * mounts onto files (no pause process): a child unshares them, sets the
 * hostname, brings loopback up and binds its /proc/self/ns/<kind> onto
 * DIR/<kind> in our (the host's) mount namespace, where they outlive it. */
#include "sandbox.h"

#include "launch.h"

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

static int pin(const char *dir, const char *kind) {
  char src[64], dst[4096];
  snprintf(src, sizeof src, "/proc/self/ns/%s", kind);
  snprintf(dst, sizeof dst, "%s/%s", dir, kind);
  int fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0444);
  if (fd < 0) return fail("create", dst);
  close(fd);
  if (mount(src, dst, NULL, MS_BIND, NULL) < 0) return fail("bind", dst);
  return 0;
}

static int in_child(const char *dir, const char *hostname, int flags) {
  if (unshare(flags) < 0) return fail("unshare", NULL);
  if ((flags & CLONE_NEWUTS) && sethostname(hostname, strlen(hostname)) < 0) return fail("sethostname", hostname);
  if ((flags & CLONE_NEWNET) && loopback_up() < 0) return fail("loopback up", NULL);
  if ((flags & CLONE_NEWNET) && pin(dir, "net")) return 1;
  if ((flags & CLONE_NEWUTS) && pin(dir, "uts")) return 1;
  if ((flags & CLONE_NEWIPC) && pin(dir, "ipc")) return 1;
  return 0;
}

int make_sandbox(const char *dir, const char *hostname, int flags) {
  /* a child: unshare changes the caller's namespaces for good */
  pid_t pid = fork();
  if (pid < 0) return fail("fork", NULL);
  if (pid == 0) _exit(in_child(dir, hostname, flags));
  int status;
  while (waitpid(pid, &status, 0) < 0) if (errno != EINTR) return fail("wait", NULL);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}
