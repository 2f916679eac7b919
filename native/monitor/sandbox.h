#ifndef PODRUN_SANDBOX_H
#define PODRUN_SANDBOX_H

/* New namespaces of the kinds in flags (CLONE_NEWNET/NEWUTS/NEWIPC) pinned
 * on DIR/net, DIR/uts, DIR/ipc; the UTS one gets hostname, the net one its
 * loopback up. Returns 0, or 1 with a message on stderr (what the child
 * pinned before failing stays: the caller unpins). */
int make_sandbox(const char *dir, const char *hostname, int flags);

#endif
