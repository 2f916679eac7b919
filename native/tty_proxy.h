#ifndef PODRUN_TTY_PROXY_H
#define PODRUN_TTY_PROXY_H

/* Launch the plan at plan_path (its process.terminal sends the pty master
 * to console_socket, where we listen) and proxy our stdio to the pty until
 * the process exits; returns its status (128+signal), 125 on our failure. */
int run_with_terminal(const char *plan_path, const char *console_socket, int with_stdin);

#endif
