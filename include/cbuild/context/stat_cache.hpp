#pragma once
/// The stat cache: remembers the content digest of each context file under its stat data,
/// so a later checksum of an unchanged file needs no read.
///
/// On-disk format, version 2 — one flat file per context, its path chosen by the caller (the
/// builder uses `<store root>/contexts/<sha256 of the absolute context path>.stat`), in the
/// machine's byte order:
///   header  (32 bytes)  magic "cbstat\0\n", u32 version (2), u32 record count,
///                       u64 file length, u64 check (stat_cache_check of every byte after
///                       the header)
///   records (80 bytes each, sorted by path in walk order (context.hpp): the order of a
///                       context scan)
///           u64 size, i64 mtime_ns, i64 ctime_ns, u64 ino,
///           u32 mode (full st_mode), u32 path offset (into the path bytes), u32 path length,
///           u32 zero, u8[32] raw SHA-256 of the content
///   path bytes          each path relative to the context root, not terminated
/// A file that is short, has another magic or version, a wrong length or check, or a path
/// out of bounds is treated as empty (it is a cache). Loading maps the file read-only and
/// keeps no per-row copy: lookups binary-search the records, or take the record after the
/// previous hit (a scan visits paths in the records' order). Changes are buffered;
/// `commit()` writes them, merged with the file as it is then on disk (another process may
/// have committed since the load), to a temporary file in the same directory that then
/// replaces the old one atomically (AtomicFile, Durability::unsynced): a reader sees the old or the new
/// file, never a mix; of two concurrent commits the last one wins and both files are valid;
/// a process killed at any moment leaves at worst a stray temporary file. Nothing is written
/// when nothing changed. Commits are not fsynced: after a power loss the check rejects a
/// damaged file.
/// A version 1 SQLite database beside the file (`.db`, `.db-wal`, `.db-shm`) is removed.
///
/// Racy entries (git's racy-clean rule): a file whose mtime or ctime is not older than the
/// start of the second in which its scan began could change again without its stat data
/// changing, so it is never recorded; the next scan hashes it again (see checksum.hpp).
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/context/context.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::context {

constexpr int k_stat_cache_version = 2;

/// The 32 raw bytes of a SHA-256 content digest.
using DigestBytes = std::array<uint8_t, 32>;

/// The stat data a cached digest is valid for.
struct StatKey {
  uint64_t size = 0;
  int64_t mtime_ns = 0, ctime_ns = 0;
  uint64_t ino = 0;
  uint32_t mode = 0;  ///< full st_mode
  bool operator==(const StatKey&) const = default;
};

/// `<store_root>/contexts/<sha256 hex of the context's canonical absolute path>.stat`.
fs::path stat_cache_path(const fs::path& store_root, const fs::path& context_dir);

/// The check of the stat cache header: a 64-bit hash of `data` (not cryptographic).
uint64_t stat_cache_check(std::string_view data);

class StatCache {
 public:
  /// Maps the file at `path` (none yet, or damaged: an empty cache). Errors only when the
  /// file exists but cannot be read.
  static Result<StatCache> open(const fs::path& path);
  StatCache(StatCache&&) noexcept;
  StatCache& operator=(StatCache&&) noexcept;
  ~StatCache();

  /// The digest recorded for `path` when its stat data still equals `key`. `hint`, when
  /// given, is where the caller expects the path (start at 0; updated past each hit): a
  /// caller visiting paths in walk order then finds each with one comparison. Thread-safe
  /// against other lookups (each thread with its own hint), not against changes.
  std::optional<Digest> lookup(std::string_view path, const StatKey& key, size_t* hint = nullptr) const;
  /// As lookup, the raw bytes (no digest text to format for each of 20,000 files).
  std::optional<DigestBytes> lookup_bytes(std::string_view path, const StatKey& key, size_t* hint = nullptr) const;
  /// Buffers a row for the next commit.
  void record(std::string_view path, const StatKey& key, const Digest& digest);
  /// Buffers the removal of a row (a file gone from the context).
  void forget(std::string_view path);
  /// Buffers the removal of every row whose path `keep` rejects (asked in walk order); gives
  /// how many.
  size_t forget_unless(const std::function<bool(std::string_view)>& keep);
  /// Paths with a row (loaded or recorded), in walk order.
  std::vector<std::string> paths() const;
  /// Writes buffered changes (merged with the file on disk) and maps the result; nothing to
  /// do writes nothing.
  Status commit();

  size_t size() const { return m_size; }
  const fs::path& path() const { return m_path; }

 private:
  struct Row {
    StatKey key;
    DigestBytes digest;
    bool operator==(const Row&) const = default;
  };
  struct WalkLess {
    using is_transparent = void;
    bool operator()(std::string_view a, std::string_view b) const { return walk_order(a, b) < 0; }
  };
  /// The mapped file: read-only, valid records only.
  struct Mapping {
    const char* data = nullptr;
    size_t length = 0;
    uint32_t count = 0;
    uint64_t dev = 0, ino = 0;
    int64_t mtime_ns = 0;  ///< identity of the file mapped, to see another process's commit
  };
  using Changes = std::map<std::string, std::optional<Row>, WalkLess>;  ///< nullopt = forget

  StatCache() = default;
  Status map_file();
  void unmap();
  std::string_view path_at(size_t i) const;
  Row row_at(size_t i) const;
  /// Index of `path` in the mapping, or SIZE_MAX.
  size_t find(std::string_view path, size_t* hint) const;
  bool live(std::string_view path);
  /// Calls `f` for every live row in walk order: the mapped records merged with the changes.
  void for_each_live(const std::function<void(std::string_view, const Row&)>& f) const;
  void change(std::string_view path, std::optional<Row> row);
  std::string serialize() const;

  fs::path m_path;
  Mapping m_map;
  Changes m_changes;
  size_t m_size = 0;         ///< live rows: mapped ones not forgotten plus new ones
  size_t m_change_hint = 0;  ///< find() hint of record()/forget(): they come in walk order
};

}  // namespace cbuild::context
