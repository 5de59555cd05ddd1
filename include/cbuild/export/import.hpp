#pragma once
/// `cbuild import`: a root filesystem tarball → a one-layer image, like `docker import`.
/// The tarball (plain, gzip or zstd) is stored as the layer blob as it is; its diffID is
/// computed while it streams in, and libarchive checks it is a tar. The config is this
/// host's platform with one history entry (comment "Imported from SOURCE", or `message`).
#include <optional>
#include <string>
#include <vector>

#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::exporter {

struct ImportOptions {
  std::vector<std::string> tags;   ///< full names (normalized by the caller)
  std::string message;             ///< history comment; empty: "Imported from <source>"
  std::optional<int64_t> created;  ///< unix seconds; default SOURCE_DATE_EPOCH, else now
  std::vector<std::string> env;    ///< "KEY=value" to set in the config
  std::optional<std::vector<std::string>> cmd;
};

struct ImportResult {
  Digest id;
  Digest manifest;
  Digest diff_id;
};

/// Imports `input` ("-" = stdin). Bad input leaves the store unchanged.
Result<ImportResult> import_rootfs(store::Store& store, const fs::path& input, const ImportOptions& options);

}  // namespace cbuild::exporter
