// HashThread: sha256 of a stream computed on its own thread (OpenSSL's, as
// linked into Node), so hashing a layer's uncompressed bytes for its diffID
// does not hold up the JS thread that parses and applies the entries.
#include <napi.h>
#include <openssl/evp.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fsops.h"

namespace {

const size_t kMaxQueuedBytes = 32u << 20;

class HashThread : public Napi::ObjectWrap<HashThread> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "HashThread", {
      InstanceMethod("update", &HashThread::Update),
      InstanceMethod("digest", &HashThread::Digest),
    });
  }

  explicit HashThread(const Napi::CallbackInfo &info) : Napi::ObjectWrap<HashThread>(info) {
    ctx_ = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr);
    thread_ = std::thread([this] { Run(); });
  }

  ~HashThread() override {
    Finish();
    EVP_MD_CTX_free(ctx_);
  }

 private:
  Napi::Value Update(const Napi::CallbackInfo &info) {
    Napi::Buffer<char> b = info[0].As<Napi::Buffer<char>>();
    std::vector<char> chunk(b.Data(), b.Data() + b.Length());
    std::unique_lock<std::mutex> lk(mu_);
    space_.wait(lk, [this] { return bytes_ < kMaxQueuedBytes; });
    bytes_ += chunk.size();
    queue_.push_back(std::move(chunk));
    work_.notify_one();
    return info.Env().Undefined();
  }

  // digest() -> "sha256:<hex>"; blocks until every update is hashed
  Napi::Value Digest(const Napi::CallbackInfo &info) {
    Finish();
    static const char *hex = "0123456789abcdef";
    std::string out = "sha256:";
    for (unsigned i = 0; i < mdLen_; i++) {
      out += hex[md_[i] >> 4];
      out += hex[md_[i] & 15];
    }
    return Napi::String::New(info.Env(), out);
  }

  void Finish() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopped_) return;
      stopped_ = true;
      work_.notify_all();
    }
    thread_.join();
    EVP_DigestFinal_ex(ctx_, md_, &mdLen_);
  }

  void Run() {
    for (;;) {
      std::vector<char> chunk;
      {
        std::unique_lock<std::mutex> lk(mu_);
        work_.wait(lk, [this] { return !queue_.empty() || stopped_; });
        if (queue_.empty()) return;
        chunk = std::move(queue_.front());
        queue_.pop_front();
        bytes_ -= chunk.size();
        space_.notify_all();
      }
      EVP_DigestUpdate(ctx_, chunk.data(), chunk.size());
    }
  }

  EVP_MD_CTX *ctx_;
  unsigned char md_[EVP_MAX_MD_SIZE];
  unsigned mdLen_ = 0;
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<std::vector<char>> queue_;
  size_t bytes_ = 0;
  bool stopped_ = false;
  std::thread thread_;
};

}  // namespace

void InitHashThread(Napi::Env env, Napi::Object exports) {
  exports.Set("HashThread", HashThread::Define(env));
}
