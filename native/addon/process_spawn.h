#pragma once
#include <napi.h>

void InitSpawn(Napi::Env env, Napi::Object exports);
