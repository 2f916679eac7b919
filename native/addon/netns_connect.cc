// connectInNetns(netnsPath, address, port) -> Promise<fd>: a TCP connection
// made inside another network namespace (a pod's), handed to Node as a
// connected socket fd (wrapped with `new net.Socket({ fd })`). A socket keeps
// the namespace it was created in, so only its creation needs to be there.
//
// Why a thread of its own: setns(CLONE_NEWNET) moves the calling thread only.
// A short-lived thread enters the pod's namespace, connects and ends, so no
// thread of Node's pool is ever left in a pod's namespace, even if a step fails
// half-way (there is nothing to restore).
#include "netns_connect.h"

#include <arpa/inet.h>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <string>
#include <sys/socket.h>
#include <sys/time.h>
#include <thread>
#include <unistd.h>

namespace {

struct Target {
  std::string netns;
  std::string address;
  int port = 0;
};

struct Outcome {
  int fd = -1;
  int err = 0;
  const char *step = "";
};

Outcome ConnectIn(const Target &t) {
  Outcome o;
  sockaddr_storage sa{};
  socklen_t len = 0;
  auto *v4 = reinterpret_cast<sockaddr_in *>(&sa);
  auto *v6 = reinterpret_cast<sockaddr_in6 *>(&sa);
  if (inet_pton(AF_INET, t.address.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(t.port));
    len = sizeof *v4;
  } else if (inet_pton(AF_INET6, t.address.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(t.port));
    len = sizeof *v6;
  } else {
    o.err = EINVAL;
    o.step = "address";
    return o;
  }
  int ns = open(t.netns.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
    o.err = errno;
    o.step = "setns";
    if (ns >= 0) close(ns);
    return o;
  }
  close(ns);
  int fd = socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    o.err = errno;
    o.step = "socket";
    return o;
  }
  // an address that drops SYNs must not hold the caller for the kernel's ~2 minutes
  timeval timeout{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  int rc;
  do rc = connect(fd, reinterpret_cast<sockaddr *>(&sa), len);
  while (rc < 0 && errno == EINTR);
  if (rc < 0) {
    o.err = errno == EINPROGRESS ? ETIMEDOUT : errno;
    o.step = "connect";
    close(fd);
    return o;
  }
  timeval none{0, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &none, sizeof none);
  o.fd = fd;
  return o;
}

class ConnectWorker : public Napi::AsyncWorker {
 public:
  ConnectWorker(Napi::Env env, Target t) : Napi::AsyncWorker(env), target_(std::move(t)), deferred_(Napi::Promise::Deferred::New(env)) {}
  Napi::Promise Promise() { return deferred_.Promise(); }

 protected:
  void Execute() override {
    std::thread th([this] { outcome_ = ConnectIn(target_); });
    th.join();
  }
  void OnOK() override {
    Napi::Env env = Env();
    if (outcome_.fd >= 0) {
      deferred_.Resolve(Napi::Number::New(env, outcome_.fd));
      return;
    }
    Napi::Error e = Napi::Error::New(env, std::string(outcome_.step) + ": " + strerror(outcome_.err));
    // the errno's name as Node's own socket errors carry it (ECONNREFUSED, ETIMEDOUT, ENOENT…)
    const char *name = outcome_.err == ECONNREFUSED ? "ECONNREFUSED" : outcome_.err == ETIMEDOUT ? "ETIMEDOUT"
                     : outcome_.err == ENOENT ? "ENOENT" : outcome_.err == ENETUNREACH ? "ENETUNREACH"
                     : outcome_.err == EHOSTUNREACH ? "EHOSTUNREACH" : outcome_.err == EINVAL ? "EINVAL" : "EIO";
    e.Set("code", Napi::String::New(env, name));
    e.Set("step", Napi::String::New(env, outcome_.step));
    deferred_.Reject(e.Value());
  }

 private:
  Target target_;
  Outcome outcome_;
  Napi::Promise::Deferred deferred_;
};

Napi::Value ConnectInNetns(const Napi::CallbackInfo &info) {
  Target t{info[0].As<Napi::String>().Utf8Value(), info[1].As<Napi::String>().Utf8Value(), info[2].As<Napi::Number>().Int32Value()};
  auto *w = new ConnectWorker(info.Env(), std::move(t));
  Napi::Promise p = w->Promise();
  w->Queue();
  return p;
}

}  // namespace

void InitNetnsConnect(Napi::Env env, Napi::Object exports) {
  exports.Set("connectInNetns", Napi::Function::New(env, ConnectInNetns));
}
