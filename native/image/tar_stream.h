// Push-based tar framing for layer unpacking: headers (ustar, GNU, base-256
// numbers), PAX records (binary-safe, incl. SCHILY.xattr.* and
// LIBARCHIVE.xattr.*) and GNU long names. Entries and body bytes go to a
// TarSink as the bytes arrive, so file bodies are never buffered.
#pragma once
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>
#include <time.h>

enum class TarType : char { File = 'f', Hardlink = 'h', Symlink = 'l', Directory = 'd', Char = 'c', Block = 'b', Fifo = 'p' };

struct TarEntry {
  std::string path;  // as stored (not normalised)
  std::string linkpath;
  TarType type = TarType::File;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  struct timespec mtime = {0, 0};
  struct timespec atime = {0, 0};
  bool hasAtime = false;
  uint32_t devmajor = 0;
  uint32_t devminor = 0;
  std::vector<std::pair<std::string, std::string>> xattrs;
};

// A malformed archive; `offset` is where in the stream it was found.
struct TarFormatError : std::runtime_error {
  TarFormatError(const std::string &msg, uint64_t at) : std::runtime_error(msg), offset(at) {}
  uint64_t offset;
};

class TarSink {
 public:
  virtual ~TarSink() = default;
  virtual void Entry(const TarEntry &e) = 0;
  // a piece of the current file's body
  virtual void Data(const char *p, size_t n) = 0;
  // the current file's body is complete
  virtual void End() = 0;
};

class TarStream {
 public:
  explicit TarStream(TarSink &sink) : sink_(sink) {}
  void Feed(const char *p, size_t n);
  // at end of input: a cut archive is an error
  void Finish();
  // the end-of-archive marker was read
  bool Done() const { return state_ == State::Done; }

 private:
  enum class State { Header, Body, Meta, Skip, Done };
  struct Pax {
    bool hasPath = false, hasLink = false, hasSize = false, hasUid = false, hasGid = false, hasMtime = false, hasAtime = false;
    std::string path, linkpath;
    uint64_t size = 0;
    uint32_t uid = 0, gid = 0;
    struct timespec mtime = {0, 0}, atime = {0, 0};
    std::vector<std::pair<std::string, std::string>> xattrs;
  };
  enum class MetaKind { Pax, GlobalPax, LongPath, LongLink };

  void OnHeader(const unsigned char *block);
  void Begin(State s, uint64_t size);
  size_t ConsumeBody(const char *p, size_t n);
  void FinishMeta();
  void ParsePax(const std::string &body, Pax &into) const;

  TarSink &sink_;
  State state_ = State::Header;
  std::string pending_;  // part of a header block
  uint64_t remain_ = 0;
  uint64_t pad_ = 0;
  uint64_t offset_ = 0;  // stream offset of the next unconsumed byte
  MetaKind metaKind_ = MetaKind::Pax;
  std::string meta_;
  Pax pax_, globalPax_;
  bool hasPax_ = false;
  std::string longPath_, longLink_;
  bool hasLongPath_ = false, hasLongLink_ = false;
  int zeroBlocks_ = 0;
};
