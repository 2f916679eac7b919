/* What a parent and the child it is setting up say to each other (one byte each way over a socketpair), and the
 * /proc/PID files the parent writes meanwhile (uid_map, gid_map, setgroups): podrun-monitor's sandbox and rootless
 * namespaces both do this. */
#pragma once
#include <sys/types.h>

/* fork a child that runs child(sync, arg) and _exits with what it returns; the parent gets its end of the pair in
 * *sync. The child's pid, or -1 with errno. */
pid_t handshake_fork(int (*child)(int sync, void *arg), void *arg, int *sync);
/* send one byte: 0, or -1 with errno */
int handshake_say(int fd, char c);
/* receive one byte and check it is `want`: 0, or -1 (the other side failed, and said why on stderr, or closed) */
int handshake_hear(int fd, char want);
/* write `text` to /proc/PID/FILE in one write: 0, or -1 with errno */
int proc_pid_write(pid_t pid, const char *file, const char *text);
