#ifndef PODRUN_ROOTFS_RESET_H
#define PODRUN_ROOTFS_RESET_H

#include "launch.h"

/* A restarted container starts from a fresh writable layer, as kubelet's new
 * container would: when DIRFD holds "rootfs-reset" (lines: mount point,
 * upper dir, work dir, overlay options), unmount the overlay, replace upper
 * and work with empty directories and mount it again. Returns 0 (also when
 * there is nothing to reset), or -1 with err filled. */
int rootfs_reset(int dirfd, struct launch_error *err);

#endif
