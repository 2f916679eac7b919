// Streaming decompression of a layer blob read from an fd, into chunks:
// gzip with Node's own zlib (the addon links against the symbols Node
// exports), zstd with libzstd.
#pragma once
#include <cstddef>
#include <functional>
#include <memory>
#include <vector>

using ByteChunk = std::shared_ptr<std::vector<char>>;

enum class Codec { None, Gzip, Zstd };

// Fill buf from fd (a pipe gives less per read); short only at the end of
// input. Throws SysError.
size_t ReadFull(int fd, char *buf, size_t n);

// Decompress all of fd, handing each full chunk (and the last partial one)
// to emit; stop() is polled to give up early. Corrupt or cut input throws
// std::runtime_error naming the codec.
void DecompressFd(int fd, Codec codec, size_t chunkSize, const std::function<void(ByteChunk)> &emit, const std::function<bool()> &stop);
