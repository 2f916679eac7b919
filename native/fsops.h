#pragma once
#include <napi.h>
#include <sys/types.h>
#include <time.h>

// shared by the sync call and the FileQueue thread (fsops.cc)
const char *write_new_file_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode, uid_t uid, gid_t gid,
                              struct timespec mtime, bool chown);

void InitFsOps(Napi::Env env, Napi::Object exports);
void InitFileQueue(Napi::Env env, Napi::Object exports);
void InitHashThread(Napi::Env env, Napi::Object exports);
