// FileQueue: writes small files of a layer on its own thread, so the
// syscalls of one file overlap the parsing and hashing of the next (the JS
// thread) — GNU tar gets the same overlap from its separate gzip process.
// JS resolves every path (safely) before enqueueing; anything that changes
// existing entries first calls drain(), which blocks until the queue is
// empty and rethrows the first failure.
#include <napi.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fcntl.h>
#include <mutex>
#include <string>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>
#include <vector>

#include "fsops.h"

namespace {

struct Item {
  std::string dir;
  std::string name;
  std::vector<char> data;
  mode_t mode;
  uid_t uid;
  gid_t gid;
  struct timespec mtime;
  bool chown;
};

const size_t kMaxQueuedBytes = 16u << 20;

class FileQueue : public Napi::ObjectWrap<FileQueue> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "FileQueue", {
      InstanceMethod("enqueue", &FileQueue::Enqueue),
      InstanceMethod("drain", &FileQueue::Drain),
      InstanceMethod("close", &FileQueue::Close),
    });
  }

  explicit FileQueue(const Napi::CallbackInfo &info) : Napi::ObjectWrap<FileQueue>(info) {
    thread_ = std::thread([this] { Run(); });
  }

  ~FileQueue() override { Stop(); }

 private:
  // enqueue(dir, name, data, mode, uid, gid, mtimeSec, mtimeNsec, chown)
  Napi::Value Enqueue(const Napi::CallbackInfo &info) {
    Napi::Env env = info.Env();
    Item it;
    it.dir = info[0].As<Napi::String>();
    it.name = info[1].As<Napi::String>();
    Napi::Buffer<char> data = info[2].As<Napi::Buffer<char>>();
    it.data.assign(data.Data(), data.Data() + data.Length());
    it.mode = info[3].As<Napi::Number>().Uint32Value();
    it.uid = info[4].As<Napi::Number>().Uint32Value();
    it.gid = info[5].As<Napi::Number>().Uint32Value();
    it.mtime.tv_sec = info[6].As<Napi::Number>().Int64Value();
    it.mtime.tv_nsec = info[7].As<Napi::Number>().Int64Value();
    it.chown = info[8].As<Napi::Boolean>().Value();
    std::unique_lock<std::mutex> lk(mu_);
    space_.wait(lk, [this] { return bytes_ < kMaxQueuedBytes || err_ != 0; });
    if (err_ != 0) return Throw(env, lk);
    bytes_ += it.data.size();
    queue_.push_back(std::move(it));
    work_.notify_one();
    return env.Undefined();
  }

  Napi::Value Drain(const Napi::CallbackInfo &info) {
    std::unique_lock<std::mutex> lk(mu_);
    idle_.wait(lk, [this] { return (queue_.empty() && !busy_) || err_ != 0; });
    if (err_ != 0) return Throw(info.Env(), lk);
    return info.Env().Undefined();
  }

  Napi::Value Close(const Napi::CallbackInfo &info) {
    Stop();
    return info.Env().Undefined();
  }

  Napi::Value Throw(Napi::Env env, std::unique_lock<std::mutex> &lk) {
    int e = err_;
    std::string msg = std::string(strerrorname_np(e) ? strerrorname_np(e) : "errno") + ": " + strerror(e) + ", " + errStep_ + " '" + errPath_ + "'";
    std::string code = strerrorname_np(e) ? strerrorname_np(e) : "EIO";
    std::string path = errPath_;
    lk.unlock();
    Napi::Error err = Napi::Error::New(env, msg);
    err.Set("code", Napi::String::New(env, code));
    err.Set("path", Napi::String::New(env, path));
    err.ThrowAsJavaScriptException();
    return env.Undefined();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      if (stopped_) return;
      stopped_ = true;
      work_.notify_all();
    }
    thread_.join();
    if (dirfd_ >= 0) close(dirfd_);
    dirfd_ = -1;
  }

  void Run() {
    for (;;) {
      Item it;
      bool failed;
      {
        std::unique_lock<std::mutex> lk(mu_);
        work_.wait(lk, [this] { return !queue_.empty() || stopped_; });
        if (queue_.empty()) return;  // stopped and drained
        it = std::move(queue_.front());
        queue_.pop_front();
        bytes_ -= it.data.size();
        busy_ = true;
        failed = err_ != 0;
        space_.notify_all();
      }
      const char *step = failed ? nullptr : Write(it);  // after a failure, drop the rest
      {
        std::lock_guard<std::mutex> lk(mu_);
        if (step && err_ == 0) {
          err_ = errno;
          errStep_ = step;
          errPath_ = it.dir + "/" + it.name;
          space_.notify_all();
        }
        busy_ = false;
        if (queue_.empty()) idle_.notify_all();
      }
    }
  }

  const char *Write(const Item &it) {
    if (it.dir != dirPath_) {
      if (dirfd_ >= 0) close(dirfd_);
      dirfd_ = open(it.dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      dirPath_ = dirfd_ >= 0 ? it.dir : "";
      if (dirfd_ < 0) return "open";
    }
    return write_new_file_at(dirfd_, it.name.c_str(), it.data.data(), it.data.size(), it.mode, it.uid, it.gid, it.mtime, it.chown);
  }

  std::mutex mu_;
  std::condition_variable work_, space_, idle_;
  std::deque<Item> queue_;
  size_t bytes_ = 0;
  bool busy_ = false;
  bool stopped_ = false;
  int err_ = 0;
  std::string errStep_, errPath_;
  std::thread thread_;
  // owned by the worker thread
  int dirfd_ = -1;
  std::string dirPath_;
};

}  // namespace

void InitFileQueue(Napi::Env env, Napi::Object exports) {
  exports.Set("FileQueue", FileQueue::Define(env));
}
