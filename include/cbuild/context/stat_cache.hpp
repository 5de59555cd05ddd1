#pragma once
/// The stat cache: remembers the content digest of each context file under its stat data,
/// so a later checksum of an unchanged file needs no read.
///
/// On-disk format, version 1 — one SQLite database per context, its path chosen by the
/// caller (the builder uses `<store root>/contexts/<sha256 of the absolute context path>.db`),
/// journal_mode=WAL, busy_timeout 10 s, so two processes can share it:
///   meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)     -- ('version', '1')
///   files(path TEXT PRIMARY KEY,      -- relative to the context root
///         size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER,
///         mode INTEGER,                -- full st_mode (type and permission bits)
///         digest TEXT NOT NULL)        -- "sha256:<hex>" of the file's content
/// A database with another version is emptied and rewritten. Rows are loaded once when the
/// cache is opened; changes are buffered and written by `commit()` in one transaction.
///
/// Racy entries (git's racy-clean rule): a file whose mtime or ctime is not older than the
/// start of the second in which its scan began could change again without its stat data
/// changing, so it is never recorded; the next scan hashes it again (see checksum.hpp).
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "cbuild/util/digest.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

struct sqlite3;

namespace cbuild::context {

constexpr int k_stat_cache_version = 1;

/// The stat data a cached digest is valid for.
struct StatKey {
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;  ///< full st_mode
  bool operator==(const StatKey&) const = default;
};

/// `<store_root>/contexts/<sha256 hex of the context's canonical absolute path>.db`.
fs::path stat_cache_path(const fs::path& store_root, const fs::path& context_dir);

class StatCache {
 public:
  /// Opens or creates the database (and its parent directory).
  static Result<StatCache> open(const fs::path& db_path);
  StatCache(StatCache&&) noexcept;
  StatCache& operator=(StatCache&&) noexcept;
  ~StatCache();

  /// The digest recorded for `path` when its stat data still equals `key`.
  std::optional<Digest> lookup(const std::string& path, const StatKey& key) const;
  /// Buffers a row for the next commit.
  void record(const std::string& path, const StatKey& key, const Digest& digest);
  /// Buffers the removal of a row (a file gone from the context).
  void forget(const std::string& path);
  /// Buffers the removal of every row whose path `keep` rejects; gives how many. Walks the
  /// rows in place: no copy of 20,000 paths as `paths()` makes.
  size_t forget_unless(const std::function<bool(std::string_view)>& keep);
  /// Paths with a row (loaded or recorded).
  std::vector<std::string> paths() const;
  /// Writes buffered changes in one transaction; nothing to do is not an error.
  Status commit();

  size_t size() const { return m_rows.size(); }
  const fs::path& path() const { return m_path; }

 private:
  struct Row {
    StatKey key;
    std::array<char, 64> hex;  ///< the digest's hex: no allocation per row when loading
  };
  StatCache() = default;
  Status load();
  fs::path m_path;
  sqlite3* m_db = nullptr;
  std::unordered_map<std::string, Row> m_rows;
  std::unordered_map<std::string, std::optional<Row>> m_pending;  ///< nullopt = delete
};

}  // namespace cbuild::context
