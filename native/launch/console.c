/* process.terminal: make a pty in the container, send its master to the
 * console socket (SCM_RIGHTS, as runc does), and make the slave the
 * process's controlling terminal and stdio. Runs in the child after
 * pivot_root, so /dev/ptmx is the container's devpts instance. */
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

static void send_master(struct child *c, int master) {
  const char name[] = "/dev/ptmx";
  char control[CMSG_SPACE(sizeof(int))];
  for (size_t i = 0; i < sizeof control; i++) control[i] = 0;
  struct iovec iov = { (void *)name, sizeof name - 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  char *dst = (char *)CMSG_DATA(cm);
  const char *src = (const char *)&master;
  for (size_t i = 0; i < sizeof master; i++) dst[i] = src[i];
  if (sendmsg(c->plan->console_fd, &msg, MSG_NOSIGNAL) < 0)
    child_fail(c, STEP_CONSOLE, errno, -1, c->plan->console_socket);
}

void console_setup(struct child *c) {
  const struct launch_plan *p = c->plan;
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) child_fail(c, STEP_CONSOLE, errno, -1, "/dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) child_fail(c, STEP_CONSOLE, errno, -1, "unlock pty");
  int slave = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY);
  if (slave < 0) child_fail(c, STEP_CONSOLE, errno, -1, "open pty peer");
  if (p->console_rows || p->console_cols) {
    struct winsize ws = { (unsigned short)p->console_rows, (unsigned short)p->console_cols, 0, 0 };
    ioctl(slave, TIOCSWINSZ, &ws);
  }
  if (p->has_user) (void)!fchown(slave, p->uid, (gid_t)-1);
  if (p->rootfs) {
    /* the spec's /dev/console is the pty */
    char src[64];
    int fd = open("/dev/console", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
    if (fd < 0 || mount(ss_fd_path(src, sizeof src, slave), "/dev/console", NULL, MS_BIND, NULL) < 0)
      child_fail(c, STEP_CONSOLE, errno, -1, "/dev/console");
  }
  send_master(c, master);
  close(master);
  close(p->console_fd);
  if (setsid() < 0) child_fail(c, STEP_CONSOLE, errno, -1, "setsid");
  if (ioctl(slave, TIOCSCTTY, 0) < 0) child_fail(c, STEP_CONSOLE, errno, -1, "TIOCSCTTY");
  for (int fd = 0; fd < 3; fd++)
    if (dup2(slave, fd) < 0) child_fail(c, STEP_CONSOLE, errno, -1, "dup2");
  if (slave > 2) close(slave);
}
