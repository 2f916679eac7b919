// Filesystem calls Node lacks: xattrs (cgroup marks, tests) and, for root
// filesystems, overlay mount/umount. Errors carry errno's name as
// `code` and the syscall and path, like Node's own fs errors.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsops.h"

namespace {

Napi::Value Fail(Napi::Env env, const char *syscall, const std::string &path) {
  int e = errno;
  const char *name = strerrorname_np(e);
  std::string code = name ? name : ("errno " + std::to_string(e));
  Napi::Error err = Napi::Error::New(env, code + ": " + strerror(e) + ", " + syscall + " '" + path + "'");
  err.Set("code", Napi::String::New(env, code));
  err.Set("errno", Napi::Number::New(env, -e));
  err.Set("syscall", Napi::String::New(env, syscall));
  err.Set("path", Napi::String::New(env, path));
  err.ThrowAsJavaScriptException();
  return env.Undefined();
}

// lsetxattr(path, name, value: Buffer): never follows a final symlink.
Napi::Value Lsetxattr(const Napi::CallbackInfo &info) {
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  Napi::Buffer<char> value = info[2].As<Napi::Buffer<char>>();
  if (lsetxattr(path.c_str(), name.c_str(), value.Data(), value.Length(), 0) < 0) return Fail(info.Env(), "lsetxattr", path);
  return info.Env().Undefined();
}

// lgetxattr(path, name) -> Buffer, or null when the attribute is absent.
Napi::Value Lgetxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  std::string name = info[1].As<Napi::String>();
  char buf[65536];
  ssize_t n = lgetxattr(path.c_str(), name.c_str(), buf, sizeof buf);
  if (n < 0) {
    if (errno == ENODATA) return env.Null();
    return Fail(env, "lgetxattr", path);
  }
  return Napi::Buffer<char>::Copy(env, buf, static_cast<size_t>(n));
}

// llistxattr(path) -> string[]
Napi::Value Llistxattr(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  char buf[65536];
  ssize_t n = llistxattr(path.c_str(), buf, sizeof buf);
  if (n < 0) return Fail(env, "llistxattr", path);
  Napi::Array out = Napi::Array::New(env);
  uint32_t i = 0;
  for (ssize_t off = 0; off < n; off += static_cast<ssize_t>(strlen(buf + off)) + 1) out.Set(i++, Napi::String::New(env, buf + off));
  return out;
}

// mount(source, target, fstype, flags, data)
Napi::Value Mount(const Napi::CallbackInfo &info) {
  std::string source = info[0].As<Napi::String>();
  std::string target = info[1].As<Napi::String>();
  std::string fstype = info[2].As<Napi::String>();
  unsigned long flags = info[3].As<Napi::Number>().Int64Value();
  std::string data = info[4].As<Napi::String>();
  if (mount(source.c_str(), target.c_str(), fstype.c_str(), flags, data.empty() ? nullptr : data.c_str()) < 0) {
    return Fail(info.Env(), "mount", target);
  }
  return info.Env().Undefined();
}

// umount(target, flags)
Napi::Value Umount(const Napi::CallbackInfo &info) {
  std::string target = info[0].As<Napi::String>();
  int flags = info[1].As<Napi::Number>().Int32Value();
  if (umount2(target.c_str(), flags) < 0) return Fail(info.Env(), "umount2", target);
  return info.Env().Undefined();
}

}  // namespace

void InitFsOps(Napi::Env env, Napi::Object exports) {
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
}
