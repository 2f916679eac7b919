// Small system calls Node lacks: xattrs (cgroup marks, tests), overlay
// mount/umount for root filesystems; and sha256/random bytes, which would
// otherwise load node:crypto (~5 ms) into every `podrun start`. Errors carry errno's name as
// `code` and the syscall and path, like Node's own fs errors.
#include <napi.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <openssl/evp.h>
#include <sys/mount.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <fcntl.h>
#include <unistd.h>

#include "fsops.h"

std::string HexOf(const unsigned char *p, size_t n) {
  static const char *hex = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (size_t i = 0; i < n; i++) out += hex[p[i] >> 4], out += hex[p[i] & 15];
  return out;
}

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

// idmapMount(source, target, usernsPath): a read-only bind of source at target whose owners are shifted by the
// id maps of the user namespace at usernsPath (open_tree + mount_setattr(MOUNT_ATTR_IDMAP) + move_mount): an image
// layer as a user-namespaced pod sees it, without a chown of the layer, which other pods share.
Napi::Value IdmapMount(const Napi::CallbackInfo &info) {
  std::string source = info[0].As<Napi::String>();
  std::string target = info[1].As<Napi::String>();
  std::string userns = info[2].As<Napi::String>();
  int tree = open_tree(AT_FDCWD, source.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
  if (tree < 0) return Fail(info.Env(), "open_tree", source);
  int ns = open(userns.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns < 0) {
    int e = errno;
    close(tree);
    errno = e;
    return Fail(info.Env(), "open", userns);
  }
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_RDONLY;
  attr.userns_fd = static_cast<__u64>(ns);
  int rc = mount_setattr(tree, "", AT_EMPTY_PATH, &attr, sizeof attr);
  int e = errno;
  close(ns);
  if (rc < 0) {
    close(tree);
    errno = e;
    return Fail(info.Env(), "mount_setattr", source);
  }
  rc = move_mount(tree, "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH);
  e = errno;
  close(tree);
  if (rc < 0) {
    errno = e;
    return Fail(info.Env(), "move_mount", target);
  }
  return info.Env().Undefined();
}

// sha256(data: Buffer) -> "sha256:<hex>" (OpenSSL's, as linked into Node)
Napi::Value Sha256(const Napi::CallbackInfo &info) {
  Napi::Buffer<char> b = info[0].As<Napi::Buffer<char>>();
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned len = 0;
  EVP_Digest(b.Data(), b.Length(), md, &len, EVP_sha256(), nullptr);
  return Napi::String::New(info.Env(), "sha256:" + HexOf(md, len));
}

// randomHex(bytes) -> that many random bytes from getrandom(2), in hex
Napi::Value RandomHex(const Napi::CallbackInfo &info) {
  unsigned char buf[64];
  size_t n = info[0].As<Napi::Number>().Uint32Value();
  if (n > sizeof buf) n = sizeof buf;
  size_t got = 0;
  while (got < n) {
    ssize_t k = getrandom(buf + got, n - got, 0);
    if (k < 0 && errno != EINTR) return Fail(info.Env(), "getrandom", "");
    if (k > 0) got += static_cast<size_t>(k);
  }
  return Napi::String::New(info.Env(), HexOf(buf, n));
}

}  // namespace

// Whether the kernel has mount_setattr(2) (5.12), which recursive mount attributes ("rro") need: a call with no
// attributes on no fd says ENOSYS only where it is missing (EBADF/EINVAL otherwise).
Napi::Value MountSetattrSupported(const Napi::CallbackInfo &info) {
  struct mount_attr attr = {};
  int rc = mount_setattr(-1, "", AT_EMPTY_PATH, &attr, sizeof attr);
  return Napi::Boolean::New(info.Env(), !(rc < 0 && errno == ENOSYS));
}

void InitFsOps(Napi::Env env, Napi::Object exports) {
  exports.Set("mountSetattrSupported", Napi::Function::New(env, MountSetattrSupported));
  exports.Set("lsetxattr", Napi::Function::New(env, Lsetxattr));
  exports.Set("lgetxattr", Napi::Function::New(env, Lgetxattr));
  exports.Set("llistxattr", Napi::Function::New(env, Llistxattr));
  exports.Set("mount", Napi::Function::New(env, Mount));
  exports.Set("umount", Napi::Function::New(env, Umount));
  exports.Set("idmapMount", Napi::Function::New(env, IdmapMount));
  exports.Set("sha256", Napi::Function::New(env, Sha256));
  exports.Set("randomHex", Napi::Function::New(env, RandomHex));
}
