/* `podrun-monitor reaper OWNER_PID CMD [ARG...]`: runs CMD once the process
 * OWNER_PID has ended, however it ended (SIGKILL included). The library
 * starts one for a process that starts pods it owns; CMD is podrun's
 * `reap-orphans`, which removes the pods whose owner is gone. What
 * testcontainers needs a reaper container (Ryuk) for, without a daemon.
 *
 * The owner's pidfd is opened at once, while the owner is certainly alive
 * (it is waiting for us to be spawned), so a recycled pid can never be
 * mistaken for it. We leave the owner's session and ignore the signals a
 * terminal sends its foreground group: ^C on a test run must still clean. */
#include "owner_reaper.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int owner_reaper_main(const char *owner_text, char **cmd) {
  char *end = NULL;
  long owner = strtol(owner_text, &end, 10);
  if (!*owner_text || *end || owner < 1) { fprintf(stderr, "podrun-monitor: reaper: %s is not a pid\n", owner_text); return 2; }
  int pidfd = (int)syscall(SYS_pidfd_open, (pid_t)owner, 0);
  if (pidfd < 0 && errno != ESRCH) { fprintf(stderr, "podrun-monitor: reaper: pidfd_open %ld: %s\n", owner, strerror(errno)); return 1; }
  setsid(); /* fails harmlessly when spawned detached (already a session leader) */
  signal(SIGINT, SIG_IGN);
  signal(SIGHUP, SIG_IGN);
  signal(SIGQUIT, SIG_IGN);
  while (pidfd >= 0) {
    struct pollfd p = { pidfd, POLLIN, 0 };
    if (poll(&p, 1, -1) > 0) break;
    if (errno != EINTR) { fprintf(stderr, "podrun-monitor: reaper: poll: %s\n", strerror(errno)); return 1; }
  }
  if (pidfd >= 0) close(pidfd);
  signal(SIGINT, SIG_DFL);
  signal(SIGHUP, SIG_DFL);
  signal(SIGQUIT, SIG_DFL);
  execv(cmd[0], cmd);
  fprintf(stderr, "podrun-monitor: reaper: exec %s: %s\n", cmd[0], strerror(errno));
  return 127;
}
