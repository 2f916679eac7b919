// FileFinisher: the last syscalls of each unpacked file (owner, mode,
// xattrs, times, close) run on their own thread, so they overlap the
// creating and writing of the next files. Only the file's fd is touched,
// so nothing the applier does to paths later can race with it.
#pragma once
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>
#include <time.h>
#include <sys/types.h>

struct FinishItem {
  int fd;
  uid_t uid;
  gid_t gid;
  mode_t mode;
  bool chown;  // the owner differs from the one it was created with
  bool chmod;  // the mode was not set at creation, or chown will clear setuid/setgid
  struct timespec times[2];
  std::vector<std::pair<std::string, std::string>> xattrs;
  std::string path;  // for messages
};

class FileFinisher {
 public:
  FileFinisher();
  ~FileFinisher();
  // queue a file (its fd is ours now); blocks while kMaxQueued wait;
  // throws an earlier failure
  void Push(FinishItem item);
  // wait until every queued file is finished, stop the thread; throws the first failure
  void Drain();

 private:
  void Run();
  static const size_t kBatch = 64;
  static const size_t kMaxQueued = 256;  // each holds an open fd
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<FinishItem> q_;
  bool stopped_ = false, joined_ = false;
  std::exception_ptr error_;
  std::thread thread_;
};

// Owner, mode (after the owner: chown clears setuid) when needed, xattrs (after the owner:
// chown clears security.capability), times, close; throws SysError.
void FinishFile(const FinishItem &f);
