// Tar framing (see tar_stream.h). Mirrors what Go's archive/tar and GNU tar
// write: ustar with its 155-byte prefix, GNU magic, base-256 numbers, PAX
// per-entry and global records, GNU 'L'/'K' long names.
#include "tar_stream.h"

#include <cstring>

namespace {

const size_t kBlock = 512;
const size_t kMaxMeta = 1u << 20;

std::string Field(const unsigned char *b, size_t off, size_t len) {
  const char *p = reinterpret_cast<const char *>(b + off);
  return std::string(p, strnlen(p, len));
}

// octal (NUL/space terminated) or base-256 (high bit of the first byte set)
bool Number(const unsigned char *b, size_t off, size_t len, uint64_t *out) {
  const unsigned char *p = b + off;
  if (p[0] & 0x80) {
    if (p[0] == 0xff) return false;  // negative
    uint64_t v = p[0] & 0x7f;
    for (size_t i = 1; i < len; i++) {
      if (v >> 56) return false;
      v = (v << 8) | p[i];
    }
    *out = v;
    return true;
  }
  size_t i = 0;
  while (i < len && p[i] == ' ') i++;
  uint64_t v = 0;
  bool any = false;
  for (; i < len && p[i] >= '0' && p[i] <= '7'; i++) {
    v = (v << 3) | static_cast<uint64_t>(p[i] - '0');
    any = true;
  }
  *out = any ? v : 0;
  return true;
}

uint64_t Num(const unsigned char *b, size_t off, size_t len, const char *what, uint64_t at) {
  uint64_t v;
  if (!Number(b, off, len, &v)) throw TarFormatError(std::string("header field ") + what + " is out of range", at);
  return v;
}

// the sum of the header's bytes with the checksum field read as spaces;
// some old tars summed signed chars
bool ChecksumValid(const unsigned char *b) {
  uint64_t stored;
  if (!Number(b, 148, 8, &stored)) return false;
  uint32_t sum = 0;
  for (size_t i = 0; i < kBlock; i++) sum += b[i];  // vectorised: this runs for every entry
  for (size_t i = 148; i < 156; i++) sum -= b[i];
  sum += 8 * ' ';
  if (stored == sum) return true;
  int32_t ssum = 0;
  for (size_t i = 0; i < kBlock; i++) ssum += (i >= 148 && i < 156) ? ' ' : static_cast<signed char>(b[i]);
  return static_cast<int64_t>(stored) == ssum;
}

bool ParseUint(const std::string &s, uint64_t *out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// PAX times: decimal seconds with an optional fraction ("1700000000.5")
bool ParseTime(const std::string &s, struct timespec *out) {
  size_t i = 0;
  bool neg = !s.empty() && s[0] == '-';
  if (neg) i++;
  int64_t sec = 0;
  size_t start = i;
  for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++) sec = sec * 10 + (s[i] - '0');
  if (i == start || i - start > 18) return false;
  long nsec = 0;
  if (i < s.size() && s[i] == '.') {
    long scale = 100000000;
    for (i++; i < s.size() && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10) nsec += (s[i] - '0') * scale;
  }
  if (i != s.size()) return false;
  if (neg) {
    sec = -sec;
    if (nsec > 0) {
      sec -= 1;
      nsec = 1000000000 - nsec;
    }
  }
  out->tv_sec = sec;
  out->tv_nsec = nsec;
  return true;
}

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string PercentDecode(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string Base64Decode(const std::string &s) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : s) {
    int v;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    else if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    else if (c >= '0' && c <= '9') v = c - '0' + 52;
    else if (c == '+') v = 62;
    else if (c == '/') v = 63;
    else continue;  // padding, whitespace
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

void SetXattr(std::vector<std::pair<std::string, std::string>> &xs, const std::string &name, const std::string &value) {
  for (auto &x : xs) {
    if (x.first == name) {
      x.second = value;
      return;
    }
  }
  xs.emplace_back(name, value);
}

const char *TypeName(char t) {
  switch (t) {
    case 'S': return "SparseFile";
    case 'D': return "GNUDumpDir";
    case 'M': return "ContinuationFile";
    case 'V': return "TapeVolumeHeader";
    default: return "unknown";
  }
}

}  // namespace

void TarStream::Feed(const char *p, size_t n) {
  while (n > 0 && state_ != State::Done) {
    if (state_ != State::Header) {
      size_t used = ConsumeBody(p, n);
      p += used;
      n -= used;
      continue;
    }
    size_t need = kBlock - pending_.size();
    if (n < need) {
      pending_.append(p, n);
      return;
    }
    if (pending_.empty()) {
      OnHeader(reinterpret_cast<const unsigned char *>(p));
    } else {
      pending_.append(p, need);
      OnHeader(reinterpret_cast<const unsigned char *>(pending_.data()));
      pending_.clear();
    }
    p += need;
    n -= need;
    offset_ += kBlock;
  }
}

void TarStream::Finish() {
  // ending on an entry boundary without the two zero blocks is common and harmless
  if (state_ == State::Done || (state_ == State::Header && pending_.empty())) return;
  throw TarFormatError("archive is truncated", offset_);
}

size_t TarStream::ConsumeBody(const char *p, size_t n) {
  size_t used = 0;
  if (remain_ > 0) {
    size_t k = remain_ < n ? static_cast<size_t>(remain_) : n;
    if (state_ == State::Body) sink_.Data(p, k);
    else if (state_ == State::Meta) meta_.append(p, k);
    remain_ -= k;
    offset_ += k;
    used = k;
    if (remain_ > 0) return used;
    if (state_ == State::Body) sink_.End();
    else if (state_ == State::Meta) FinishMeta();
  }
  size_t k = pad_ < n - used ? static_cast<size_t>(pad_) : n - used;
  pad_ -= k;
  offset_ += k;
  used += k;
  if (pad_ == 0) state_ = State::Header;
  return used;
}

void TarStream::Begin(State s, uint64_t size) {
  state_ = s;
  remain_ = size;
  pad_ = (kBlock - size % kBlock) % kBlock;
  if (size == 0 && pad_ == 0) state_ = State::Header;
}

void TarStream::OnHeader(const unsigned char *b) {
  static const unsigned char kZero[kBlock] = {};
  if (b[0] == 0 && memcmp(b, kZero, kBlock) == 0) {
    if (++zeroBlocks_ >= 2) state_ = State::Done;
    return;
  }
  zeroBlocks_ = 0;
  if (!ChecksumValid(b)) throw TarFormatError("bad header checksum (not a tar stream, or corrupt)", offset_);
  char flag = static_cast<char>(b[156]);
  uint64_t headerSize = Num(b, 124, 12, "size", offset_);

  if (flag == 'x' || flag == 'g' || flag == 'L' || flag == 'K' || flag == 'N') {
    uint64_t size = headerSize;  // its own: a pending PAX size is for the next real entry
    if (size > kMaxMeta) throw TarFormatError("extended header of " + std::to_string(size) + " bytes is too large", offset_);
    metaKind_ = flag == 'x' ? MetaKind::Pax : flag == 'g' ? MetaKind::GlobalPax : flag == 'K' ? MetaKind::LongLink : MetaKind::LongPath;
    meta_.clear();
    Begin(State::Meta, size);
    if (size == 0) FinishMeta();
    return;
  }

  bool ustar = memcmp(b + 257, "ustar\0" "00", 8) == 0;
  bool gnu = memcmp(b + 257, "ustar  \0", 8) == 0;
  std::string name = Field(b, 0, 100);
  if (ustar) {
    // star puts times after a 130-byte prefix; a full 155-byte prefix fills byte 475
    std::string prefix = Field(b, 345, b[475] != 0 ? 155 : 130);
    if (!prefix.empty()) name = prefix + "/" + name;
  }

  uint64_t size = hasPax_ && pax_.hasSize ? pax_.size : headerSize;
  TarEntry e;
  switch (flag) {
    case '0': case '\0': case '7':
      e.type = (flag != '7' && !name.empty() && name.back() == '/') ? TarType::Directory : TarType::File;  // old tars: a dir is a file named with a trailing /
      break;
    case '1': e.type = TarType::Hardlink; break;
    case '2': e.type = TarType::Symlink; break;
    case '3': e.type = TarType::Char; break;
    case '4': e.type = TarType::Block; break;
    case '5': e.type = TarType::Directory; break;
    case '6': e.type = TarType::Fifo; break;
    default:
      throw TarFormatError(std::string("unsupported tar entry type \"") + flag + "\" (" + TypeName(flag) + ") for \"" + name + "\"", offset_);
  }
  const Pax *pax = hasPax_ ? &pax_ : nullptr;
  const Pax &g = globalPax_;
  e.path = hasLongPath_ ? longPath_ : pax && pax->hasPath ? pax->path : g.hasPath ? g.path : name;
  e.linkpath = hasLongLink_ ? longLink_ : pax && pax->hasLink ? pax->linkpath : g.hasLink ? g.linkpath : Field(b, 157, 100);
  e.mode = static_cast<uint32_t>(Num(b, 100, 8, "mode", offset_) & 07777);
  e.uid = pax && pax->hasUid ? pax->uid : g.hasUid ? g.uid : static_cast<uint32_t>(Num(b, 108, 8, "uid", offset_));
  e.gid = pax && pax->hasGid ? pax->gid : g.hasGid ? g.gid : static_cast<uint32_t>(Num(b, 116, 8, "gid", offset_));
  e.size = e.type == TarType::File ? size : 0;
  if (pax && pax->hasMtime) e.mtime = pax->mtime;
  else if (g.hasMtime) e.mtime = g.mtime;
  else e.mtime.tv_sec = static_cast<time_t>(Num(b, 136, 12, "mtime", offset_));
  if (pax && pax->hasAtime) e.atime = pax->atime, e.hasAtime = true;
  else if (g.hasAtime) e.atime = g.atime, e.hasAtime = true;
  if (ustar || gnu) {
    e.devmajor = static_cast<uint32_t>(Num(b, 329, 8, "devmajor", offset_));
    e.devminor = static_cast<uint32_t>(Num(b, 337, 8, "devminor", offset_));
  }
  e.xattrs = g.xattrs;
  if (pax) for (const auto &x : pax->xattrs) SetXattr(e.xattrs, x.first, x.second);

  hasPax_ = false;
  pax_ = Pax();
  hasLongPath_ = hasLongLink_ = false;
  longPath_.clear();
  longLink_.clear();
  sink_.Entry(e);
  if (e.type == TarType::File) {
    Begin(State::Body, size);
    if (size == 0) sink_.End();
  } else {
    Begin(State::Skip, size);
  }
}

void TarStream::FinishMeta() {
  switch (metaKind_) {
    case MetaKind::Pax:
      ParsePax(meta_, pax_);
      hasPax_ = true;
      break;
    case MetaKind::GlobalPax:
      ParsePax(meta_, globalPax_);
      break;
    case MetaKind::LongPath:
    case MetaKind::LongLink: {
      std::string v(meta_.c_str(), strnlen(meta_.data(), meta_.size()));
      if (metaKind_ == MetaKind::LongPath) longPath_ = v, hasLongPath_ = true;
      else longLink_ = v, hasLongLink_ = true;
      break;
    }
  }
  meta_.clear();
}

void TarStream::ParsePax(const std::string &body, Pax &into) const {
  size_t pos = 0;
  while (pos < body.size()) {
    if (body[pos] == '\0') break;  // trailing NUL padding
    size_t space = body.find(' ', pos);
    uint64_t len;
    if (space == std::string::npos || !ParseUint(body.substr(pos, space - pos), &len) || len == 0 || pos + len > body.size() || space + 1 > pos + len - 1) {
      throw TarFormatError("malformed PAX record", offset_);
    }
    std::string rec = body.substr(space + 1, pos + len - 1 - (space + 1));  // without the trailing \n
    size_t eq = rec.find('=');
    if (eq == std::string::npos) throw TarFormatError("PAX record without \"=\"", offset_);
    std::string key = rec.substr(0, eq), value = rec.substr(eq + 1);
    uint64_t n;
    if (key == "path") into.path = value, into.hasPath = true;
    else if (key == "linkpath") into.linkpath = value, into.hasLink = true;
    else if (key == "size" || key == "uid" || key == "gid") {
      if (!ParseUint(value, &n) || (key != "size" && n > UINT32_MAX)) throw TarFormatError("PAX " + key + " \"" + value + "\" is invalid", offset_);
      if (key == "size") into.size = n, into.hasSize = true;
      else if (key == "uid") into.uid = static_cast<uint32_t>(n), into.hasUid = true;
      else into.gid = static_cast<uint32_t>(n), into.hasGid = true;
    } else if (key == "mtime" || key == "atime") {
      struct timespec ts;
      if (!ParseTime(value, &ts)) throw TarFormatError("PAX " + key + " \"" + value + "\" is invalid", offset_);
      if (key == "mtime") into.mtime = ts, into.hasMtime = true;
      else into.atime = ts, into.hasAtime = true;
    } else if (key.rfind("SCHILY.xattr.", 0) == 0) {
      SetXattr(into.xattrs, key.substr(13), value);
    } else if (key.rfind("LIBARCHIVE.xattr.", 0) == 0) {
      SetXattr(into.xattrs, PercentDecode(key.substr(17)), Base64Decode(value));
    }
    pos += len;
  }
}
