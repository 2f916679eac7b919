/* podrun-monitor: the C front end of the launch library.
 *
 *   podrun-monitor run PLANFILE   launch an encoded plan in the foreground,
 *                                 forward signals, exit with its status
 *
 * It will grow into the per-pod supervisor (socket, logs, restarts); the
 * launch path is the same one the addon uses. */
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int read_file(const char *path, char **out, size_t *len) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) < 0) { close(fd); return -1; }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) { close(fd); errno = ENOMEM; return -1; }
  size_t got = 0;
  while (got < (size_t)st.st_size) {
    ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
    if (n <= 0) { int e = n < 0 ? errno : EIO; free(buf); close(fd); errno = e; return -1; }
    got += (size_t)n;
  }
  close(fd);
  *out = buf;
  *len = got;
  return 0;
}

static int run(const char *plan_path) {
  char *data;
  size_t len;
  if (read_file(plan_path, &data, &len) < 0) {
    fprintf(stderr, "podrun-monitor: %s: %s\n", plan_path, strerror(errno));
    return 125;
  }
  struct launch_plan plan;
  struct launch_error err;
  int rc = plan_decode(data, len, &plan, &err);
  free(data);
  if (rc == 0) {
    /* forwarded signals are read from a signalfd, so block them first */
    sigset_t fwd;
    sigemptyset(&fwd);
    int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) sigaddset(&fwd, sigs[i]);
    sigprocmask(SIG_BLOCK, &fwd, NULL);
    struct launch_result res;
    rc = launch(&plan, &res, &err);
    plan_free(&plan);
    if (rc == 0) {
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
      if (si.si_code == CLD_EXITED) return si.si_status;
      return 128 + si.si_status;
    }
  }
  fprintf(stderr, "podrun-monitor: %s %s: %s\n", launch_step_name(err.step), err.detail, strerror(err.err));
  return 125;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "run") == 0) return run(argv[2]);
  fprintf(stderr, "usage: podrun-monitor run PLANFILE\n");
  return 2;
}
