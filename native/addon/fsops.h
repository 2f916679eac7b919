#pragma once
#include <napi.h>

#include <cstddef>
#include <string>

// lower-case hex of n bytes (digests, random ids)
std::string HexOf(const unsigned char *p, size_t n);

void InitFsOps(Napi::Env env, Napi::Object exports);
void InitLayerUnpacker(Napi::Env env, Napi::Object exports);
