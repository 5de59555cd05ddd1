#pragma once
/// Small filesystem helpers with Result errors naming the path.
#include "cbuild/util/fd.hpp"
#include "cbuild/util/result.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace cbuild {

namespace fs = std::filesystem;

Result<std::string> read_file(const fs::path& path);
/// Write all bytes to an fd, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data);
/// Create a directory and its parents (like `mkdir -p`).
Status make_dirs(const fs::path& path, mode_t mode = 0755);

/// A file written under a temporary name beside its destination and moved into place only
/// by an explicit `commit()` (fsync file, rename, fsync directory). With Sync::no, for
/// caches that detect damage themselves, nothing is synced and an existing destination is
/// exchanged out (renameat2) and removed. Destroyed without commit, the temporary file is
/// removed: a destructor never commits.
class AtomicFile {
 public:
  enum class Sync : bool { no, yes };
  static Result<AtomicFile> create(const fs::path& dest, mode_t mode = 0644);
  AtomicFile(AtomicFile&&) noexcept = default;
  AtomicFile& operator=(AtomicFile&&) noexcept = default;
  ~AtomicFile();

  int fd() const { return m_fd.get(); }
  Status write(std::string_view data) { return write_all(m_fd.get(), data); }
  Status commit(Sync sync = Sync::yes);
  const fs::path& temp_path() const { return m_temp; }

 private:
  AtomicFile(fs::path dest, fs::path temp, UniqueFd fd)
      : m_dest(std::move(dest)), m_temp(std::move(temp)), m_fd(std::move(fd)) {}
  fs::path m_dest, m_temp;
  UniqueFd m_fd;
  bool m_done = false;
};

/// Write a whole file atomically.
Status write_file_atomic(const fs::path& dest, std::string_view data, mode_t mode = 0644);

/// fsync a directory (after renames into it).
Status fsync_dir(const fs::path& dir);

/// A directory removed recursively when the owner goes away.
class TempDir {
 public:
  /// Creates `<parent>/<prefix>XXXXXX`; parent defaults to $TMPDIR or /tmp.
  static Result<TempDir> create(std::string_view prefix, const fs::path& parent = {});
  TempDir(TempDir&& o) noexcept : m_path(std::exchange(o.m_path, {})) {}
  TempDir& operator=(TempDir&& o) noexcept;
  ~TempDir();
  const fs::path& path() const { return m_path; }
  fs::path release() { return std::exchange(m_path, {}); }

 private:
  explicit TempDir(fs::path p) : m_path(std::move(p)) {}
  fs::path m_path;
};

/// Remove a tree, making directories writable first (unpacked layers can hold 0555 dirs).
Status remove_tree(const fs::path& path);

}  // namespace cbuild
