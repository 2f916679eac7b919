/* `podrun exec -t`: launch an exec plan whose process gets a pty, receive
 * the pty's master on our console socket, and connect it to our terminal:
 * raw mode, the window size (and SIGWINCH), stdin when asked, output to
 * stdout; signals sent to us go to the process. Exits with its status. */
#include "tty_proxy.h"

#include "launch.h"
#include "write_full.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static int listen_path(const char *path) {
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen(path) >= sizeof addr.sun_path) { errno = ENAMETOOLONG; return -1; }
  strcpy(addr.sun_path, path);
  unlink(path);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1) < 0) { int e = errno; close(fd); errno = e; return -1; }
  chmod(path, 0600);
  return fd;
}

int receive_pty_master(int listen_fd) {
  struct pollfd p = { listen_fd, POLLIN, 0 };
  if (poll(&p, 1, 10000) <= 0) { errno = ETIMEDOUT; return -1; }
  int conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
  if (conn < 0) return -1;
  char name[64];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = { name, sizeof name };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control };
  ssize_t n = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
  close(conn);
  struct cmsghdr *cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!cm || cm->cmsg_type != SCM_RIGHTS) { errno = EPROTO; return -1; }
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

/* our terminal's size (stdin's, else stdout's) */
static int our_window_size(struct winsize *ws) {
  return ioctl(STDIN_FILENO, TIOCGWINSZ, ws) == 0 || ioctl(STDOUT_FILENO, TIOCGWINSZ, ws) == 0 ? 0 : -1;
}

static void copy_window_size(int master) {
  struct winsize ws;
  if (our_window_size(&ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
}

/* Master output to stdout; 0 at EOF/EIO (every slave closed). */
static int pump_master(int master) {
  char buf[16384];
  ssize_t n = read(master, buf, sizeof buf);
  if (n > 0) { write_full(STDOUT_FILENO, buf, (size_t)n); return 1; }
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 1;
  return 0;
}

/* "ROWS COLS" lines from a resize fd (a CRI exec's resize stream) onto the pty; buffered across reads.
 * 0 at its end. */
static int pump_resize(int fd, int master, char *line, size_t *len, size_t cap) {
  ssize_t n = read(fd, line + *len, cap - 1 - *len);
  if (n < 0) return errno == EINTR || errno == EAGAIN;
  if (n == 0) return 0;
  *len += (size_t)n;
  line[*len] = 0;
  char *nl;
  while ((nl = strchr(line, '\n')) != NULL) {
    *nl = 0;
    unsigned rows = 0, cols = 0;
    if (sscanf(line, "%u %u", &rows, &cols) == 2 && master >= 0 && rows < 65536 && cols < 65536) {
      struct winsize ws = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
      ioctl(master, TIOCSWINSZ, &ws);
    }
    *len -= (size_t)(nl + 1 - line);
    memmove(line, nl + 1, *len + 1);
  }
  if (*len == cap - 1) *len = 0; /* a line that long is no size */
  return 1;
}

int run_with_terminal(const char *plan_path, const char *console_socket, int with_stdin, int resize_fd) {
  struct launch_plan plan;
  struct launch_error err;
  memset(&err, 0, sizeof err);
  int listen_fd = listen_path(console_socket);
  if (listen_fd < 0) { fprintf(stderr, "podrun-monitor: %s: %s\n", console_socket, strerror(errno)); return 125; }

  /* read from a signalfd: forwarded signals, and SIGWINCH for the size */
  sigset_t sigs;
  sigemptyset(&sigs);
  int fwd[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
  for (size_t i = 0; i < sizeof fwd / sizeof *fwd; i++) sigaddset(&sigs, fwd[i]);
  sigprocmask(SIG_BLOCK, &sigs, NULL);

  int rc = plan_load(AT_FDCWD, plan_path, plan_path, &plan, &err);
  struct winsize ws;
  if (rc == 0 && !plan.console_rows && !plan.console_cols && our_window_size(&ws) == 0) {
    /* the pty gets our size before the process runs: set only once we hold the master, a quick
     * `stty size` could read 0x0 */
    plan.console_rows = ws.ws_row;
    plan.console_cols = ws.ws_col;
  }
  struct launch_result res;
  if (rc == 0) { rc = launch(&plan, NULL, &res, &err); plan_free(&plan); }
  if (rc < 0) {
    unlink(console_socket);
    /* the same shape as the monitor's reports, for the caller to translate */
    fprintf(stderr, "err\t%s\t%d\t%d\t%s\n", launch_step_name(err.step), err.err, err.index, err.detail);
    return 125;
  }
  int master = receive_pty_master(listen_fd);
  close(listen_fd);
  unlink(console_socket);
  if (master < 0) {
    fprintf(stderr, "podrun-monitor: no terminal from the process: %s\n", strerror(errno));
    syscall(SYS_pidfd_send_signal, res.pidfd, SIGKILL, NULL, 0);
  }

  struct termios saved;
  int raw = with_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  if (master >= 0) {
    copy_window_size(master);
    fcntl(master, F_SETFL, O_NONBLOCK);
  }
  int sfd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK);
  int in = with_stdin ? STDIN_FILENO : -1;
  int exited = 0;
  char resize_line[64];
  size_t resize_len = 0;
  while (!exited) {
    struct pollfd p[5] = { { res.pidfd, POLLIN, 0 }, { sfd, POLLIN, 0 }, { master, POLLIN, 0 }, { in, POLLIN, 0 }, { resize_fd, POLLIN, 0 } };
    if (poll(p, 5, -1) < 0 && errno != EINTR) break;
    if (p[4].revents && !pump_resize(resize_fd, master, resize_line, &resize_len, sizeof resize_line)) resize_fd = -1;
    if (p[2].revents && !pump_master(master)) { close(master); master = -1; }
    if (p[3].revents) {
      char buf[4096];
      ssize_t n = read(in, buf, sizeof buf);
      if (n > 0 && master >= 0) write_full(master, buf, (size_t)n);
      else if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
        /* end of our input: the terminal's end-of-file character, as a user's ^D */
        if (master >= 0) write_full(master, "\x04", 1);
        in = -1;
      }
    }
    if (p[1].revents) {
      struct signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGWINCH) { if (master >= 0 && resize_fd < 0) copy_window_size(master); }
        else syscall(SYS_pidfd_send_signal, res.pidfd, (int)si.ssi_signo, NULL, 0);
      }
    }
    if (p[0].revents & POLLIN) exited = 1;
  }
  /* what it wrote just before it exited */
  while (master >= 0 && pump_master(master)) {
    struct pollfd p = { master, POLLIN, 0 };
    if (poll(&p, 1, 50) <= 0) break;
  }
  if (raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  siginfo_t si;
  memset(&si, 0, sizeof si);
  if (waitid((idtype_t)P_PIDFD, (id_t)res.pidfd, &si, WEXITED) < 0) return 125;
  return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}

/* `podrun attach`: the container's live output to our stdout and, with
 * with_stdin, our stdin to it, through DIR/monitor.sock ("attach"); raw
 * mode on our terminal for a container with a tty. */
int attach_container(const char *dir, int with_stdin, int raw) {
  int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/monitor.sock", dirfd);
  int sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (dirfd < 0 || sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) {
    fprintf(stderr, "podrun-monitor: the container's monitor is gone: %s\n", strerror(errno));
    return 1;
  }
  write_full(sock, "attach\n", 7);
  char line[600];
  size_t len = 0;
  while (len + 1 < sizeof line && read(sock, line + len, 1) == 1 && line[len] != '\n') len++;
  line[len] = 0;
  if (strcmp(line, "ok") != 0) {
    char *detail = strrchr(line, '\t');
    fprintf(stderr, "podrun-monitor: cannot attach: %s\n", detail ? detail + 1 : line);
    return 1;
  }
  struct termios saved;
  int is_raw = raw && with_stdin && isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &saved) == 0;
  if (is_raw) {
    struct termios t = saved;
    cfmakeraw(&t);
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
  }
  int in = with_stdin ? STDIN_FILENO : -1;
  for (;;) {
    struct pollfd p[2] = { { sock, POLLIN, 0 }, { in, POLLIN, 0 } };
    if (poll(p, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    if (p[0].revents) {
      char buf[16384];
      ssize_t n = read(sock, buf, sizeof buf);
      if (n <= 0) break; /* the container is done, or the monitor went */
      write_full(STDOUT_FILENO, buf, (size_t)n);
    }
    if (p[1].revents) {
      char buf[4096];
      ssize_t n = read(in, buf, sizeof buf);
      if (n > 0) write_full(sock, buf, (size_t)n);
      else {
        /* end of our input (with stdinOnce the container's stdin closes); its output still comes */
        shutdown(sock, SHUT_WR);
        in = -1;
      }
    }
  }
  if (is_raw) tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  close(sock);
  return 0;
}
