#ifndef PODRUN_TTY_PROXY_H
#define PODRUN_TTY_PROXY_H

/* Launch the plan at plan_path (its process.terminal sends the pty master
 * to console_socket, where we listen) and proxy our stdio to the pty until
 * the process exits; returns its status (128+signal), 125 on our failure. */
int run_with_terminal(const char *plan_path, const char *console_socket, int with_stdin, int resize_fd);

/* Accept one connection on listen_fd (10 s at most) and return the pty
 * master the launched child sent over it with SCM_RIGHTS; -1 with errno. */
int receive_pty_master(int listen_fd);

/* podrun attach: DIR is the container's state dir. Returns 0, or 1 when it
 * could not attach (message on stderr). */
int attach_container(const char *dir, int with_stdin, int raw);

#endif
