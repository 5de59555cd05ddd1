#pragma once
/// A testing aid (`cbuild store torture`, hidden): performs realistic store writes in a loop
/// (streamed blobs, images with tags, snapshots with parents, cache entries, cache mounts,
/// removals and prunes) so crash and concurrency tests can kill it at any moment and then
/// run `cbuild store check`.
#include "cbuild/store/store.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace cbuild::store {

struct TortureOptions {
  std::chrono::milliseconds duration{5000};
  std::string writer = "w";  ///< names this writer's tags, snapshots and cache keys
  uint64_t seed = 0;         ///< 0: random
};

struct TortureStats {
  uint64_t operations = 0, blobs = 0, tags = 0, snapshots = 0, cache_entries = 0, removals = 0, prunes = 0;
};

/// Run until the duration has passed. Fails on any store error except a prune giving up on
/// the GC lock while another writer holds a lease.
Result<TortureStats> torture(Store& store, const TortureOptions& options);

}  // namespace cbuild::store
