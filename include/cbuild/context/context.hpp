#pragma once
/// A build context: a directory scanned once (lstat only, no file contents) with the
/// .dockerignore patterns applied, giving the list of entries a build may use. A tar stream
/// context (`cbuild build -`) is first extracted safely into a temporary directory.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/context/ignore.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::context {

enum class FileType : uint8_t { regular, directory, symlink, fifo, socket, char_device, block_device };

/// "file", "dir", "symlink", "fifo", "socket", "char", "block".
std::string_view to_string(FileType type);

/// One file of the context as lstat saw it.
struct Entry {
  std::string path;  ///< relative to the context root, slash-separated: "src/main.rs"
  FileType type = FileType::regular;
  uint32_t mode = 0;  ///< permission bits plus setuid/setgid/sticky (st_mode & 07777)
  uint32_t uid = 0, gid = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t ino = 0, dev = 0, rdev = 0;
  uint32_t nlink = 0;
  std::string link_target;  ///< symlinks only
};

/// Walk order of context paths: bytewise, except that '/' sorts before every other byte, so
/// a directory's contents come right after it ("a", "a/b", "a-c"). <0, 0 or >0.
int walk_order(std::string_view a, std::string_view b);

/// A scanned context. Entries are in walk order (walk_order): depth first, each directory's
/// names sorted bytewise, a directory before its contents. Excluded directories are not entered unless an
/// exception may re-include something below them; such a directory is listed only when
/// something below it is.
class Context {
 public:
  /// Scans `root` applying `ignore`.
  static Result<Context> scan(const fs::path& root, const PatternMatcher& ignore);
  /// Loads the ignore file with `load_ignore_file(root, dockerfile)`, then scans.
  static Result<Context> open(const fs::path& root, const fs::path& dockerfile = {});
  Context(Context&&) noexcept = default;
  Context& operator=(Context&&) noexcept = default;
  Context(const Context&) = delete;  // 20,000 entries are not copied by accident
  Context& operator=(const Context&) = delete;

  const fs::path& root() const { return m_root; }
  const std::vector<Entry>& entries() const { return m_entries; }
  const IgnoreFile& ignore_file() const { return m_ignore_file; }

  /// The entry at `path` (cleaned, relative), or nullptr when absent or ignored. A binary
  /// search of the entries (they are in walk order): no index to build for each scan.
  const Entry* find(std::string_view path) const;
  /// Index of an entry in entries(); entries()[index(e)+1 .. subtree_end(e)) lie below it.
  size_t index_of(const Entry& entry) const { return static_cast<size_t>(&entry - m_entries.data()); }
  size_t subtree_end(size_t index) const { return m_ends[index]; }

  /// Resolves `path` as if the context root were `/`: symlinks met on the way (and the last
  /// element when `follow_last`) are followed, `..` stops at the root. Gives the resolved
  /// path ("." for the root), nullopt when nothing is there, an error for a symlink loop.
  Result<std::optional<std::string>> resolve(std::string_view path, bool follow_last) const;

  /// Absolute path of an entry on disk.
  fs::path disk_path(const Entry& entry) const { return m_root / entry.path; }

  /// Whether the ignore patterns left out something on disk at or below `path` (cleaned,
  /// relative; "." for the whole context).
  bool excludes_below(std::string_view path) const;

 private:
  Context() = default;
  fs::path m_root;
  IgnoreFile m_ignore_file;
  std::vector<Entry> m_entries;
  std::vector<size_t> m_ends;
  std::vector<std::string> m_excluded;  ///< top-most paths left out, in walk order
};

/// Extracts a tar stream (plain or compressed, as libarchive detects) from `fd` into a new
/// directory under `tmp_parent` ($TMPDIR or /tmp when empty). Entries that are absolute,
/// contain `..`, would be written through a symlink, hard-link outside the tree, or are
/// devices are rejected with an error naming the entry; nothing is written outside the
/// directory. Ownership is not restored; modes and mtimes are. Then open it like a directory
/// context: `Context::open(dir.path(), dir.path() / "Dockerfile")`.
Result<TempDir> extract_tar_context(int fd, const fs::path& tmp_parent = {});

}  // namespace cbuild::context
