// node-addon-api front end of the launch library: launch a plan, wait for a
// pidfd in the libuv loop, signal through a pidfd. The only global state: the
// waits in progress by pidfd (main thread only), so one can be unref'd later.
#include <napi.h>
#include <uv.h>

#include <cerrno>
#include <dlfcn.h>
#include <csignal>
#include <cstring>
#include <string>
#include <unordered_map>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern "C" {
#include "launch.h"
}
#include "fsops.h"
#include "process_spawn.h"
#include "netns_connect.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

namespace {

std::string ErrnoName(int e) {
  const char *name = strerrorname_np(e);
  return name ? name : ("errno " + std::to_string(e));
}

Napi::Error LaunchError(Napi::Env env, const launch_error &err) {
  std::string step = launch_step_name(err.step);
  std::string msg = step;
  if (err.detail[0]) msg += std::string(" ") + err.detail;
  msg += ": " + ErrnoName(err.err) + " (" + strerror(err.err) + ")";
  Napi::Error e = Napi::Error::New(env, msg);
  e.Set("code", Napi::String::New(env, "ELAUNCH"));
  e.Set("step", Napi::String::New(env, step));
  e.Set("errno", Napi::Number::New(env, err.err));
  e.Set("errnoName", Napi::String::New(env, ErrnoName(err.err)));
  e.Set("index", Napi::Number::New(env, err.index));
  e.Set("detail", Napi::String::New(env, err.detail));
  return e;
}

// Launch children re-execute podrun-monitor, built beside this addon.
void UseMonitorBesideAddon() {
  static std::string path;
  if (!path.empty()) return;
  Dl_info info;
  if (!dladdr(reinterpret_cast<void *>(&UseMonitorBesideAddon), &info) || !info.dli_fname) return;
  std::string self = info.dli_fname;
  size_t slash = self.rfind('/');
  if (slash == std::string::npos) return;
  path = self.substr(0, slash + 1) + "podrun-monitor";
  launch_set_helper(path.c_str());
}

Napi::Value Launch(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsBuffer()) {
    Napi::TypeError::New(env, "launch(plan: Buffer)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto buf = info[0].As<Napi::Buffer<uint8_t>>();
  launch_plan plan;
  launch_error err;
  if (plan_decode(buf.Data(), buf.Length(), &plan, &err) < 0) {
    LaunchError(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (plan.wait_start) {
    plan_free(&plan);
    Napi::Error::New(env, "plans that wait for start are run by podrun-monitor").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  UseMonitorBesideAddon();
  launch_result res;
  int rc = launch(&plan, nullptr, &res, &err);
  plan_free(&plan);
  if (rc < 0) {
    LaunchError(env, err).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("pid", Napi::Number::New(env, res.pid));
  out.Set("pidfd", Napi::Number::New(env, res.pidfd));
  return out;
}

struct Waiter {
  uv_poll_t poll;
  napi_env env;
  napi_deferred deferred;
  int pidfd;
};

// the waits under way, by pidfd: unrefWait finds its handle here (JS thread only)
std::unordered_map<int, Waiter *> waiting;

void OnWaiterClosed(uv_handle_t *h) { delete reinterpret_cast<Waiter *>(h->data); }

// A libuv callback: nothing here may throw (Node may be tearing the environment down
// when a child ends, and an exception out of here aborts the process), so N-API's C
// calls, each checked; when one fails there is nobody left to tell.
void OnPidfdReadable(uv_poll_t *handle, int status, int) {
  auto *w = reinterpret_cast<Waiter *>(handle->data);
  siginfo_t si;
  std::memset(&si, 0, sizeof si);
  int rc = status < 0 ? -1 : waitid(static_cast<idtype_t>(P_PIDFD), w->pidfd, &si, WEXITED | WNOHANG);
  if (rc == 0 && si.si_pid == 0) return;  // spurious wake-up
  int e = status < 0 ? EIO : errno;
  uv_poll_stop(handle);
  waiting.erase(w->pidfd);
  napi_env env = w->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) == napi_ok) {
    napi_value result = nullptr;
    bool ok;
    if (rc < 0) {
      napi_value msg;
      std::string text = std::string("waitid: ") + strerror(e);
      ok = napi_create_string_utf8(env, text.c_str(), text.size(), &msg) == napi_ok && napi_create_error(env, nullptr, msg, &result) == napi_ok;
      if (ok) napi_reject_deferred(env, w->deferred, result);
    } else {
      bool killed = si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED;
      napi_value code, signal, null;
      ok = napi_create_object(env, &result) == napi_ok && napi_get_null(env, &null) == napi_ok &&
           napi_create_int32(env, si.si_status, killed ? &signal : &code) == napi_ok;
      if (ok) {
        if (killed) code = null; else signal = null;
        ok = napi_set_named_property(env, result, "exitCode", code) == napi_ok && napi_set_named_property(env, result, "signal", signal) == napi_ok;
      }
      if (ok) napi_resolve_deferred(env, w->deferred, result);
    }
    napi_close_handle_scope(env, scope);
  }
  uv_close(reinterpret_cast<uv_handle_t *>(handle), OnWaiterClosed);
}

// waitExit(pidfd) -> Promise<{exitCode, signal}>; reaps the process.
Napi::Value WaitExit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  uv_loop_t *loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  auto *w = new Waiter();
  w->env = env;
  w->pidfd = pidfd;
  napi_value promise;
  napi_create_promise(env, &w->deferred, &promise);
  w->poll.data = w;
  int rc = uv_poll_init(loop, &w->poll, pidfd);
  if (rc == 0) rc = uv_poll_start(&w->poll, UV_READABLE, OnPidfdReadable);
  if (rc == 0) waiting[pidfd] = w;
  if (rc != 0) {
    Napi::Error err = Napi::Error::New(env, std::string("uv_poll: ") + uv_strerror(rc));
    napi_reject_deferred(env, w->deferred, err.Value());
    delete w;
  }
  return Napi::Value(env, promise);
}

// unrefWait(pidfd): its wait no longer keeps Node running (a detached child let go of,
// which may outlive us); it is still reaped if it ends while we run
Napi::Value UnrefWait(const Napi::CallbackInfo &info) {
  auto it = waiting.find(info[0].As<Napi::Number>().Int32Value());
  if (it != waiting.end()) uv_unref(reinterpret_cast<uv_handle_t *>(&it->second->poll));
  return info.Env().Undefined();
}

Napi::Value SendSignal(const Napi::CallbackInfo &info) {
  int pidfd = info[0].As<Napi::Number>().Int32Value();
  int sig = info[1].As<Napi::Number>().Int32Value();
  if (syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0) < 0 && errno != ESRCH) {
    Napi::Error::New(info.Env(), std::string("pidfd_send_signal: ") + strerror(errno))
        .ThrowAsJavaScriptException();
  }
  return info.Env().Undefined();
}

// pidfdOpen(pid) -> fd, or -1 when the process does not exist
Napi::Value PidfdOpen(const Napi::CallbackInfo &info) {
  int pid = info[0].As<Napi::Number>().Int32Value();
  int fd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0 && errno != ESRCH) {
    Napi::Error::New(info.Env(), std::string("pidfd_open: ") + strerror(errno)).ThrowAsJavaScriptException();
  }
  return Napi::Number::New(info.Env(), fd);
}

// stopWaits(): every wait under way stops, its promise left pending. Called at process 'exit': Node then tears the
// environment down, running the loop once more (CleanupHandles) — a child ending right then would call into a
// JS engine that is going away (a SIGSEGV in napi_open_handle_scope, seen from `podrun oci run -d`).
// Only this environment's waits: a worker thread's exit leaves the main thread's alone.
Napi::Value StopWaits(const Napi::CallbackInfo &info) {
  napi_env env = info.Env();
  for (auto it = waiting.begin(); it != waiting.end();) {
    Waiter *w = it->second;
    if (w->env != env) {
      ++it;
      continue;
    }
    uv_poll_stop(&w->poll);
    uv_close(reinterpret_cast<uv_handle_t *>(&w->poll), OnWaiterClosed);
    it = waiting.erase(it);
  }
  return info.Env().Undefined();
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("launch", Napi::Function::New(env, Launch));
  exports.Set("waitExit", Napi::Function::New(env, WaitExit));
  exports.Set("sendSignal", Napi::Function::New(env, SendSignal));
  exports.Set("unrefWait", Napi::Function::New(env, UnrefWait));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("stopWaits", Napi::Function::New(env, StopWaits));
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen));
  InitFsOps(env, exports);
  InitLayerUnpacker(env, exports);
  InitSpawn(env, exports);
  InitNetnsConnect(env, exports);
  return exports;
}

}  // namespace

NODE_API_MODULE(podrun, Init)
