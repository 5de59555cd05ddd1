#pragma once
// Module-private: the decompressed byte stream of a layer archive (libarchive's "raw"
// format over the gzip, zstd, bzip2, xz and lzma filters), hashed as it is read, so the
// diffID is computed while a tar reader consumes it.
#include <archive.h>

#include <optional>
#include <string>

#include "cbuild/layer/compression.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::layer {

class DecompressedSource {
 public:
  DecompressedSource() = default;
  ~DecompressedSource();
  DecompressedSource(const DecompressedSource&) = delete;
  DecompressedSource& operator=(const DecompressedSource&) = delete;

  /// Starts reading `fd` (not owned); detects the compression.
  Status open(int fd);
  /// libarchive read callback (client data: this object).
  static la_ssize_t read(archive*, void* self, const void** buffer);
  /// Hashes what was not read yet (all of it, or the padding after a tar's end blocks).
  Result<Digest> finish();

  const Status& error() const { return m_error; }
  uint64_t size() const { return m_size; }
  /// The detected compression; nullopt for bzip2, xz and lzma.
  std::optional<Compression> compression() const;

 private:
  Error failure() const;

  archive* m_outer = nullptr;
  Sha256 m_sha;
  uint64_t m_size = 0;
  Status m_error;
};

}  // namespace cbuild::layer
