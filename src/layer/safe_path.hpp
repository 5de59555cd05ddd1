#pragma once
// Module-private: path handling that can never leave a root directory. Names are split
// and checked (no "..", not absolute); directories are opened with openat2
// RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, so neither an absolute
// nor a relative symlink planted in the tree is ever followed.
#include <cerrno>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cbuild/util/fd.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::layer {

// clean_entry_name: see cbuild/layer/applier.hpp.

/// "a/b/c" → {"a/b", "c"}; "c" → {"", "c"}.
std::pair<std::string_view, std::string_view> split_parent(std::string_view rel);

/// A directory every path is resolved beneath.
class SafeRoot {
 public:
  static Result<SafeRoot> open(const fs::path& path);
  int fd() const { return m_fd.get(); }
  const fs::path& path() const { return m_path; }

  /// Opens directory `rel` ("" = the root) as an O_PATH fd. Fails with errno ELOOP when
  /// a component is a symlink, ENOTDIR when one is not a directory, ENOENT when missing.
  Result<UniqueFd> open_dir(std::string_view rel) const;

  /// Like open_dir, but creates missing directories (mode 0755) first. `on_create` is
  /// called with each created directory's fd and relative path.
  template <typename F>
  Result<UniqueFd> make_dir(std::string_view rel, F&& on_create) const;

 private:
  SafeRoot(fs::path path, UniqueFd fd) : m_path(std::move(path)), m_fd(std::move(fd)) {}
  Result<UniqueFd> make_dir_step(int parent, const std::string& name, bool& created) const;
  fs::path m_path;
  UniqueFd m_fd;
};

/// Removes `name` in `dirfd` and, for a directory, everything below it, without ever
/// following a symlink. A missing `name` is not an error.
Status remove_at(int dirfd, const std::string& name, const std::string& display);

/// Calls `fn(name, d_type)` for each entry of the directory `dirfd` (any fd, O_PATH
/// included) but "." and ".."; d_type may be DT_UNKNOWN.
Status for_each_entry(int dirfd, const std::string& display,
                      const std::function<void(std::string_view, unsigned char)>& fn);

/// Names in the directory `dirfd` (any fd, O_PATH included), without "." and "..".
Result<std::vector<std::string>> list_names(int dirfd, const std::string& display);

template <typename F>
Result<UniqueFd> SafeRoot::make_dir(std::string_view rel, F&& on_create) const {
  auto fast = open_dir(rel);
  if (fast.ok() || errno != ENOENT) return fast;
  UniqueFd cur(::dup(m_fd.get()));
  std::string sofar;
  size_t start = 0;
  while (start <= rel.size() && !rel.empty()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string_view::npos) slash = rel.size();
    std::string name(rel.substr(start, slash - start));
    sofar += sofar.empty() ? name : "/" + name;
    bool created = false;
    cur = TRY(make_dir_step(cur.get(), name, created));
    if (created) on_create(cur.get(), sofar);
    start = slash + 1;
  }
  return cur;
}

}  // namespace cbuild::layer
