#include "rootfs_reset.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static int fail(struct launch_error *err, int e, const char *what, const char *path) {
  err->step = STEP_ROOTFS; err->err = e; err->index = -1;
  snprintf(err->detail, sizeof err->detail, "fresh writable layer: %s %.400s", what, path);
  return -1;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st; (void)ftw;
  if (flag == FTW_DP) rmdir(path);
  else unlink(path);
  return 0;
}

static void remove_tree(const char *path) {
  nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* dir → dir.old (what a crash left there first goes), then an empty dir owned as dir was (a user-namespaced
 * pod's upper layer belongs to its mapped root, so the container's root can write its /) */
static int replace_with_empty(const char *dir, struct launch_error *err) {
  char old[4200];
  snprintf(old, sizeof old, "%s.old", dir);
  remove_tree(old);
  struct stat st;
  int had = stat(dir, &st) == 0;
  if (rename(dir, old) < 0 && errno != ENOENT) return fail(err, errno, "rename", dir);
  if (mkdir(dir, 0755) < 0) return fail(err, errno, "mkdir", dir);
  if (had && (st.st_uid != 0 || st.st_gid != 0) && (chown(dir, st.st_uid, st.st_gid) < 0 || chmod(dir, st.st_mode & 07777) < 0)) return fail(err, errno, "chown", dir);
  return 0;
}

int rootfs_reset(int dirfd, struct launch_error *err) {
  char buf[8192];
  int fd = openat(dirfd, "rootfs-reset", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? 0 : fail(err, errno, "read", "rootfs-reset");
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (n <= 0) return fail(err, n < 0 ? errno : EINVAL, "read", "rootfs-reset");
  buf[n] = 0;
  char *line[4] = { NULL };
  char *p = buf;
  for (int i = 0; i < 4 && p; i++) {
    line[i] = p;
    p = strchr(p, '\n');
    if (p) *p++ = 0;
  }
  if (!line[3] || !*line[0] || !*line[1] || !*line[2] || !*line[3]) return fail(err, EINVAL, "malformed", "rootfs-reset");
  const char *target = line[0], *upper = line[1], *work = line[2], *options = line[3];
  if (umount2(target, MNT_DETACH) < 0 && errno != EINVAL) return fail(err, errno, "umount", target);
  if (replace_with_empty(upper, err) < 0 || replace_with_empty(work, err) < 0) return -1;
  if (mount("overlay", target, "overlay", 0, options) < 0) return fail(err, errno, "mount", target);
  char old[4200];
  snprintf(old, sizeof old, "%s.old", upper);
  remove_tree(old);
  snprintf(old, sizeof old, "%s.old", work);
  remove_tree(old);
  return 0;
}
