// LayerUnpacker: the uncompressed bytes of a layer go in from JS (write),
// or are read from the blob's fd (decompressed on a thread of their own,
// see decompress.h). One thread
// frames the tar and applies its entries (tar_stream, layer_apply), another
// hashes the same bytes for the diffID (OpenSSL's, as linked into Node), so
// reading/decompression, framing + syscalls and hashing run side by side.
#include <napi.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "decompress.h"
#include "fsops.h"
#include "layer_apply.h"
#include "tar_stream.h"

namespace {

using Chunk = std::shared_ptr<const std::vector<char>>;

// A bounded queue of chunks for one consumer thread.
class ChunkQueue {
 public:
  // blocks while kMaxBytes are queued
  void Push(Chunk c) {
    std::unique_lock<std::mutex> lk(mu_);
    space_.wait(lk, [this] { return bytes_ < kMaxBytes || cancelled_; });
    if (cancelled_) return;
    bytes_ += c->size();
    q_.push_back(std::move(c));
    data_.notify_one();
  }
  // the next chunk, or null once closed and empty (or cancelled)
  Chunk Pop() {
    std::unique_lock<std::mutex> lk(mu_);
    data_.wait(lk, [this] { return !q_.empty() || closed_ || cancelled_; });
    if (cancelled_ || q_.empty()) return nullptr;
    Chunk c = std::move(q_.front());
    q_.pop_front();
    bytes_ -= c->size();
    space_.notify_all();
    return c;
  }
  void Close() {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    data_.notify_all();
  }
  void Cancel() {
    std::lock_guard<std::mutex> lk(mu_);
    cancelled_ = true;
    q_.clear();
    bytes_ = 0;
    data_.notify_all();
    space_.notify_all();
  }
  bool Cancelled() {
    std::lock_guard<std::mutex> lk(mu_);
    return cancelled_;
  }

 private:
  static const size_t kMaxBytes = 32u << 20;
  std::mutex mu_;
  std::condition_variable data_, space_;
  std::deque<Chunk> q_;
  size_t bytes_ = 0;
  bool closed_ = false, cancelled_ = false;
};

class LayerUnpacker : public Napi::ObjectWrap<LayerUnpacker> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "LayerUnpacker", {
      InstanceMethod("write", &LayerUnpacker::Write),
      InstanceMethod("finish", &LayerUnpacker::Finish),
      InstanceMethod("done", &LayerUnpacker::Done),
      InstanceMethod("abort", &LayerUnpacker::Abort),
    });
  }

  // new LayerUnpacker(root, applyWhiteouts[, fd, compression]): with an fd (ours
  // to close) the bytes are read from it, and done() waits for the end
  explicit LayerUnpacker(const Napi::CallbackInfo &info) : Napi::ObjectWrap<LayerUnpacker>(info) {
    std::string root = info[0].As<Napi::String>();
    if (info.Length() > 2) {
      inputFd_ = info[2].As<Napi::Number>().Int32Value();
      std::string c = info[3].As<Napi::String>();
      codec_ = c == "gzip" ? Codec::Gzip : c == "zstd" ? Codec::Zstd : Codec::None;
    }
    try {
      applier_ = std::make_unique<LayerApplier>(root, info[1].As<Napi::Boolean>().Value());
    } catch (...) {
      if (inputFd_ >= 0) close(inputFd_);  // ours from the start, even when we fail
      inputFd_ = -1;
      ToJs(info.Env(), std::current_exception()).ThrowAsJavaScriptException();
      return;
    }
    stream_ = std::make_unique<TarStream>(*applier_);
    ctx_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
    hashThread_ = std::thread([this] {
      pthread_setname_np(pthread_self(), "podrun-hash");
      while (Chunk c = hashQ_.Pop()) EVP_DigestUpdate(ctx_, c->data(), c->size());
    });
    applyThread_ = std::thread([this] { ApplyLoop(); });
    if (inputFd_ >= 0 && codec_ != Codec::None) readThread_ = std::thread([this] { DecompressLoop(); });
  }

  ~LayerUnpacker() override {
    if (waiter_.joinable()) waiter_.join();  // settled before we could be collected: it is past its last use of us
    Stop(true);
    if (ctx_) EVP_MD_CTX_free(ctx_);
    if (inputFd_ >= 0) close(inputFd_);
  }

 private:
  void Push(Chunk c) {
    hashQ_.Push(c);
    applyQ_.Push(std::move(c));
  }

  // decompresses the fd into chunks for both queues; its failure is the unpack's
  void DecompressLoop() {
    pthread_setname_np(pthread_self(), "podrun-unzip");
    try {
      DecompressFd(inputFd_, codec_, kChunk, [this](ByteChunk c) { Push(std::move(c)); },
                   [this] { return failed_.load(std::memory_order_acquire) || applyQ_.Cancelled(); });
    } catch (...) {
      Fail(std::current_exception());
    }
    applyQ_.Close();
    hashQ_.Close();
  }

  // an uncompressed fd: read on the applying thread itself, so the bytes
  // are still in this core's cache when written out
  void ReadAndApply() {
    try {
      while (!failed_.load(std::memory_order_acquire) && !hashQ_.Cancelled()) {
        auto buf = std::make_shared<std::vector<char>>(kChunk);
        size_t k = ReadFull(inputFd_, buf->data(), buf->size());
        if (k == 0) break;
        buf->resize(k);
        hashQ_.Push(buf);
        if (!stream_->Done()) stream_->Feed(buf->data(), buf->size());
      }
    } catch (...) {
      Fail(std::current_exception());
    }
    if (!hashQ_.Cancelled()) EndOfInput();
    hashQ_.Close();
  }

  void ApplyLoop() {
    pthread_setname_np(pthread_self(), "podrun-apply");
    if (inputFd_ >= 0 && codec_ == Codec::None) return ReadAndApply();
    while (Chunk c = applyQ_.Pop()) {
      if (failed_.load(std::memory_order_acquire) || stream_->Done()) continue;  // keep draining: write() must never wait on us
      try {
        stream_->Feed(c->data(), c->size());
      } catch (...) {
        Fail(std::current_exception());
      }
    }
    if (!applyQ_.Cancelled()) EndOfInput();
  }

  // all the input was read: a cut archive fails now, directory times are set last
  void EndOfInput() {
    if (failed_.load(std::memory_order_acquire)) return;
    try {
      stream_->Finish();
      applier_->Finish();
    } catch (...) {
      Fail(std::current_exception());
    }
  }

  // from any of our threads; the first failure is the one reported, and
  // error_ never changes once failed_ says it is there
  void Fail(std::exception_ptr e) {
    std::lock_guard<std::mutex> lk(errorMu_);
    if (failed_.load(std::memory_order_relaxed)) return;
    error_ = e;
    failed_.store(true, std::memory_order_release);
  }

  // write(chunk): copies it; throws what already failed
  Napi::Value Write(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (stopped_ || inputFd_ >= 0) {
      Napi::Error::New(env, "LayerUnpacker: write() feeds an unpacker without an fd, until finish()").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    if (failed_.load(std::memory_order_acquire)) {
      ToJs(env, error_).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Buffer<char> b = info[0].As<Napi::Buffer<char>>();
    Push(std::make_shared<const std::vector<char>>(b.Data(), b.Data() + b.Length()));
    return env.Undefined();
  }

  // finish() -> { diffId, stats }: after the last write, waits for the rest; throws a failure
  Napi::Value Finish(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (stopped_ || inputFd_ >= 0) {
      Napi::Error::New(env, "LayerUnpacker: finish() ends a written stream, once").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    stopped_ = true;
    Join(false);
    if (failed_.load(std::memory_order_acquire)) {
      ToJs(env, error_).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Result(env);
  }

  // done() -> Promise<{ diffId, stats }>: the end of an fd's input. A thread
  // of ours waits for the others, then settles the promise on the JS thread
  // (not a libuv pool thread: three layers unpacking would hold three of its four).
  Napi::Value Done(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    if (stopped_ || inputFd_ < 0) {
      Napi::Error::New(env, "LayerUnpacker: done() waits for an fd's input, once").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    stopped_ = true;
    deferred_ = std::make_unique<Napi::Promise::Deferred>(Napi::Promise::Deferred::New(env));
    self_ = Napi::Persistent(info.This().As<Napi::Object>());  // alive until settled
    Napi::ThreadSafeFunction tsfn = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo &) {}), "podrun-unpack-done", 0, 1);
    waiter_ = std::thread([this, tsfn]() mutable {
      Join(false);
      tsfn.BlockingCall([this](Napi::Env e, Napi::Function) { Settle(e); });
      tsfn.Release();
    });
    return deferred_->Promise();
  }

  // on the JS thread, once every thread is done
  void Settle(Napi::Env env) {
    if (failed_.load(std::memory_order_acquire)) deferred_->Reject(ToJs(env, error_).Value());
    else deferred_->Resolve(Result(env));
    self_.Reset();  // the waiter is joined by the destructor
  }

  Napi::Value Result(Napi::Env env) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(ctx_, md, &len);
    std::string digest = "sha256:" + HexOf(md, len);
    const LayerStats &s = applier_->Stats();
    Napi::Object stats = Napi::Object::New(env);
    stats.Set("entries", Napi::Number::New(env, static_cast<double>(s.entries)));
    stats.Set("files", Napi::Number::New(env, static_cast<double>(s.files)));
    stats.Set("bytes", Napi::Number::New(env, static_cast<double>(s.bytes)));
    stats.Set("whiteouts", Napi::Number::New(env, static_cast<double>(s.whiteouts)));
    stats.Set("droppedXattrs", Napi::Number::New(env, static_cast<double>(s.droppedXattrs)));
    stats.Set("unmappedOwners", Napi::Number::New(env, static_cast<double>(s.unmappedOwners)));
    stats.Set("skippedDevices", Napi::Number::New(env, static_cast<double>(s.skippedDevices)));
    Napi::Object out = Napi::Object::New(env);
    out.Set("diffId", digest);
    out.Set("stats", stats);
    return out;
  }

  // abort(): stop both threads, dropping what is queued (the caller removes the tree)
  Napi::Value Abort(const Napi::CallbackInfo &info) {
    Stop(true);
    return info.Env().Undefined();
  }

  // abort, or the destructor: stop everything, dropping what is queued
  void Stop(bool cancel) {
    if (stopped_ || !applier_) return;
    stopped_ = true;
    Join(cancel);
  }

  // any thread: wait for the threads (cancelling them first, or letting the input end)
  void Join(bool cancel) {
    if (cancel) {
      applyQ_.Cancel();
      hashQ_.Cancel();
    } else if (inputFd_ < 0) {
      applyQ_.Close();  // the last write() was the end
      hashQ_.Close();
    }
    if (readThread_.joinable()) readThread_.join();  // with an fd, the reading thread closes the queues at its end
    applyThread_.join();
    hashThread_.join();
  }

  static Napi::Error ToJs(Napi::Env env, std::exception_ptr ep) {
    try {
      std::rethrow_exception(ep);
    } catch (const UnsafePathError &e) {
      Napi::Error err = Napi::Error::New(env, e.what());
      err.Set("kind", "unsafe");
      err.Set("entry", e.entry);
      return err;
    } catch (const TarFormatError &e) {
      Napi::Error err = Napi::Error::New(env, e.what());
      err.Set("kind", "format");
      err.Set("offset", Napi::Number::New(env, static_cast<double>(e.offset)));
      return err;
    } catch (const SysError &e) {
      Napi::Error err = Napi::Error::New(env, e.what());
      err.Set("kind", "sys");
      err.Set("code", strerrorname_np(e.err) ? strerrorname_np(e.err) : "EIO");
      err.Set("errno", Napi::Number::New(env, -e.err));
      err.Set("syscall", e.syscall);
      err.Set("path", e.path);
      return err;
    } catch (const std::exception &e) {
      return Napi::Error::New(env, e.what());
    } catch (...) {
      return Napi::Error::New(env, "layer unpack failed");
    }
  }

  std::unique_ptr<LayerApplier> applier_;
  std::unique_ptr<TarStream> stream_;
  EVP_MD_CTX *ctx_ = nullptr;
  ChunkQueue applyQ_, hashQ_;
  static const size_t kChunk = 256u << 10;
  int inputFd_ = -1;
  Codec codec_ = Codec::None;
  std::thread applyThread_, hashThread_, readThread_, waiter_;
  std::unique_ptr<Napi::Promise::Deferred> deferred_;
  Napi::ObjectReference self_;
  std::atomic<bool> failed_{false};
  std::mutex errorMu_;
  std::exception_ptr error_;
  bool stopped_ = false;  // JS thread only: finish/done/abort happened
};

}  // namespace

void InitLayerUnpacker(Napi::Env env, Napi::Object exports) {
  exports.Set("LayerUnpacker", LayerUnpacker::Define(env));
}
