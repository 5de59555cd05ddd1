#pragma once
// Module-private: a libarchive PAX writer whose output is hashed (diffID) and optionally
// forwarded to a Compressor, with no blocking or padding beyond the tar format's own.
#include <archive.h>
#include <archive_entry.h>

#include <memory>
#include <string>

#include "cbuild/layer/compression.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"
#include "pipelined_sha.hpp"

namespace cbuild::layer {

class TarOutput {
 public:
  /// `next` may be null: the tar is then only hashed.
  static Result<std::unique_ptr<TarOutput>> open(Compressor* next);
  ~TarOutput();
  TarOutput(const TarOutput&) = delete;
  TarOutput& operator=(const TarOutput&) = delete;

  /// Errors give libarchive's message; the caller names the entry.
  Status write_header(archive_entry* entry);
  /// A buffer to read entry data into before write_data(): filling it in place lets the
  /// hasher take the bytes without a copy. At least min(`want`, 1 MiB) bytes.
  std::pair<char*, size_t> data_buffer(size_t want) { return m_sha.reserve(want); }
  Status write_data(const void* data, size_t size);
  /// Writes the end-of-archive blocks; returns the diffID.
  Result<Digest> close();
  uint64_t size() const { return m_size; }

 private:
  TarOutput() = default;
  static la_ssize_t on_write(archive*, void* self, const void* data, size_t size);
  Error archive_failure();

  archive* m_archive = nullptr;
  Compressor* m_next = nullptr;
  PipelinedSha m_sha;
  uint64_t m_size = 0;
  Status m_sink_status;
};

}  // namespace cbuild::layer
