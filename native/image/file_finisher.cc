// See file_finisher.h.
#include "file_finisher.h"

#include <cerrno>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "layer_apply.h"

void FinishFile(const FinishItem &f) {
  const char *step = nullptr;
  int err = 0;
  if (f.chown && fchown(f.fd, f.uid, f.gid) < 0) step = "fchown";
  else if (f.chmod && fchmod(f.fd, f.mode) < 0) step = "fchmod";
  for (size_t i = 0; !step && i < f.xattrs.size(); i++) {
    if (fsetxattr(f.fd, f.xattrs[i].first.c_str(), f.xattrs[i].second.data(), f.xattrs[i].second.size(), 0) < 0) step = "fsetxattr";
  }
  if (!step && futimens(f.fd, f.times) < 0) step = "futimens";
  if (step) err = errno;
  if (close(f.fd) < 0 && !step) step = "close", err = errno;
  if (step) throw SysError(step, f.path, err);
}

FileFinisher::FileFinisher() : thread_([this] { Run(); }) {}

FileFinisher::~FileFinisher() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopped_ = true;
    work_.notify_all();
  }
  if (!joined_) thread_.join();
  for (const FinishItem &f : q_) close(f.fd);
}

void FileFinisher::Push(FinishItem item) {
  std::unique_lock<std::mutex> lk(mu_);
  space_.wait(lk, [this] { return q_.size() < kMaxQueued || error_; });
  if (error_) {
    close(item.fd);
    std::rethrow_exception(error_);
  }
  q_.push_back(std::move(item));
  if (q_.size() >= kBatch) work_.notify_one();  // a wake-up per file would cost more than it saves
}

void FileFinisher::Drain() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stopped_ = true;
    work_.notify_all();
  }
  if (!joined_) thread_.join();
  joined_ = true;
  if (error_) std::rethrow_exception(error_);
}

void FileFinisher::Run() {
  pthread_setname_np(pthread_self(), "podrun-finish");
  for (;;) {
    std::deque<FinishItem> batch;
    {
      std::unique_lock<std::mutex> lk(mu_);
      work_.wait(lk, [this] { return q_.size() >= kBatch || stopped_; });  // a batch, or the end
      if (q_.empty()) return;
      batch.swap(q_);
      space_.notify_all();
    }
    for (const FinishItem &f : batch) {
      try {
        FinishFile(f);
      } catch (...) {
        std::lock_guard<std::mutex> lk(mu_);
        if (!error_) error_ = std::current_exception();
        space_.notify_all();
      }
    }
  }
}
