#pragma once
#include <napi.h>

void InitFsOps(Napi::Env env, Napi::Object exports);
void InitLayerUnpacker(Napi::Env env, Napi::Object exports);
