/* A view of podrun-monitor that no container can write back to the host.
 *
 * Every process that enters a container starts as a copy of a host program
 * (node, or the monitor) and ends in an execve there. Until then, and during
 * that execve (a container binary starting "#!/proc/self/exe" makes the
 * kernel run the launcher's own executable inside the container), the
 * container can reach /proc/PID/exe — CVE-2019-5736. So the launch child
 * first re-executes podrun-monitor from an fd of a private, detached,
 * read-only overlayfs of the binary's directory (runc >= 1.2 does the
 * same): /proc/PID/exe then names a file whose reopening for writing fails
 * with EROFS, whatever a container holds, and it costs no copy. Where
 * overlayfs or the new mount API is missing, a sealed memfd copy is the
 * fallback (runc's older answer: ~1 MB per launcher process). */
#include "exe_seal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fs_create(const char *type, const char *key, const char *value) {
  int fs = (int)syscall(SYS_fsopen, type, FSOPEN_CLOEXEC);
  if (fs < 0) return -1;
  if ((key && syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, key, value, 0) < 0) ||
      syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
    int e = errno; close(fs); errno = e;
    return -1;
  }
  int mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOSUID);
  int e = errno;
  close(fs);
  errno = e;
  return mnt;
}

/* overlayfs with no upper layer is read-only, but wants two lower layers
 * that do not overlap: the binary's directory and an empty detached tmpfs */
static int overlay_view(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash || slash == path || !slash[1]) { errno = EINVAL; return -1; }
  int empty = fs_create("tmpfs", NULL, NULL);
  if (empty < 0) return -1;
  char lower[4200];
  int n = snprintf(lower, sizeof lower, "%.*s:/proc/self/fd/%d", (int)(slash - path), path, empty);
  if (n < 0 || (size_t)n >= sizeof lower) { close(empty); errno = ENAMETOOLONG; return -1; }
  int mnt = fs_create("overlay", "lowerdir", lower);
  int e = errno;
  close(empty);
  if (mnt < 0) { errno = e; return -1; }
  int fd = openat(mnt, slash + 1, O_PATH | O_CLOEXEC);
  e = errno;
  close(mnt);
  errno = e;
  return fd;
}

static int sealed_copy(const char *path) {
  int src = open(path, O_RDONLY | O_CLOEXEC);
  if (src < 0) return -1;
  struct stat st;
  int fd = fstat(src, &st) < 0 ? -1 : memfd_create("podrun-monitor", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  for (off_t off = 0; fd >= 0 && off < st.st_size;) {
    ssize_t n = sendfile(fd, src, &off, (size_t)(st.st_size - off));
    if (n <= 0) { int e = n < 0 ? errno : EIO; close(fd); fd = -1; errno = e; }
  }
  int e = errno;
  close(src);
  if (fd < 0) { errno = e; return -1; }
  if (fchmod(fd, 0555) < 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) {
    e = errno; close(fd); errno = e;
    return -1;
  }
  return fd;
}

int exe_seal_open(const char *path) {
  int fd = overlay_view(path);
  return fd >= 0 ? fd : sealed_copy(path);
}
