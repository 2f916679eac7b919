// Applies tar entries to a layer directory, never writing outside it (see
// layer_apply.cc). One thread calls it; a file's closing syscalls run on
// its FileFinisher's thread.
#pragma once
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "file_finisher.h"
#include "tar_stream.h"

// An entry that would leave the layer, or that makes no sense in one.
struct UnsafePathError : std::runtime_error {
  UnsafePathError(const std::string &entryPath, const std::string &reason) : std::runtime_error(reason), entry(entryPath) {}
  std::string entry;
};

// A failed syscall, reported like Node's fs errors (code, syscall, path).
struct SysError : std::runtime_error {
  SysError(const char *call, const std::string &where, int e);
  std::string syscall, path;
  int err;
};

struct LayerStats {
  uint64_t entries = 0, files = 0, bytes = 0, whiteouts = 0;
  uint64_t droppedXattrs = 0;  // trusted.overlay.* / user.overlay.* a layer may not set
  // in a user namespace (rootless): entries whose owner this namespace has no id for (kept as its root),
  // and device nodes it may not make (skipped)
  uint64_t unmappedOwners = 0, skippedDevices = 0;
};

// The ids this process's user namespace maps (/proc/self/uid_map, gid_map): all of them on the host.
struct IdRanges {
  struct Range { uint32_t first, count; };
  std::vector<Range> uids, gids;
  bool identity = true;  // the initial namespace: every id, overlayfs' trusted.* xattrs
  static IdRanges OfSelf();
  static bool Has(const std::vector<Range> &r, uint32_t id);
};

class LayerApplier : public TarSink {
 public:
  // overlay: whiteouts become overlayfs whiteouts (0/0 char devices,
  // trusted.overlay.opaque); apply: they delete, for a flattened tree
  LayerApplier(const std::string &root, bool applyWhiteouts);
  ~LayerApplier() override;
  void Entry(const TarEntry &e) override;
  void Data(const char *p, size_t n) override;
  void End() override;
  // set directory times last (their children changed them)
  void Finish();
  const LayerStats &Stats() const { return stats_; }

 private:
  struct DirTime {
    std::string path;
    struct timespec times[2];
  };

  std::string ResolveDir(const std::vector<std::string> &comps, size_t count, const std::string &entry, bool create);
  void Directory(const std::string &target, const TarEntry &e);
  void OpenFile(const std::string &target, const std::string &base, const std::string &parent, const TarEntry &e);
  void Symlink(const std::string &target, const std::vector<std::string> &comps, const TarEntry &e);
  void Hardlink(const std::string &target, const TarEntry &e);
  void Node(const std::string &target, const TarEntry &e);
  void Whiteout(const std::string &target);
  void Opaque(const std::string &dir);
  void SetMeta(const std::string &target, const TarEntry &e, bool isDir);
  void SetXattrs(const std::string &target, const TarEntry &e);
  void Replaceable(const std::string &target);
  void Remove(const std::string &target);
  bool Lstat(const std::string &rel, struct stat *st);
  int ParentFd(const std::string &parent);
  void CloseParentFd();
  std::string Abs(const std::string &rel) const;

  const std::string root_;
  const bool apply_;
  const IdRanges ids_ = IdRanges::OfSelf();
  int rootFd_ = -1;
  LayerStats stats_;
  // real directories under the root already checked or created ("" = root),
  // and whether each is setgid (its new files take its group)
  std::unordered_map<std::string, bool> knownDirs_;
  // this thread's umask is 0, so new files get their mode at creation
  bool umaskZero_ = false;
  bool threadReady_ = false;
  const uid_t uid_;
  const gid_t gid_;
  // paths this layer wrote (apply mode: an opaque dir keeps them)
  std::unordered_set<std::string> written_;
  std::vector<DirTime> dirTimes_;
  // the file being written, and its entry
  int fd_ = -1;
  bool createdInSetgid_ = false;  // so it took the directory's group
  FileFinisher finisher_;
  TarEntry current_;
  // the directory files are being created in (tar order groups them)
  int parentFd_ = -1;
  std::string parentPath_;
};
