#pragma once
#include <napi.h>

void InitFsOps(Napi::Env env, Napi::Object exports);
void InitFileQueue(Napi::Env env, Napi::Object exports);
void InitHashThread(Napi::Env env, Napi::Object exports);
