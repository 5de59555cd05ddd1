#pragma once
/// Layer compression: names, defaults and a streaming compressor that digests what it
/// produces. Gzip runs on several threads for large data by compressing independent
/// 1 MiB chunks of the input as separate gzip members, concatenated (RFC 1952 §2.2
/// allows several members; Go's gzip reader used by docker/containerd reads them as one
/// stream, as do gzip, pigz and libarchive). Chunk boundaries depend only on the input,
/// never on the thread count, so the output is the same on every machine.
/// Zstd uses libzstd's own workers (ZSTD_c_nbWorkers >= 1 always, which makes the output
/// independent of the worker count).
#include <cstdint>
#include <memory>
#include <string_view>

#include "cbuild/layer/sink.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::layer {

enum class Compression { none, gzip, zstd };

/// "none", "gzip", "zstd".
std::string_view compression_name(Compression c);
/// Parses "none"/"uncompressed", "gzip", "zstd" (as `--compression` takes them).
Result<Compression> parse_compression(std::string_view text);

/// Gzip level 6 is zlib's Z_DEFAULT_COMPRESSION and what Go's gzip.DefaultCompression
/// gives docker and containerd, so cbuild's blobs have docker-like sizes.
constexpr int k_default_gzip_level = 6;
/// Zstd level 3 is libzstd's default and what containerd/BuildKit use.
constexpr int k_default_zstd_level = 3;
/// Size of the independently compressed gzip chunks.
constexpr size_t k_gzip_chunk_size = 1 << 20;

/// Compression settings. `level` 0 means the default for the algorithm; `threads` 0
/// means one per online CPU.
struct CompressionOptions {
  Compression compression = Compression::gzip;
  int level = 0;
  unsigned threads = 0;
};

/// Digest and size of a finished compressed stream.
struct CompressedBlob {
  Digest digest;      ///< sha256 of the compressed bytes (the blob digest)
  uint64_t size = 0;  ///< compressed size in bytes
};

/// A ByteSink that compresses what it receives and forwards the compressed stream, in
/// order, to `out`, hashing it on the way. Call `finish()` exactly once at the end; a
/// Compressor destroyed without finish() discards its work (worker threads are joined).
/// With Compression::none it passes bytes through unchanged (and still digests them).
class Compressor : public ByteSink {
 public:
  static Result<std::unique_ptr<Compressor>> create(const CompressionOptions& options, ByteSink& out);
  using ByteSink::write;
  /// Flushes the compressor, writes the remaining output, returns digest and size.
  virtual Result<CompressedBlob> finish() = 0;
};

}  // namespace cbuild::layer
