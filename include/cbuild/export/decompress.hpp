#pragma once
/// A push decompressor for layer blobs: bytes written to it are gzip, zstd or plain tar
/// (detected from the first bytes); the decompressed stream is hashed (the diffID) and,
/// optionally, forwarded to a sink. Used to compute diffIDs while loading or importing
/// and to transcode a stored blob to another compression for `save`.
#include <memory>

#include "cbuild/image/media_types.hpp"
#include "cbuild/layer/sink.hpp"
#include "cbuild/util/digest.hpp"

namespace cbuild::exporter {

/// What the decompressed stream was.
struct Decompressed {
  image::media::Compression compression = image::media::Compression::none;
  Digest diff_id;     ///< sha256 of the decompressed bytes
  uint64_t size = 0;  ///< decompressed bytes
};

class Decompressor final : public layer::ByteSink {
 public:
  /// `out` (may be null) receives the decompressed bytes in order.
  explicit Decompressor(layer::ByteSink* out = nullptr);
  ~Decompressor() override;
  Decompressor(const Decompressor&) = delete;
  Decompressor& operator=(const Decompressor&) = delete;

  using layer::ByteSink::write;
  /// Errors: "unsupported compression (xz)", "corrupt gzip data: …", "corrupt zstd data: …".
  Status write(const void* data, size_t size) override;
  /// Ends the stream; a gzip or zstd stream cut short is "truncated gzip/zstd data".
  Result<Decompressed> finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

}  // namespace cbuild::exporter
