#pragma once
// Module-private: ADD's archive extraction (BuildKit's unpack / docker's Untar), with the
// safety of the layer applier: names are relative without "..", no entry is written
// through a symlink, hardlinks stay inside the destination. Whiteouts are plain files.
#include <cstdint>
#include <optional>
#include <string>

#include "copy_fs.hpp"

namespace cbuild::build {

/// True when `source` is a regular file holding a tar archive (uncompressed, gzip, bzip2,
/// xz or zstd) with at least one entry, decided from the content as docker does.
Result<bool> copy_is_archive(const fs::path& source);

struct CopyExtractOptions {
  /// `--chown`: every entry gets this owner; nullopt keeps the archive's owners.
  std::optional<CopyIds> chown;
  const layer::IdMapping* ids = nullptr;  ///< container → disk ids for the archive's owners
};

struct CopyExtractStats {
  uint64_t files = 0;  ///< non-directory entries
  uint64_t bytes = 0;  ///< regular file data
};

/// Extracts `source` into the directory `dest_dirfd` (an fd of it; `display` names it).
Result<CopyExtractStats> copy_extract_archive(const fs::path& source, int dest_dirfd,
                                              const std::string& display, const CopyExtractOptions& options);

}  // namespace cbuild::build
