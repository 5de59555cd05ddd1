#pragma once
/// Garbage collection, disk usage and consistency checks over a Store.
///
/// Reachability (what prune keeps):
///   - image records that are tagged (untagged ones too unless `dangling_images`);
///   - from an image: its manifest blob; for an index, the child manifests present (recursively);
///     for a manifest, `config.digest` and every `layers[].digest`; from the config,
///     `rootfs.diff_ids` → the snapshots whose id is the chain id of each prefix;
///   - cache entries → their referenced snapshots and blobs;
///   - a kept snapshot keeps its parent chain; the diff_id of a kept snapshot or of a kept
///     image config keeps the layer records (and their blobs) for that diff_id.
/// Everything else is removed: blobs, layer records, snapshot rows and directories,
/// snapshot directories without a row, and temp sessions of dead processes.
#include "cbuild/store/store.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cbuild::store {

struct PruneOptions {
  bool all = false;                     ///< drop the whole build cache (every cache entry)
  std::optional<uint64_t> keep_storage; ///< evict cache entries LRU until build cache ≤ this
  bool cache_mounts = false;            ///< also remove every cache mount
  bool dangling_images = true;          ///< remove untagged image records
  std::chrono::milliseconds lock_timeout{30000};  ///< wait this long for running writers
};

struct PruneReport {
  uint64_t images = 0, cache_entries = 0, snapshots = 0, blobs = 0, layer_records = 0,
           cache_mounts = 0, orphan_dirs = 0;
  uint64_t bytes_freed = 0;
};

/// Remove what nothing references (see file comment), under the exclusive GC lock.
Result<PruneReport> prune(Store& store, const PruneOptions& options);

/// Usage of one kind of object. Kinds, in order: "images" (blobs reachable from images),
/// "layers" (snapshots reachable from images), "build cache" (snapshots and blobs kept only
/// by cache entries), "unreferenced" (removable now), "cache mounts", "temporary".
struct UsageEntry {
  std::string kind;
  uint64_t count = 0;
  uint64_t bytes = 0;
  uint64_t reclaimable = 0;  ///< bytes `prune --all --cache-mounts` would free
};
Result<std::vector<UsageEntry>> disk_usage(Store& store);

struct CheckReport {
  std::vector<std::string> problems;  ///< inconsistencies (check fails)
  std::vector<std::string> notes;     ///< harmless findings, e.g. garbage that prune removes
  uint64_t blobs = 0, images = 0, tags = 0, layer_records = 0, snapshots = 0, cache_entries = 0;
  bool ok() const { return problems.empty(); }
};

/// Verify the store: every blob file's name and digest (a corrupt blob is reported and
/// removed, as on read), every row's references (manifest/config blobs, manifest layers
/// unless present as a snapshot, layer-record blobs, cache refs, snapshot parents and
/// directories), stray files under blobs/. Runs under the exclusive GC lock (waiting up to
/// `lock_timeout`): writers that create or delete objects hold leases, so a check concurrent
/// with builds reports only real inconsistencies. Do not call it while holding a lease.
Result<CheckReport> check(Store& store, bool verify_digests = true,
                          std::chrono::milliseconds lock_timeout = std::chrono::milliseconds(60000));

/// Parse a size as docker's `--keep-storage` does (binary units, case-insensitive):
/// "1000" bytes, "512k"/"512kb"/"512KiB", "10m", "10GB" (= 10 GiB), "1.5g", "2t".
Result<uint64_t> parse_size(std::string_view text);
/// "1.5GB"-style (powers of 1000, 3 significant digits), as docker prints sizes.
std::string format_size(uint64_t bytes);

}  // namespace cbuild::store
