#pragma once
// Module-private: where `save` writes its entries. A tar (libarchive, PAX, mtime 0, 0:0)
// to a temporary file renamed into place on commit, or to stdout; or a directory built
// under a temporary name and renamed into place on commit. Nothing is left behind when
// an output is destroyed without commit.
#include <memory>
#include <string_view>

#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::exporter::detail {

class ArchiveOutput {
 public:
  virtual ~ArchiveOutput() = default;
  /// A tar file at `path` ("-" or empty: stdout).
  static Result<std::unique_ptr<ArchiveOutput>> tar(const fs::path& path);
  /// A directory at `path` (must not exist, or be empty).
  static Result<std::unique_ptr<ArchiveOutput>> directory(const fs::path& path);

  virtual Status add_dir(std::string_view name) = 0;
  virtual Status add_file(std::string_view name, std::string_view data) = 0;
  /// Copies a store blob (verified while read).
  virtual Status add_blob(std::string_view name, store::Store& store, const Digest& digest,
                          uint64_t size) = 0;
  virtual Status commit() = 0;
};

}  // namespace cbuild::exporter::detail
