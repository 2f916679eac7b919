#ifndef PODRUN_SANDBOX_H
#define PODRUN_SANDBOX_H

/* ids 0..size-1 of a user namespace are host ids base..base+size-1 */
struct id_range {
  unsigned long uid_base, gid_base, size;
};

/* New namespaces of the kinds in flags (CLONE_NEWNET/NEWUTS/NEWIPC) pinned
 * on DIR/net, DIR/uts, DIR/ipc; the UTS one gets hostname, the net one its
 * loopback up. With userns, they are owned by a new user namespace mapping
 * that range, pinned on DIR/user. Returns 0, or 1 with a message on stderr
 * (what was pinned before the failure stays: the caller unpins). */
int make_sandbox(const char *dir, const char *hostname, int flags, const struct id_range *userns);

#endif
