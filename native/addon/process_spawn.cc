// spawnFile: start a program without fork()ing Node. libuv forks, which copies the
// page tables of the whole Node process: 6 ms for a small one, 15 ms and more for a
// CRI server or a test runner with a large heap, with the event loop stopped the
// whole time. A CLONE_VM|CLONE_VFORK child (what posix_spawn does) costs the same
// whatever the heap. Not glibc's posix_spawn itself: it leaves glibc's internal
// signals (32, 33) ignored across exec and keeps any fd someone forgot to mark
// close-on-exec; this child resets every signal and closes every fd it was not given.
// The caller waits through the pidfd clone returns (waitExit).
#include "process_spawn.h"

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <sched.h>
#include <string>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif

extern char **environ;

namespace {

// the kernel's layout, not glibc's struct sigaction
struct KernelSigaction {
  void (*handler)(int);
  unsigned long flags;
  void (*restorer)(void);
  uint64_t mask;
};

struct ChildArgs {
  const char *file;
  char *const *argv;
  char *const *envp;
  const int *fds;  // fds[i] becomes fd i; each a close-on-exec copy numbered above every target
  int nfds;
  bool setsid;
  int err;  // written by the child when it cannot exec (it shares our memory until then)
};

// Runs on its own stack in our address space, every signal blocked, until execve: raw
// system calls only (no locks, no allocation, no handler of ours can run).
int ChildMain(void *p) {
  auto *a = static_cast<ChildArgs *>(p);
  KernelSigaction dfl = {SIG_DFL, 0, nullptr, 0};
  for (int sig = 1; sig < 65; sig++) {
    if (sig != SIGKILL && sig != SIGSTOP) syscall(SYS_rt_sigaction, sig, &dfl, nullptr, sizeof dfl.mask);
  }
  if (a->setsid && syscall(SYS_setsid) < 0) goto fail;
  for (int i = 0; i < a->nfds; i++) {
    if (syscall(SYS_dup2, a->fds[i], i) < 0) goto fail;  // the copy is another number: dup2 clears close-on-exec
  }
  if (syscall(SYS_close_range, a->nfds, ~0U, 0) < 0) goto fail;
  {
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, nullptr, sizeof none);
  }
  syscall(SYS_execve, a->file, a->argv, a->envp);
fail:
  a->err = errno ? errno : EIO;
  syscall(SYS_exit, 127);
  return 127;
}

Napi::Error ErrnoError(Napi::Env env, const std::string &syscall, int err, const std::string &path = "") {
  const char *name = strerrorname_np(err);
  std::string msg = syscall + " " + (path.empty() ? "" : path + " ") + "failed: " + strerror(err);
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, name ? name : "EIO"));
  e.Set("errno", Napi::Number::New(env, -err));
  e.Set("syscall", Napi::String::New(env, syscall));
  if (!path.empty()) e.Set("path", Napi::String::New(env, path));
  return e;
}

std::vector<std::string> Strings(const Napi::Array &a) {
  std::vector<std::string> out;
  for (uint32_t i = 0; i < a.Length(); i++) out.push_back(a.Get(i).As<Napi::String>().Utf8Value());
  return out;
}

std::vector<char *> Pointers(std::vector<std::string> &v) {
  std::vector<char *> out;
  for (auto &s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

// spawnFile(file, argv, env | null, fds, setsid) -> { pid, pidfd }: fds[i] becomes the
// child's fd i; it gets no other fd of ours.
Napi::Value SpawnFile(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string file = info[0].As<Napi::String>().Utf8Value();
  std::vector<std::string> argv = Strings(info[1].As<Napi::Array>());
  bool ownEnv = info[2].IsArray();
  std::vector<std::string> envv = ownEnv ? Strings(info[2].As<Napi::Array>()) : std::vector<std::string>();
  Napi::Array fdArray = info[3].As<Napi::Array>();
  bool setsid = info[4].ToBoolean();

  // each source is first copied above every target: dup2 onto the same number would keep
  // close-on-exec, and one target may be another's source
  std::vector<int> copies;
  auto closeCopies = [&copies]() {
    for (int fd : copies) close(fd);
  };
  for (uint32_t i = 0; i < fdArray.Length(); i++) {
    int src = fdArray.Get(i).As<Napi::Number>().Int32Value();
    int copy = fcntl(src, F_DUPFD_CLOEXEC, static_cast<int>(fdArray.Length()) + 3);
    if (copy < 0) {
      int e = errno;
      closeCopies();
      ErrnoError(env, "fcntl", e).ThrowAsJavaScriptException();
      return env.Undefined();
    }
    copies.push_back(copy);
  }
  std::vector<char *> argp = Pointers(argv);
  std::vector<char *> envp = Pointers(envv);
  ChildArgs args = {file.c_str(), argp.data(), ownEnv ? envp.data() : environ, copies.data(), static_cast<int>(copies.size()), setsid, 0};
  const size_t stackSize = 64 * 1024;
  void *stack = mmap(nullptr, stackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (stack == MAP_FAILED) {
    int e = errno;
    closeCopies();
    ErrnoError(env, "mmap", e).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // every signal blocked (glibc's internal ones too) while the child shares our memory
  uint64_t all = ~0ULL, old = 0;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &all, &old, sizeof all);
  int pidfd = -1;
  pid_t pid = clone(ChildMain, static_cast<char *>(stack) + stackSize, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &args, &pidfd);
  int cloneErr = errno;
  syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, nullptr, sizeof old);
  munmap(stack, stackSize);
  closeCopies();
  if (pid < 0) {
    ErrnoError(env, "clone", cloneErr, file).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (args.err) {  // it exited without exec: reap it here, nobody else will
    close(pidfd);
    waitpid(pid, nullptr, 0);
    ErrnoError(env, "spawn", args.err, file).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, pid));
  out.Set("pidfd", Napi::Number::New(env, pidfd));
  return out;
}

// socketPair() -> [ours, the child's], both close-on-exec: what libuv gives a child's 'pipe'
// stdio, so programs see the same kind of fd either way
Napi::Value SocketPair(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) < 0) {
    ErrnoError(env, "socketpair", errno).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Array out = Napi::Array::New(env, 2);
  out.Set(0u, Napi::Number::New(env, fds[0]));
  out.Set(1u, Napi::Number::New(env, fds[1]));
  return out;
}

}  // namespace

void InitSpawn(Napi::Env env, Napi::Object exports) {
  exports.Set("spawnFile", Napi::Function::New(env, SpawnFile));
  exports.Set("socketPair", Napi::Function::New(env, SocketPair));
}
