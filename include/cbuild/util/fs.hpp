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
/// Opens a regular file `name` (relative to `dirfd`, or AT_FDCWD) to read it, without a
/// symlink and without updating its atime where allowed (O_NOATIME: the owner or root).
/// A read otherwise dirties the inode of every file linked or changed since its last read.
/// -1 with errno on failure.
int open_to_read(int dirfd, const char* name);
/// Write all bytes to an fd, retrying on EINTR and short writes.
Status write_all(int fd, std::string_view data);
/// Create a directory and its parents (like `mkdir -p`).
Status make_dirs(const fs::path& path, mode_t mode = 0755);

/// Whether a committed file must survive a machine crash (fsync of the file before the
/// rename and of the directory after) or only be whole or absent, never partial: enough for
/// what a command hands its caller (--report, --iidfile), two fsyncs less per build.
enum class Durability { synced, unsynced };

/// A file written under a temporary name beside its destination and moved into place only
/// by an explicit `commit()` (rename; fsyncs per Durability). Destroyed without commit, the
/// temporary file is removed: a destructor never commits.
class AtomicFile {
 public:
  static Result<AtomicFile> create(const fs::path& dest, mode_t mode = 0644);
  AtomicFile(AtomicFile&&) noexcept = default;
  AtomicFile& operator=(AtomicFile&&) noexcept = default;
  ~AtomicFile();

  int fd() const { return m_fd.get(); }
  Status write(std::string_view data) { return write_all(m_fd.get(), data); }
  Status commit(Durability durability = Durability::synced);
  const fs::path& temp_path() const { return m_temp; }

 private:
  AtomicFile(fs::path dest, fs::path temp, UniqueFd fd)
      : m_dest(std::move(dest)), m_temp(std::move(temp)), m_fd(std::move(fd)) {}
  fs::path m_dest, m_temp;
  UniqueFd m_fd;
  bool m_done = false;
};

/// Write a whole file atomically.
Status write_file_atomic(const fs::path& dest, std::string_view data, mode_t mode = 0644,
                         Durability durability = Durability::synced);

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
