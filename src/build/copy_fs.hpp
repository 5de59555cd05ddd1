#pragma once
// Module-private: the filesystem side of COPY/ADD. Paths in a step's root are resolved
// component by component from an fd of the root: symlinks met on the way are followed
// inside the root (an absolute target starts again at the root, ".." stops there), as
// BuildKit's fs.RootPath does, so nothing is ever written outside the root. Below the
// destination directory (inside a copied tree) symlinks are never followed.
#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/layer/id_map.hpp"
#include "cbuild/util/fd.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::build {

/// The owner (container ids) to give to what is created, and how to map it to disk ids.
struct CopyIds {
  uint32_t uid = 0;
  uint32_t gid = 0;
  const layer::IdMapping* ids = nullptr;
};

/// "/a/./b//../c/" → "a/c" (lexically; ".." stops at the root).
std::string copy_clean_path(std::string_view path);

/// The last component and the rest: "a/b/c" → {"a/b", "c"}; "c" → {"", "c"}.
std::pair<std::string, std::string> copy_split_parent(std::string_view rel);

/// What a path in the root resolves to.
struct CopyResolved {
  std::string rel;  ///< symlink-free path relative to the root ("" = the root)
  bool exists = false;
  bool is_dir = false;
};

/// A step's root directory, with path resolution that never leaves it.
class CopyRoot {
 public:
  static Result<CopyRoot> open(const fs::path& path);
  /// A root given by an fd (duplicated); `display` names it in messages.
  static Result<CopyRoot> from_fd(int fd, const fs::path& display);
  int fd() const { return m_fd.get(); }
  const fs::path& path() const { return m_path; }

  /// Resolves `path` (relative to the root; a leading "/" is the root), following every
  /// symlink inside the root, the last one included. Nothing is created.
  Result<CopyResolved> resolve(std::string_view path) const;

  /// Like resolve, but creates missing directories (mode 0755, owned by `owner`) and
  /// returns an O_PATH fd of the directory. A component that is not a directory is an error.
  Result<UniqueFd> make_dirs(std::string_view path, const CopyIds& owner) const;

 private:
  CopyRoot(fs::path path, std::string prefix, UniqueFd fd)
      : m_path(std::move(path)), m_prefix(std::move(prefix)), m_fd(std::move(fd)) {}
  Result<CopyResolved> walk(std::string_view path, bool create, const CopyIds* owner, UniqueFd* out) const;
  fs::path m_path;
  std::string m_prefix;  // prepended to paths in messages
  UniqueFd m_fd;
};

/// Opens directory `rel` below `dirfd` (O_PATH) without following any symlink, creating
/// missing directories (0755, `owner`). `display` names `rel`'s start in messages.
Result<UniqueFd> copy_open_subdir(int dirfd, std::string_view rel, const CopyIds& owner,
                                  std::string_view display);

/// Makes room for a new non-directory `name` in `dirfd`: removes an existing
/// non-directory; an existing directory is an error naming `display`.
Status copy_clear_target(int dirfd, const std::string& name, const std::string& display);

/// Removes `name` in `dirfd` (a whole tree for a directory), never following a symlink.
Status copy_remove_tree(int dirfd, const std::string& name, const std::string& display);

/// The on-disk ids `owner` is written with (mapped through `owner.ids`).
Result<std::pair<uid_t, gid_t>> copy_disk_ids(const CopyIds& owner);

/// Gives `fd` (a regular fd of a file or directory) the owner in `owner` mapped to disk
/// ids; where chown is refused, records owner and `mode` in user.containers.override_stat.
Status copy_set_owner(int fd, const CopyIds& owner, mode_t mode, const std::string& display);

/// Same for a symlink `name` in `dirfd`: refused ownership is silently lost (symlinks
/// cannot carry user xattrs).
Status copy_set_link_owner(int dirfd, const std::string& name, const CopyIds& owner,
                           const std::string& display);

/// True for xattrs never copied: `*.overlay.*`, user.containers.override_stat,
/// security.selinux.
bool copy_skip_xattr(std::string_view name);

/// Copies xattrs from `src_fd` to `dst_fd` (regular fds), skipping the above; values the
/// kernel refuses (EPERM, ENOTSUP: e.g. security.* unprivileged) are dropped.
Status copy_xattrs_fd(int src_fd, int dst_fd, const std::string& display);

/// Copies xattrs of the symlink `src` onto the symlink `name` in `dirfd` (best effort).
void copy_xattrs_link(const fs::path& src, int dirfd, const std::string& name);

/// Copies all data of `src` to `dst` (both at offset 0): FICLONE, then copy_file_range,
/// then read/write. Returns the bytes copied.
Result<uint64_t> copy_file_data(int src, int dst, uint64_t size, const std::string& display);

/// An O_PATH fd path usable with path-based syscalls: "/proc/self/fd/N".
std::string copy_fd_path(int fd);

}  // namespace cbuild::build
