#pragma once
// Module-private: the files of an input archive (tar, compressed or not, from a file or
// stdin, or a directory), each streamed into an uncommitted store blob while its digest and
// (when it is a layer) diffID are computed. Nothing reaches the store until `commit`, so an
// archive that fails validation leaves the store unchanged.
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "cbuild/export/decompress.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::exporter::detail {

/// Files up to this size are also kept in memory (JSON documents are read from there).
inline constexpr uint64_t k_keep_in_memory = 8u << 20;

struct PendingFile {
  std::string name;
  std::optional<store::BlobWriter> writer;
  Digest digest;
  uint64_t size = 0;
  Result<Decompressed> layer = Error{"not decompressed"};  ///< as a layer: compression, diffID
  std::optional<std::string> content;                      ///< when size <= k_keep_in_memory
  std::optional<store::Descriptor> committed;
};

class ArchiveContents {
 public:
  /// Reads `input` ("-" = stdin): a directory, or a tar archive in any compression
  /// libarchive knows. `label` names the input in errors.
  static Result<ArchiveContents> read(store::Store& store, const fs::path& input);

  ArchiveContents(ArchiveContents&&) noexcept = default;
  ArchiveContents& operator=(ArchiveContents&&) noexcept = default;

  /// The file at `name` (symlinks and hardlinks inside the archive followed), or null.
  PendingFile* find(std::string_view name);
  /// `find`, or an error "`label`: missing `name`".
  Result<PendingFile*> require(std::string_view name);
  /// The whole content of a small file, or an error naming it.
  Result<std::string_view> text(std::string_view name);
  /// Moves the file's data into the store's blobs (once; later calls return the same).
  Result<store::Descriptor> commit(PendingFile& file);
  const std::string& label() const { return m_label; }

 private:
  ArchiveContents() = default;
  Status add_file(store::Store& store, std::string name,
                  const std::function<Result<size_t>(char*, size_t)>& read);
  Status add_link(const std::string& name, std::string_view target, bool relative_to_dir);
  Status read_tar(store::Store& store, int fd);
  Status read_dir(store::Store& store, const fs::path& dir);

  std::string m_label;
  std::map<std::string, std::unique_ptr<PendingFile>, std::less<>> m_files;
  std::map<std::string, std::string, std::less<>> m_links;
};

/// Archive-relative name: "./a//b/" → "a/b"; nullopt for absolute names and "..".
std::optional<std::string> clean_name(std::string_view name);

}  // namespace cbuild::exporter::detail
