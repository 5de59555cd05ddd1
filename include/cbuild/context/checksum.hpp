#pragma once
/// Content checksums of COPY/ADD selections, for cache keys.
///
/// The digest covers exactly the selected files, in selection order: for each its
/// destination path, type, mode (permission bits plus setuid/setgid/sticky), raw uid and gid
/// (the caller applies --chown by not using them or by hashing its override), symlink
/// target, device numbers and content digest — never mtimes, ctimes or inode numbers. A
/// touch, or a `git checkout` rewriting identical files, keeps the digest.
///
/// Content digests come from the stat cache when a file's stat data is unchanged (no read);
/// other files are read in 1 MiB blocks and hashed with SHA-256, on `threads` threads when
/// there are many. Files whose mtime/ctime fall in the second the checksum started are racy
/// and are not recorded (stat_cache.hpp).
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/context/select.hpp"
#include "cbuild/context/stat_cache.hpp"
#include "cbuild/util/digest.hpp"

namespace cbuild::context {

/// Tag of the checksum format, hashed first; bump it when the hashed fields change.
constexpr std::string_view k_checksum_version = "cbuild.context.checksum/1";

/// What the checksum saw of one selected file.
struct FileRecord {
  std::string path;  ///< in the context: names the file in explanations
  std::string dest;  ///< relative to the destination: what is hashed
  FileType type = FileType::regular;
  uint32_t mode = 0, uid = 0, gid = 0;
  uint64_t size = 0, rdev = 0;
  std::string link_target;
  Digest content;  ///< regular files only
  /// The source's inode and ctime when it was scanned (0: not known). While both are the
  /// same, nothing about the file changed: content, metadata, xattrs. Not part of `==`,
  /// which tells what a miss is explained by (a touch changes the ctime, not the file).
  struct Stamp {
    uint64_t ino = 0;
    int64_t ctime_ns = 0;
    bool known() const { return ino != 0 || ctime_ns != 0; }
    bool operator==(const Stamp&) const = default;
  };
  Stamp stamp;
  bool operator==(const FileRecord& o) const {
    return path == o.path && dest == o.dest && type == o.type && mode == o.mode && uid == o.uid && gid == o.gid &&
           size == o.size && rdev == o.rdev && link_target == o.link_target && content == o.content;
  }
};

/// What a checksum found. The per-file records are not made here: a cache hit never needs
/// them (only a miss is explained by them), and 20,000 of them cost more than the hashing of
/// a warm context. `file_records` makes them from the same selection.
struct ContentChecksum {
  Digest digest;
  std::vector<DigestBytes> contents;  ///< per selected file: its content digest (zeros unless regular)
};

/// Counters of one or more checksum calls (tests and reports assert on them).
struct HashStats {
  uint64_t files = 0;       ///< regular files needing a content digest
  uint64_t cache_hits = 0;  ///< taken from the stat cache without reading
  uint64_t files_read = 0;  ///< read and hashed
  uint64_t bytes_read = 0;
  uint64_t racy = 0;  ///< hashed but too recent to record
};

struct ChecksumOptions {
  StatCache* cache = nullptr;  ///< optional
  unsigned threads = 2;        ///< hashing threads when many files must be read
  int64_t now_ns = 0;          ///< scan start (CLOCK_REALTIME ns); 0 = now. A test seam.
};

/// Checksums `selection` (from `select_files(ctx, ...)`), committing stat cache changes in one
/// transaction. Adds to `*stats` when given.
Result<ContentChecksum> checksum(const Context& ctx, const Selection& selection,
                                 const ChecksumOptions& options = {}, HashStats* stats = nullptr);

/// The records of the files `sum` was computed over (`selection` as given to `checksum`).
std::vector<FileRecord> file_records(const Selection& selection, const ContentChecksum& sum);

/// Removes stat cache rows of files no longer in the context (deleted or now ignored) and
/// commits. Call it after a build's checksums. Rows are looked at only when there are more
/// of them than regular files in the context (a row of a deleted file can wait while a new
/// file has none).
Status prune_stat_cache(const Context& ctx, StatCache& cache);

/// Paths (in the context) that differ between two checksums' file lists.
struct FileDiff {
  std::vector<std::string> changed, added, removed;
  bool empty() const { return changed.empty() && added.empty() && removed.empty(); }
  /// "file changed: src/main.rs", "2 files changed: a, b", "file added: x", ... naming up to
  /// `max_paths` paths; "" when empty.
  std::string explain(size_t max_paths = 3) const;
};
FileDiff diff(const std::vector<FileRecord>& before, const std::vector<FileRecord>& after);

/// Records in a compact binary form (see records_bytes.cpp), to keep beside a cache key for
/// later diffs. Decoding fails on anything else (an entry of an older cbuild: no diff then).
/// Without `with_stamps`, every stamp is written as unknown.
std::string records_to_bytes(const std::vector<FileRecord>& records, bool with_stamps = true);
Result<std::vector<FileRecord>> records_from_bytes(std::string_view data);

}  // namespace cbuild::context
