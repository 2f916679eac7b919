/* Root filesystem: mounts, devices, /dev symlinks, pivot_root, then the
 * paths that are masked or made read-only. Mount targets are opened with
 * openat2(RESOLVE_IN_ROOT) and mounted through /proc/self/fd, so a symlink in
 * the image can never redirect a mount outside the rootfs. */
#include "uid_map.h"
#include "child.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define PATH_CAP 4096

static int openat2_resolve(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
  struct open_how how;
  char *p = (char *)&how;
  for (size_t i = 0; i < sizeof how; i++) p[i] = 0;
  how.flags = (uint64_t)(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = resolve;
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* path from dirfd with `resolve`; leading slashes are relative to dirfd too */
static int open_at(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
  while (*path == '/') path++;
  return openat2_resolve(dirfd, *path ? path : ".", flags, mode, resolve);
}

static int open_in_root(struct child *c, const char *path, int flags, mode_t mode) {
  return open_at(c->root_fd, path, flags, mode, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

/* O_PATH fd of path opened from dirfd with `resolve`, each missing
 * component made inside its already resolved parent (so swapping one for a
 * symlink meanwhile gains nothing): directories with dir_mode, the last as an
 * empty 0644 file when is_file; what it makes is owned by owner:group unless
 * those are -1. -1 with errno, and the prefix that failed in `failed`. */
static int walk_make(int dirfd, const char *path, uint64_t resolve, mode_t dir_mode, int is_file, uid_t owner, gid_t group, char *failed, size_t cap) {
  char buf[PATH_CAP] = "";
  ss_cat(buf, sizeof buf, path);
  size_t n = ss_len(buf);
  for (size_t i = 1; i <= n; i++) {
    if (buf[i] != '/' && buf[i] != 0) continue;
    int last = buf[i] == 0;
    char saved = buf[i];
    buf[i] = 0;
    int fd = open_at(dirfd, buf, O_PATH, 0, resolve);
    if (fd < 0 && errno == ENOENT) {
      if (last && is_file) {
        fd = open_at(dirfd, buf, O_CREAT | O_WRONLY, 0644, resolve);
        if (fd >= 0) { close(fd); fd = open_at(dirfd, buf, O_PATH, 0, resolve); }
      } else {
        size_t slash = i;
        while (slash > 0 && buf[slash] != '/') slash--;
        char at_slash = buf[slash]; /* not a slash: the first component of a relative path */
        buf[slash] = 0;
        int parent = open_at(dirfd, buf, O_PATH | O_DIRECTORY, 0, resolve);
        buf[slash] = at_slash;
        if (parent >= 0) {
          int made = mkdirat(parent, buf + slash + (at_slash == '/'), dir_mode);
          int e = errno;
          close(parent);
          errno = e;
          fd = made < 0 && e != EEXIST ? -1 : open_at(dirfd, buf, O_PATH, 0, resolve);
          if (made == 0 && fd >= 0 && (owner != (uid_t)-1 || group != (gid_t)-1) && fchownat(fd, "", owner, group, AT_EMPTY_PATH) < 0) {
            e = errno;
            close(fd);
            errno = e;
            fd = -1;
          }
        }
      }
    }
    if (fd < 0) {
      int e = errno;
      failed[0] = 0;
      ss_cat(failed, cap, buf);
      errno = e;
      return -1;
    }
    buf[i] = saved;
    if (last) return fd;
    close(fd);
  }
  failed[0] = 0;
  ss_cat(failed, cap, path);
  errno = EINVAL;
  return -1;
}

/* Create every missing directory of path under the root (and the last
 * component as a file when is_file); return an O_PATH fd of it. */
static int ensure_path(struct child *c, const char *path, int is_file, int step, int index) {
  char failed[PATH_CAP];
  int fd = walk_make(c->root_fd, path, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, 0755, is_file, (uid_t)-1, (gid_t)-1, failed, sizeof failed);
  if (fd < 0) child_fail(c, step, errno, index, failed);
  return fd;
}

/* Flags the kernel locks on mounts seen from a user namespace: a bind
 * remount must keep them or it fails with EPERM. */
static unsigned long locked_flags(const char *path) {
  struct statfs st;
  if (statfs(path, &st) < 0) return 0;
  return (unsigned long)st.f_flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC |
                                      MS_NOATIME | MS_NODIRATIME | MS_RELATIME);
}

static int bind_remount(const char *target, unsigned long flags) {
  unsigned long f = MS_REMOUNT | MS_BIND | (flags & ~(unsigned long)(MS_REC | MS_BIND | MS_REMOUNT));
  if (mount(NULL, target, NULL, f, NULL) == 0) return 0;
  if (errno != EPERM) return -1;
  return mount(NULL, target, NULL, f | locked_flags(target), NULL);
}

static void beneath_fail(struct child *c, int e, int index, const struct pr_mount *m) {
  char detail[sizeof c->shared_err->detail] = "";
  ss_cat(detail, sizeof detail, "subPath ");
  ss_cat(detail, sizeof detail, m->data);
  /* openat2 says EXDEV for an absolute symlink or ".." that would leave the volume */
  ss_cat(detail, sizeof detail, e == EXDEV ? " resolves outside its volume" : "");
  child_fail(c, STEP_MOUNT, e, index, detail);
}

/* O_PATH fd of m->data resolved beneath m->source, every step of it: a
 * symlink in the volume may point elsewhere in it, never out (kubelet's safe
 * subpath, without its re-walks). A missing subPath is made, as kubelet
 * does, as directories with the volume's mode and owner (the owner matters
 * where this runs as host root for a user-namespaced pod: its root owns the
 * volume, so it owns what is made in it). */
static int open_subpath(struct child *c, const struct pr_mount *m, int index) {
  int root = open(m->source, O_PATH | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (root < 0 || fstat(root, &st) < 0) child_fail(c, STEP_MOUNT, errno, index, m->source);
  char failed[PATH_CAP];
  int fd = walk_make(root, m->data, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, st.st_mode & 07777, 0, st.st_uid, st.st_gid, failed, sizeof failed);
  int e = errno;
  close(root);
  if (fd < 0) beneath_fail(c, e, index, m);
  return fd;
}

#define MAX_TREES 512
static int trees[MAX_TREES];

static int is_bind(const struct pr_mount *m) { return m->kind == MOUNT_BIND || m->kind == MOUNT_BIND_BENEATH; }

void rootfs_take_userns(struct child *c) {
  const struct launch_plan *p = c->plan;
  if (p->nmounts > MAX_TREES) child_fail(c, STEP_MOUNT, E2BIG, -1, "too many mounts for a user-namespaced container");
  for (size_t i = 0; i < p->nmounts; i++) {
    const struct pr_mount *m = &p->mounts[i];
    trees[i] = -1;
    if (!is_bind(m)) continue;
    int src = m->kind == MOUNT_BIND_BENEATH ? open_subpath(c, m, (int)i) : open(m->source, O_PATH | O_CLOEXEC);
    if (src < 0) child_fail(c, STEP_MOUNT, errno, (int)i, m->source);
    trees[i] = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | ((m->flags & MS_REC) ? AT_RECURSIVE : 0));
    if (trees[i] < 0) child_fail(c, STEP_MOUNT, errno, (int)i, m->source);
    close(src);
    if (m->idmap) {
      /* owners shifted by the user namespace about to be joined (its maps are checked once joined); only host
       * root may set this on a mount it made, so now */
      int userns = -1;
      for (size_t j = 0; j < p->njoins; j++) if (p->joins[j].type == CLONE_NEWUSER) userns = p->joins[j].fd;
      struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)userns };
      if (userns < 0 || mount_setattr(trees[i], "", AT_EMPTY_PATH | ((m->flags & MS_REC) ? AT_RECURSIVE : 0), &attr, sizeof attr) < 0)
        child_fail(c, STEP_MOUNT, userns < 0 ? EINVAL : errno, (int)i, "idmapped mount");
    }
  }
  c->trees = trees;
  /* unshare(CLONE_NEWNS) moves our cwd to its copy in the new namespace */
  if (chdir(p->rootfs) < 0) child_fail(c, STEP_ROOTFS, errno, -1, p->rootfs);
  c->rootfs_by_cwd = 1;
}

static void do_mount(struct child *c, const struct pr_mount *m, int index) {
  char target[64], source[64];
  int is_file = 0;
  int bind = is_bind(m);
  int tree = c->trees ? c->trees[index] : -1;
  /* the source by fd: a subPath's is only ever named through the fd it resolved to */
  int src = m->kind == MOUNT_BIND_BENEATH && tree < 0 ? open_subpath(c, m, index) : -1;
  if (bind) {
    struct stat st;
    if ((tree >= 0 ? fstat(tree, &st) : src >= 0 ? fstat(src, &st) : stat(m->source, &st)) < 0) child_fail(c, STEP_MOUNT, errno, index, m->source);
    is_file = !S_ISDIR(st.st_mode);
  }
  int fd = ensure_path(c, m->destination, is_file, STEP_MOUNTPOINT, index);
  ss_fd_path(target, sizeof target, fd);
  int rc;
  if (bind && tree >= 0) {
    /* onto the fd itself: move_mount does not follow a /proc/self/fd magic link to its target */
    rc = move_mount(tree, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    close(tree);
    c->trees[index] = -1;
  } else if (bind)
    rc = mount(src >= 0 ? ss_fd_path(source, sizeof source, src) : m->source, target, NULL, MS_BIND | (m->flags & MS_REC), NULL);
  else
    rc = mount(m->source, target, m->type, m->flags, *m->data ? m->data : NULL);
  if (rc < 0) child_fail(c, STEP_MOUNT, errno, index, m->destination);
  close(fd);
  if (src >= 0) close(src);
  int want_remount = bind && (m->flags & ~(unsigned long)(MS_BIND | MS_REC)) != 0;
  int want_rattr = m->rattr_set || m->rattr_clr;
  if (!want_remount && !m->pflags && !want_rattr) return;
  /* reopen: the fd above names the directory under the new mount */
  fd = open_in_root(c, m->destination, O_PATH, 0);
  if (fd < 0) child_fail(c, STEP_MOUNT, errno, index, m->destination);
  ss_fd_path(target, sizeof target, fd);
  if (want_remount && bind_remount(target, m->flags) < 0)
    child_fail(c, STEP_MOUNT, errno, index, m->destination);
  if (m->pflags && mount(NULL, target, NULL, m->pflags, NULL) < 0)
    child_fail(c, STEP_MOUNT, errno, index, m->destination);
  /* "rro" and its kin: what a remount sets on the top mount only, set on every mount below it too (a read-only
   * volume with a submount is otherwise writable there). ENOSYS: the kernel predates mount_setattr (5.12). */
  if (want_rattr) {
    struct mount_attr attr = { .attr_set = m->rattr_set, .attr_clr = m->rattr_clr };
    if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
      child_fail(c, STEP_MOUNT, errno, index, errno == ENOSYS ? "recursive mount options (mount_setattr: kernel >= 5.12)" : m->destination);
  }
  close(fd);
}

/* Split "/a/b/c" into a directory fd of "/a/b" (created) and "c". */
static int open_parent(struct child *c, const char *path, const char **base, int step, int index) {
  char dir[PATH_CAP] = "";
  ss_cat(dir, sizeof dir, path);
  size_t n = ss_len(dir);
  while (n > 0 && dir[n - 1] != '/') n--;
  *base = path + n;
  dir[n] = 0;
  int opath = ensure_path(c, *dir ? dir : "/", 0, step, index);
  /* *at() calls that create entries need a real directory fd, not O_PATH */
  char fdpath[64];
  int fd = open(ss_fd_path(fdpath, sizeof fdpath, opath), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int e = errno;
  close(opath);
  if (fd < 0) child_fail(c, step, e, index, path);
  return fd;
}

/* in a user namespace, or where a device cgroup forbids mknod, bind the
 * host's node at the same path instead (as runc and crun do) */
static void bind_host_device(struct child *c, const struct pr_device *d, int index) {
  char target[64];
  int fd = ensure_path(c, d->path, 1, STEP_DEVICE, index);
  if (mount(d->path, ss_fd_path(target, sizeof target, fd), NULL, MS_BIND, NULL) < 0)
    child_fail(c, STEP_DEVICE, errno, index, d->path);
  close(fd);
}

static void make_device(struct child *c, const struct pr_device *d, int index) {
  if (d->bind) {
    bind_host_device(c, d, index);
    return;
  }
  const char *base;
  int real = open_parent(c, d->path, &base, STEP_DEVICE, index);
  unlinkat(real, base, 0);
  if (mknodat(real, base, d->type | (d->mode & 07777), makedev(d->major, d->minor)) < 0) {
    int e = errno;
    close(real);
    if (e != EPERM) child_fail(c, STEP_DEVICE, e, index, d->path);
    bind_host_device(c, d, index);
    return;
  }
  if (fchmodat(real, base, d->mode & 07777, 0) < 0 || fchownat(real, base, d->uid, d->gid, AT_SYMLINK_NOFOLLOW) < 0) {
    int e = errno; close(real);
    child_fail(c, STEP_DEVICE, e, index, d->path);
  }
  close(real);
}

static void make_symlink(struct child *c, const struct pr_symlink *s, int index) {
  const char *base;
  int real = open_parent(c, s->linkpath, &base, STEP_SYMLINK, index);
  if (symlinkat(s->target, real, base) < 0 && errno != EEXIST) {
    int e = errno; close(real);
    child_fail(c, STEP_SYMLINK, e, index, s->linkpath);
  }
  close(real);
}

static void enter_root(struct child *c) {
  const struct launch_plan *p = c->plan;
  if (p->host_mount_ns) {
    /* pivot_root would move the root of every process in the caller's
     * namespace: a chroot, as runc does without a mount namespace */
    if (chdir(p->rootfs) < 0 || chroot(".") < 0 || chdir("/") < 0)
      child_fail(c, STEP_PIVOT_ROOT, errno, -1, "chroot");
    return;
  }
  if (p->no_pivot) {
    /* MS_MOVE the rootfs over / and chroot, for ramfs-rooted hosts */
    if (chdir(p->rootfs) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 || chdir("/") < 0)
      child_fail(c, STEP_PIVOT_ROOT, errno, -1, "move root");
    return;
  }
  int oldroot = open("/", O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  int newroot = c->rootfs_tree >= 0 ? c->rootfs_tree : open(p->rootfs, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  if (oldroot < 0 || newroot < 0) child_fail(c, STEP_PIVOT_ROOT, errno, -1, p->rootfs);
  if (fchdir(newroot) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
    child_fail(c, STEP_PIVOT_ROOT, errno, -1, p->rootfs);
  /* the old root is now stacked under "."; detach it without propagating
   * the unmount to the host */
  if (fchdir(oldroot) < 0 || mount(NULL, ".", NULL, MS_SLAVE | MS_REC, NULL) < 0 ||
      umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
    child_fail(c, STEP_PIVOT_ROOT, errno, -1, "detach old root");
  close(oldroot);
  close(newroot);
}

static int is_procfs(const struct pr_mount *m) { return m->kind == MOUNT_FS && ss_eq(m->type, "proc"); }

int rootfs_can_fork_late(const struct child *c) {
  const struct launch_plan *p = c->plan;
  if (!p->rootfs || p->hook_pause) return 0;
  /* in a user namespace, a procfs may only be mounted while a fully visible
   * one is (the host's, under the old root): before pivot_root. That holds for
   * a namespace the container makes or joins, and for the one rootless podrun
   * itself runs in (a shared PID namespace, joined, is where this matters). */
  if (c->in_new_userns || uid_map_initial(NULL) != 1) return 0; /* unreadable: assume not (the safe answer) */
  for (size_t i = 0; i < p->njoins; i++)
    if (p->joins[i].type == CLONE_NEWUSER) return 0;
  for (size_t i = 0; i < p->nmounts; i++) {
    if (!is_procfs(&p->mounts[i])) continue;
    const char *dst = p->mounts[i].destination;
    size_t n = ss_len(dst);
    for (size_t j = i + 1; j < p->nmounts; j++) {
      const char *other = p->mounts[j].destination;
      if (ss_has_prefix(other, dst) && (other[n] == '/' || other[n] == 0 || (n == 1 && dst[0] == '/'))) return 0;
    }
  }
  return 1;
}

void rootfs_mount_procfs(struct child *c) {
  const struct launch_plan *p = c->plan;
  c->root_fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->root_fd < 0) child_fail(c, STEP_ROOTFS, errno, -1, "/");
  for (size_t i = 0; i < p->nmounts; i++) {
    const struct pr_mount *m = &p->mounts[i];
    if (!is_procfs(m)) continue;
    close(ensure_path(c, m->destination, 0, STEP_MOUNTPOINT, (int)i));
    /* by name: /proc/self/fd is what is being mounted, and after pivot_root
     * every path resolves inside the container's root anyway */
    if (mount(m->source, m->destination, m->type, m->flags, *m->data ? m->data : NULL) < 0 ||
        (m->pflags && mount(NULL, m->destination, NULL, m->pflags, NULL) < 0))
      child_fail(c, STEP_MOUNT, errno, (int)i, m->destination);
  }
  close(c->root_fd);
  c->root_fd = -1;
}

void rootfs_setup(struct child *c, int without_procfs) {
  const struct launch_plan *p = c->plan;
  unsigned long prop = p->rootfs_prop ? p->rootfs_prop : (MS_SLAVE | MS_REC);
  /* in the caller's own mount namespace, its propagation is not ours to change */
  if (!p->host_mount_ns && mount(NULL, "/", NULL, prop, NULL) < 0)
    child_fail(c, STEP_ROOT_PROPAGATION, errno, -1, "/");
  if (c->rootfs_by_cwd) {
    /* the rootfs is our cwd (its path is not ours to search): a clone of it stacked on it is the mount pivot_root
     * needs; "/" is no longer shared, so neither are the mounts holding it */
    int t = open_tree(AT_FDCWD, ".", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (t < 0 || move_mount(t, "", AT_FDCWD, ".", MOVE_MOUNT_F_EMPTY_PATH) < 0 || fchdir(t) < 0)
      child_fail(c, STEP_ROOTFS, errno, -1, p->rootfs);
    c->rootfs_tree = t;
    c->root_fd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  } else {
    if (!p->host_mount_ns && p->rootfs_parent && mount(NULL, p->rootfs_parent, NULL, MS_PRIVATE, NULL) < 0)
      child_fail(c, STEP_ROOT_PROPAGATION, errno, -1, p->rootfs_parent);
    if (mount(p->rootfs, p->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0)
      child_fail(c, STEP_ROOTFS, errno, -1, p->rootfs);
  }
  /* there, what we mount below the rootfs must not propagate to other namespaces */
  if (p->host_mount_ns && mount(NULL, p->rootfs, NULL, MS_PRIVATE | MS_REC, NULL) < 0)
    child_fail(c, STEP_ROOT_PROPAGATION, errno, -1, p->rootfs);
  if (!c->rootfs_by_cwd) c->root_fd = open(p->rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (c->root_fd < 0) child_fail(c, STEP_ROOTFS, errno, -1, p->rootfs);
  for (size_t i = 0; i < p->nmounts; i++)
    if (!without_procfs || !is_procfs(&p->mounts[i])) do_mount(c, &p->mounts[i], (int)i);
  for (size_t i = 0; i < p->ndevices; i++) make_device(c, &p->devices[i], (int)i);
  for (size_t i = 0; i < p->nsymlinks; i++) make_symlink(c, &p->symlinks[i], (int)i);
  /* a working directory the image lacks is made, as runc and kubelet do: inside the root, through no magic
   * link (a cwd through /proc/self/fd fails here, and verify_cwd would refuse it anyway) */
  if (p->cwd && p->cwd[0]) close(ensure_path(c, p->cwd, 0, STEP_CWD, -1));
  close(c->root_fd);
  c->root_fd = -1;
  if (p->hook_pause) {
    /* the runtime runs prestart, createRuntime and createContainer hooks now */
    sync_send(c, MSG_HOOKS, 0);
    sync_expect(c, MSG_HOOKS_DONE);
  }
  enter_root(c);
}

static void write_sysctl(struct child *c, const struct pr_sysctl *s, int index) {
  int fd = open(s->path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) child_fail(c, STEP_SYSCTL, errno, index, s->path);
  if (write(fd, s->value, ss_len(s->value)) < 0) {
    int e = errno; close(fd);
    child_fail(c, STEP_SYSCTL, e, index, s->path);
  }
  close(fd);
}

static void readonly_path(struct child *c, const char *path, int index) {
  if (mount(path, path, NULL, MS_BIND | MS_REC, NULL) < 0) {
    if (errno == ENOENT) return;
    child_fail(c, STEP_READONLY_PATH, errno, index, path);
  }
  if (bind_remount(path, MS_RDONLY | locked_flags(path)) < 0)
    child_fail(c, STEP_READONLY_PATH, errno, index, path);
}

static void masked_path(struct child *c, const char *path, int index) {
  struct stat st;
  if (lstat(path, &st) < 0) {
    if (errno == ENOENT) return;
    child_fail(c, STEP_MASKED_PATH, errno, index, path);
  }
  int rc = S_ISDIR(st.st_mode) ? mount("tmpfs", path, "tmpfs", MS_RDONLY, NULL)
                               : mount("/dev/null", path, NULL, MS_BIND, NULL);
  if (rc < 0) child_fail(c, STEP_MASKED_PATH, errno, index, path);
}

void rootfs_finish(struct child *c) {
  const struct launch_plan *p = c->plan;
  for (size_t i = 0; i < p->nsysctls; i++) write_sysctl(c, &p->sysctls[i], (int)i);
  for (size_t i = 0; i < p->nreadonly; i++) readonly_path(c, p->readonly[i], (int)i);
  for (size_t i = 0; i < p->nmasked; i++) masked_path(c, p->masked[i], (int)i);
  if (p->readonly_root && bind_remount("/", MS_RDONLY | locked_flags("/")) < 0)
    child_fail(c, STEP_READONLY_ROOT, errno, -1, "/");
}
