// Applying tar entries under a layer root. Paths are resolved one component
// at a time under the root: a symlink met on the way is followed only inside
// the root (like containerd's RootPath), ".." in an entry name is refused,
// symlinks and hardlinks that would lead out are refused. What is resolved
// is a path of real directories, so the syscalls below never follow a
// symlink; files are created through openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS) so the kernel holds that line too.
#include "layer_apply.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sched.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

namespace {

const int kMaxLinks = 40;

// JSON.stringify of a string, so messages read as the TypeScript side writes them
std::string Quote(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += static_cast<char>(c);
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += static_cast<char>(c);
  }
  return out + "\"";
}

// a path's pieces between slashes, empty ones included ("a//b/" -> a, "", b, "")
std::vector<std::string> SplitSlashes(const std::string &p) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= p.size()) {
    size_t slash = p.find('/', start);
    if (slash == std::string::npos) slash = p.size();
    out.push_back(p.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

// An entry name as components under the root: a leading "/" is dropped (as
// GNU tar does), ".." anywhere is refused. Empty for the root itself.
std::vector<std::string> EntryComponents(const std::string &name) {
  if (name.find('\0') != std::string::npos) throw UnsafePathError(name, "NUL byte in path");
  std::vector<std::string> parts;
  for (std::string &c : SplitSlashes(name)) {
    if (c == "..") throw UnsafePathError(name, "path contains \"..\" (would leave the layer)");
    if (!c.empty() && c != ".") parts.push_back(std::move(c));
  }
  return parts;
}

// Whether a symlink at `comps` pointing to `target` leaves the root when
// resolved lexically from its own directory (absolute targets are rooted
// in the container, so they never do).
bool SymlinkEscapes(const std::vector<std::string> &comps, const std::string &target) {
  if (!target.empty() && target[0] == '/') return false;
  long depth = static_cast<long>(comps.size()) - 1;
  for (const std::string &c : SplitSlashes(target)) {
    if (c == "..") {
      if (--depth < 0) return true;
    } else if (!c.empty() && c != ".") {
      depth++;
    }
  }
  return false;
}

// only whiteout entries may steer overlayfs
// (user.overlay.* too: overlayfs in a user namespace, mounted with userxattr, reads those)
bool OverlayXattr(const std::string &name) { return name.compare(0, 16, "trusted.overlay.") == 0 || name.compare(0, 13, "user.overlay.") == 0; }

std::vector<IdRanges::Range> ReadIdMap(const char *file, bool *identity) {
  std::vector<IdRanges::Range> out;
  FILE *f = fopen(file, "re");
  unsigned long inside, outside, count;
  while (f && fscanf(f, "%lu %lu %lu", &inside, &outside, &count) == 3) {
    out.push_back({static_cast<uint32_t>(inside), static_cast<uint32_t>(count)});
    if (!(inside == 0 && outside == 0 && count == 4294967295UL)) *identity = false;
  }
  if (f) fclose(f);
  if (out.empty()) out.push_back({0, 4294967295U});  // no /proc: as on the host
  return out;
}

std::string Join(const std::string &parent, const std::string &name) { return parent.empty() ? name : parent + "/" + name; }

bool Under(const std::string &p, const std::string &dir) { return p == dir || (p.size() > dir.size() && p.compare(0, dir.size(), dir) == 0 && p[dir.size()] == '/'); }

// a relative path for *at() calls: "" is the root itself
const char *At(const std::string &rel) { return rel.empty() ? "." : rel.c_str(); }

int OpenBeneath(int dirfd, const char *path, int flags, mode_t mode) {
  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = static_cast<uint64_t>(flags) | O_CLOEXEC;
  how.mode = mode;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(syscall(SYS_openat2, dirfd, path, &how, sizeof how));
}

// rm -rf of `name` in the directory `parent`, through fds only (never follows a symlink)
int RemoveTree(int parent, const char *name) {
  if (unlinkat(parent, name, 0) == 0) return 0;
  if (errno != EISDIR) return -1;
  int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return -1;
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    return -1;
  }
  int rc = 0;
  while (struct dirent *de = readdir(d)) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
    if (RemoveTree(dirfd(d), de->d_name) < 0) {
      rc = -1;
      break;
    }
  }
  int e = errno;
  closedir(d);
  if (rc < 0) {
    errno = e;
    return -1;
  }
  return unlinkat(parent, name, AT_REMOVEDIR);
}

}  // namespace

SysError::SysError(const char *call, const std::string &where, int e)
    : std::runtime_error(std::string(strerrorname_np(e) ? strerrorname_np(e) : "EIO") + ": " + strerror(e) + ", " + call + " '" + where + "'"),
      syscall(call), path(where), err(e) {}

LayerApplier::LayerApplier(const std::string &root, bool applyWhiteouts) : root_(root), apply_(applyWhiteouts), uid_(geteuid()), gid_(getegid()) {
  rootFd_ = open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  struct stat st;
  if (rootFd_ < 0 || fstat(rootFd_, &st) < 0) throw SysError("open", root, errno);
  knownDirs_[""] = st.st_mode & S_ISGID;
}

LayerApplier::~LayerApplier() {
  if (fd_ >= 0) close(fd_);
  CloseParentFd();
  if (rootFd_ >= 0) close(rootFd_);
}

IdRanges IdRanges::OfSelf() {
  IdRanges r;
  r.uids = ReadIdMap("/proc/self/uid_map", &r.identity);
  r.gids = ReadIdMap("/proc/self/gid_map", &r.identity);
  return r;
}

bool IdRanges::Has(const std::vector<Range> &ranges, uint32_t id) {
  for (const Range &r : ranges) if (id >= r.first && id - r.first < r.count) return true;
  return false;
}

std::string LayerApplier::Abs(const std::string &rel) const { return rel.empty() ? root_ : root_ + "/" + rel; }

bool LayerApplier::Lstat(const std::string &rel, struct stat *st) {
  if (fstatat(rootFd_, At(rel), st, AT_SYMLINK_NOFOLLOW) == 0) return true;
  if (errno == ENOENT) return false;
  throw SysError("lstat", Abs(rel), errno);
}

void LayerApplier::Entry(const TarEntry &given) {
  // rootless with few ids (one, without /etc/subuid): an owner the namespace cannot name becomes its root, counted
  // and said by the caller, rather than failing the whole image
  const TarEntry *entry = &given;
  TarEntry remapped;
  if (!ids_.identity && (!IdRanges::Has(ids_.uids, given.uid) || !IdRanges::Has(ids_.gids, given.gid))) {
    remapped = given;
    if (!IdRanges::Has(ids_.uids, given.uid)) remapped.uid = 0;
    if (!IdRanges::Has(ids_.gids, given.gid)) remapped.gid = 0;
    stats_.unmappedOwners++;
    entry = &remapped;
  }
  const TarEntry &e = *entry;
  if (!threadReady_) {
    // a umask of our own (this thread only): files then get their mode when created, not by one more chmod
    threadReady_ = true;
    umaskZero_ = unshare(CLONE_FS) == 0;
    if (umaskZero_) umask(0);
  }
  stats_.entries++;
  std::vector<std::string> comps = EntryComponents(e.path);
  if (comps.empty()) {
    if (e.type != TarType::Directory) throw UnsafePathError(e.path, "the layer root must be a directory");
    knownDirs_[""] = e.mode & S_ISGID;
    SetMeta("", e, true);
    return;
  }
  const std::string &base = comps.back();
  std::string parent = ResolveDir(comps, comps.size() - 1, e.path, true);
  if (base.compare(0, 4, ".wh.") == 0) {
    stats_.whiteouts++;
    if (base == ".wh..wh..opq") return Opaque(parent);
    std::string name = base.substr(4);
    if (name.empty() || name == "." || name == "..") throw UnsafePathError(e.path, "whiteout of " + Quote(name) + " is invalid");
    return Whiteout(Join(parent, name));
  }
  std::string target = Join(parent, base);
  if (apply_) written_.insert(target);
  switch (e.type) {
    case TarType::Directory: return Directory(target, e);
    case TarType::File: return OpenFile(target, base, parent, e);
    case TarType::Symlink: return Symlink(target, comps, e);
    case TarType::Hardlink: return Hardlink(target, e);
    case TarType::Char: case TarType::Block: case TarType::Fifo: return Node(target, e);
  }
}

void LayerApplier::Data(const char *p, size_t n) {
  if (fd_ < 0) return;  // the body of a whiteout entry
  stats_.bytes += n;
  while (n > 0) {
    ssize_t k = write(fd_, p, n);
    if (k < 0) {
      if (errno == EINTR) continue;
      throw SysError("write", Abs(current_.path), errno);
    }
    p += k;
    n -= static_cast<size_t>(k);
  }
}

// the file's last syscalls go to the finisher thread with its fd
void LayerApplier::End() {
  if (fd_ < 0) return;
  const TarEntry &e = current_;
  bool chown = e.uid != uid_ || e.gid != gid_ || createdInSetgid_;
  FinishItem f{fd_, e.uid, e.gid, e.mode, chown, !umaskZero_ || (chown && (e.mode & 07000)), {e.hasAtime ? e.atime : e.mtime, e.mtime}, {}, Abs(e.path)};
  fd_ = -1;
  for (const auto &x : e.xattrs) {
    if (OverlayXattr(x.first)) stats_.droppedXattrs++;
    else f.xattrs.push_back(x);
  }
  finisher_.Push(std::move(f));
}

void LayerApplier::Finish() {
  finisher_.Drain();
  CloseParentFd();
  for (auto it = dirTimes_.rbegin(); it != dirTimes_.rend(); ++it) {
    if (utimensat(rootFd_, At(it->path), it->times, AT_SYMLINK_NOFOLLOW) < 0) throw SysError("utimensat", Abs(it->path), errno);
  }
  dirTimes_.clear();
}

int LayerApplier::ParentFd(const std::string &parent) {
  if (parentFd_ >= 0 && parentPath_ == parent) return parentFd_;
  CloseParentFd();
  parentFd_ = OpenBeneath(rootFd_, At(parent), O_RDONLY | O_DIRECTORY, 0);
  if (parentFd_ < 0) throw SysError("open", Abs(parent), errno);
  parentPath_ = parent;
  return parentFd_;
}

void LayerApplier::CloseParentFd() {
  if (parentFd_ >= 0) close(parentFd_);
  parentFd_ = -1;
  parentPath_.clear();
}

void LayerApplier::OpenFile(const std::string &target, const std::string &base, const std::string &parent, const TarEntry &e) {
  stats_.files++;
  mode_t mode = umaskZero_ ? e.mode : 0600;
  int dfd = ParentFd(parent);
  int fd = OpenBeneath(dfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  if (fd < 0 && errno == EEXIST) {
    Remove(target);
    dfd = ParentFd(parent);
    fd = OpenBeneath(dfd, base.c_str(), O_WRONLY | O_CREAT | O_EXCL, mode);
  }
  auto dir = knownDirs_.find(parent);
  createdInSetgid_ = dir == knownDirs_.end() || dir->second;
  if (fd < 0) throw SysError("open", Abs(target), errno);
  fd_ = fd;
  current_ = e;
  current_.path = target;  // for messages: the resolved path
}

void LayerApplier::Directory(const std::string &target, const TarEntry &e) {
  struct stat st;
  bool exists = Lstat(target, &st);
  if (exists && !S_ISDIR(st.st_mode)) Remove(target);
  if (!exists || !S_ISDIR(st.st_mode)) {
    if (mkdirat(rootFd_, target.c_str(), 0700) < 0) throw SysError("mkdir", Abs(target), errno);
  }
  knownDirs_[target] = e.mode & S_ISGID;
  SetMeta(target, e, true);
}

void LayerApplier::Symlink(const std::string &target, const std::vector<std::string> &comps, const TarEntry &e) {
  if (SymlinkEscapes(comps, e.linkpath)) throw UnsafePathError(e.path, "symlink target " + Quote(e.linkpath) + " points outside the layer");
  Replaceable(target);
  if (symlinkat(e.linkpath.c_str(), rootFd_, target.c_str()) < 0) throw SysError("symlink", Abs(target), errno);
  SetMeta(target, e, false);
}

void LayerApplier::Hardlink(const std::string &target, const TarEntry &e) {
  std::vector<std::string> linkComps = EntryComponents(e.linkpath);
  if (linkComps.empty()) throw UnsafePathError(e.path, "hardlink to the layer root");
  std::string src = Join(ResolveDir(linkComps, linkComps.size() - 1, e.path, false), linkComps.back());
  struct stat st;
  if (!Lstat(src, &st)) throw UnsafePathError(e.path, "hardlink target " + Quote(e.linkpath) + " does not exist in this layer");
  if (S_ISDIR(st.st_mode)) throw UnsafePathError(e.path, "hardlink target " + Quote(e.linkpath) + " is a directory");
  if (src == target) return;
  Replaceable(target);
  // linkat without AT_SYMLINK_FOLLOW links a final symlink itself: the link stays inside
  if (linkat(rootFd_, src.c_str(), rootFd_, target.c_str(), 0) < 0) throw SysError("link", Abs(target), errno);
}

void LayerApplier::Node(const std::string &target, const TarEntry &e) {
  Replaceable(target);
  mode_t type = e.type == TarType::Char ? S_IFCHR : e.type == TarType::Block ? S_IFBLK : S_IFIFO;
  if (mknodat(rootFd_, target.c_str(), type | 0600, makedev(e.devmajor, e.devminor)) < 0) {
    // a user namespace may not make device nodes (runtimes bind the host's /dev nodes instead): skipped, counted
    if (errno == EPERM && !ids_.identity && type != S_IFIFO) {
      stats_.skippedDevices++;
      return;
    }
    throw SysError("mknod", Abs(target), errno);
  }
  SetMeta(target, e, false);
}

void LayerApplier::Whiteout(const std::string &target) {
  if (apply_) return Remove(target);
  Replaceable(target);
  if (mknodat(rootFd_, target.c_str(), S_IFCHR, makedev(0, 0)) < 0) throw SysError("mknod", Abs(target), errno);
}

void LayerApplier::Opaque(const std::string &dir) {
  if (!apply_) {
    // in a user namespace trusted.* cannot be set; overlayfs mounted there with userxattr reads user.overlay.*
    const char *opaque = ids_.identity ? "trusted.overlay.opaque" : "user.overlay.opaque";
    if (lsetxattr(Abs(dir).c_str(), opaque, "y", 1, 0) < 0) throw SysError("lsetxattr", Abs(dir), errno);
    return;
  }
  int fd = OpenBeneath(rootFd_, At(dir), O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) throw SysError("open", Abs(dir), errno);
  DIR *d = fdopendir(fd);
  if (!d) {
    close(fd);
    throw SysError("opendir", Abs(dir), errno);
  }
  std::vector<std::string> names;
  while (struct dirent *de = readdir(d)) {
    if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0) names.emplace_back(de->d_name);
  }
  closedir(d);
  for (const std::string &n : names) {
    std::string p = Join(dir, n);
    if (!written_.count(p)) Remove(p);
  }
}

// chown, chmod (after chown: it clears setuid), xattrs; times now or, for directories, at Finish
void LayerApplier::SetMeta(const std::string &target, const TarEntry &e, bool isDir) {
  bool link = e.type == TarType::Symlink;
  if (fchownat(rootFd_, At(target), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) < 0) throw SysError("lchown", Abs(target), errno);
  if (!link && fchmodat(rootFd_, At(target), e.mode, 0) < 0) throw SysError("chmod", Abs(target), errno);
  SetXattrs(target, e);
  DirTime t{target, {e.hasAtime ? e.atime : e.mtime, e.mtime}};
  if (isDir) dirTimes_.push_back(t);
  else if (utimensat(rootFd_, At(target), t.times, AT_SYMLINK_NOFOLLOW) < 0) throw SysError("utimensat", Abs(target), errno);
}

// by path, never following a final symlink
void LayerApplier::SetXattrs(const std::string &target, const TarEntry &e) {
  for (const auto &x : e.xattrs) {
    if (OverlayXattr(x.first)) {
      stats_.droppedXattrs++;
      continue;
    }
    if (lsetxattr(Abs(target).c_str(), x.first.c_str(), x.second.data(), x.second.size(), 0) < 0) throw SysError("lsetxattr", Abs(target), errno);
  }
}

// make room for a new non-directory entry at target
void LayerApplier::Replaceable(const std::string &target) {
  struct stat st;
  if (Lstat(target, &st)) Remove(target);
}

void LayerApplier::Remove(const std::string &target) {
  struct stat st;
  if (!Lstat(target, &st)) return;
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(rootFd_, target.c_str(), 0) < 0) throw SysError("unlink", Abs(target), errno);
    return;
  }
  if (Under(parentPath_, target) && parentFd_ >= 0) CloseParentFd();
  if (RemoveTree(rootFd_, target.c_str()) < 0) throw SysError("rm", Abs(target), errno);
  for (auto it = knownDirs_.begin(); it != knownDirs_.end();) it = Under(it->first, target) ? knownDirs_.erase(it) : std::next(it);
  std::vector<DirTime> keep;
  for (auto &t : dirTimes_) if (!Under(t.path, target)) keep.push_back(std::move(t));
  dirTimes_.swap(keep);
}

// Resolve the first `count` components under the root, following symlinks
// only inside it; missing directories are created (0755) when `create`.
std::string LayerApplier::ResolveDir(const std::vector<std::string> &comps, size_t count, const std::string &entry, bool create) {
  std::string cur;
  std::deque<std::string> queue(comps.begin(), comps.begin() + static_cast<long>(count));
  int links = 0;
  while (!queue.empty()) {
    std::string c = std::move(queue.front());
    queue.pop_front();
    if (c.empty() || c == ".") continue;
    if (c == "..") {  // only from a symlink's target: clamp at the root
      size_t slash = cur.rfind('/');
      cur = slash == std::string::npos ? "" : cur.substr(0, slash);
      continue;
    }
    std::string next = Join(cur, c);
    if (knownDirs_.count(next)) {
      cur = std::move(next);
      continue;
    }
    struct stat st;
    if (!Lstat(next, &st)) {
      if (!create) throw UnsafePathError(entry, next + " does not exist");
      // 0755 whatever the umask: with our own umask of 0 (see Entry) mkdir alone gives it
      if (mkdirat(rootFd_, next.c_str(), 0755) < 0 || (!umaskZero_ && fchmodat(rootFd_, next.c_str(), 0755, 0) < 0)) throw SysError("mkdir", Abs(next), errno);
      knownDirs_[next] = false;
      cur = std::move(next);
    } else if (S_ISDIR(st.st_mode)) {
      knownDirs_[next] = st.st_mode & S_ISGID;
      cur = std::move(next);
    } else if (S_ISLNK(st.st_mode)) {
      if (++links > kMaxLinks) throw UnsafePathError(entry, "too many levels of symbolic links");
      char buf[4096];
      ssize_t n = readlinkat(rootFd_, next.c_str(), buf, sizeof buf);
      if (n < 0) throw SysError("readlink", Abs(next), errno);
      std::string t(buf, static_cast<size_t>(n));
      if (!t.empty() && t[0] == '/') cur.clear();
      std::vector<std::string> parts = SplitSlashes(t);
      queue.insert(queue.begin(), parts.begin(), parts.end());
    } else {
      throw UnsafePathError(entry, next + " is not a directory");
    }
  }
  return cur;
}
