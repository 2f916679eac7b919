// See decompress.h.
#include "decompress.h"

#include <cerrno>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "layer_apply.h"

size_t ReadFull(int fd, char *buf, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t k = read(fd, buf + got, n - got);
    if (k == 0) break;
    if (k < 0) {
      if (errno == EINTR) continue;
      throw SysError("read", "layer blob", errno);
    }
    got += static_cast<size_t>(k);
  }
  return got;
}

namespace {

// The output side: one chunk filled at a time, handed on when full.
class Output {
 public:
  Output(size_t size, const std::function<void(ByteChunk)> &emit) : size_(size), emit_(emit) { Fresh(); }
  char *Next() { return chunk_->data() + used_; }
  size_t Room() const { return size_ - used_; }
  void Advance(size_t n) {
    used_ += n;
    if (used_ == size_) Flush();
  }
  void Flush() {
    chunk_->resize(used_);
    if (used_ > 0) emit_(std::move(chunk_));
    Fresh();
  }

 private:
  void Fresh() {
    chunk_ = std::make_shared<std::vector<char>>(size_);
    used_ = 0;
  }
  const size_t size_;
  const std::function<void(ByteChunk)> &emit_;
  ByteChunk chunk_;
  size_t used_ = 0;
};

void Gunzip(int fd, std::vector<char> &in, Output &out, const std::function<bool()> &stop) {
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK) throw std::runtime_error("gzip: inflateInit failed");
  int rc = Z_OK;
  bool trailing = false;  // bytes after the last member that are not another member: ignored, as Node's gunzip does
  try {
    while (!trailing && !stop()) {
      size_t k = ReadFull(fd, in.data(), in.size());
      if (k == 0) break;
      z.next_in = reinterpret_cast<Bytef *>(in.data());
      z.avail_in = static_cast<uInt>(k);
      while (z.avail_in > 0) {
        if (rc == Z_STREAM_END) {  // another member follows (gzip -d reads them all)
          if (z.next_in[0] != 0x1f) {
            trailing = true;
            break;
          }
          inflateReset(&z);
        }
        size_t room = out.Room();
        z.next_out = reinterpret_cast<Bytef *>(out.Next());
        z.avail_out = static_cast<uInt>(room);
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) throw std::runtime_error(std::string("gzip: ") + (z.msg ? z.msg : "corrupt data"));
        out.Advance(room - z.avail_out);
      }
    }
    if (rc != Z_STREAM_END && !stop()) throw std::runtime_error("gzip: unexpected end of file");
  } catch (...) {
    inflateEnd(&z);
    throw;
  }
  inflateEnd(&z);
}

void Unzstd(int fd, std::vector<char> &in, Output &out, const std::function<bool()> &stop) {
  std::unique_ptr<ZSTD_DStream, size_t (*)(ZSTD_DStream *)> ds(ZSTD_createDStream(), ZSTD_freeDStream);
  if (!ds) throw std::runtime_error("zstd: out of memory");
  size_t last = 1;  // 0 once a frame is complete
  while (!stop()) {
    size_t k = ReadFull(fd, in.data(), in.size());
    if (k == 0) break;
    ZSTD_inBuffer ib{in.data(), k, 0};
    while (ib.pos < ib.size) {
      ZSTD_outBuffer ob{out.Next(), out.Room(), 0};
      last = ZSTD_decompressStream(ds.get(), &ob, &ib);
      if (ZSTD_isError(last)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(last));
      out.Advance(ob.pos);
    }
  }
  // the decoder may still hold output for a frame whose input is all read
  while (last != 0 && !stop()) {
    ZSTD_inBuffer ib{nullptr, 0, 0};
    ZSTD_outBuffer ob{out.Next(), out.Room(), 0};
    last = ZSTD_decompressStream(ds.get(), &ob, &ib);
    if (ZSTD_isError(last)) throw std::runtime_error(std::string("zstd: ") + ZSTD_getErrorName(last));
    if (ob.pos == 0) break;
    out.Advance(ob.pos);
  }
  if (last != 0 && !stop()) throw std::runtime_error("zstd: unexpected end of file");
}

}  // namespace

void DecompressFd(int fd, Codec codec, size_t chunkSize, const std::function<void(ByteChunk)> &emit, const std::function<bool()> &stop) {
  std::vector<char> in(chunkSize);
  Output out(chunkSize, emit);
  if (codec == Codec::Gzip) Gunzip(fd, in, out, stop);
  else if (codec == Codec::Zstd) Unzstd(fd, in, out, stop);
  else throw std::logic_error("DecompressFd: no codec");
  if (!stop()) out.Flush();
}
