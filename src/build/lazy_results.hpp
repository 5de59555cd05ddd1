#pragma once
// Remote cache hits without their layers. A hit in a `--cache-from` cache gives the step's
// result identity (what later keys hash) and the diffIDs of its layers; its result is the
// snapshot id those layers get once unpacked (the chain ID of the diffIDs), and nothing is
// downloaded yet. Blobs are fetched and unpacked only when a step runs on that result or
// reads it (`materialize`), and blobs alone when the image (or an exported cache) names the
// layer (`fetch_layers`). So a builder stage whose steps all hit is never downloaded when
// the final image does not contain it.
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/build/remote_cache.hpp"
#include "cbuild/snapshot/snapshotter.hpp"
#include "cbuild/store/store.hpp"

namespace cbuild::build {

class LazyResults {
 public:
  LazyResults(store::Store& store, snapshot::Snapshotter& snapshotter, std::vector<CacheImport>& imports)
      : m_store(store), m_snapshotter(snapshotter), m_imports(imports) {}

  /// The snapshot id a result with these layers (base first) has once unpacked; "" for none.
  static std::string snapshot_id(const std::vector<Digest>& chain);

  /// Records a hit of `imports[import]` (its result is `snapshot_id(record.chain)`, which
  /// may not exist yet); `entry` is its local cache entry, stored once that snapshot exists
  /// (at once when the result has no layers).
  Status add(size_t import, const RemoteRecord& record, store::CacheRecord entry);

  /// Makes `snapshot` exist when it is a lazy result: fetches and unpacks the layers the
  /// store lacks, then stores the cache entries of hits that are now complete. Any other id
  /// is left alone.
  Status materialize(const std::string& snapshot);

  /// The diffIDs (base first) of a lazy result, nullopt for any other snapshot.
  std::optional<std::vector<Digest>> chain(const std::string& snapshot) const;

  /// Makes the store hold a blob of each layer of `diff_ids` that came from an imported
  /// cache (others are left alone).
  Status fetch_layers(const std::vector<Digest>& diff_ids);

 private:
  struct Chain {
    size_t import = 0;
    std::vector<Digest> diff_ids;
  };

  store::Store& m_store;
  snapshot::Snapshotter& m_snapshotter;
  std::vector<CacheImport>& m_imports;
  mutable std::mutex m_mutex;                 // guards the maps; held while unpacking (one chain at a time)
  std::map<std::string, Chain> m_chains;      // snapshot id → its layers
  std::map<Digest, size_t> m_layers;          // diffID → the import that has its blob
  std::vector<store::CacheRecord> m_pending;  // entries waiting for their snapshot
};

}  // namespace cbuild::build
