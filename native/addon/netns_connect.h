#pragma once
#include <napi.h>

void InitNetnsConnect(Napi::Env env, Napi::Object exports);
