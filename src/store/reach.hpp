#pragma once
// Reachability over the store's objects, shared by prune, du and check (private header).
#include "cbuild/store/store.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace cbuild::store::detail {

/// Everything the store holds, loaded once (rows and blob files).
struct Inventory {
  std::vector<ImageRecord> images;
  std::set<std::string> tagged;  ///< manifest digests with at least one tag
  std::map<std::string, SnapshotRecord> snapshots;
  std::vector<CacheRecord> cache;  ///< least recently used first
  std::vector<LayerRecord> layers;
  std::map<std::string, uint64_t> blobs;  ///< blob files present: digest → size
};

/// A set of kept objects.
struct Reach {
  std::set<std::string> blobs;
  std::set<std::string> snapshots;
  std::set<std::string> diff_ids;
  uint64_t bytes(const Inventory& inv) const;
  bool has_blob(const std::string& d) const { return blobs.count(d) > 0; }
  bool has_snapshot(const std::string& id) const { return snapshots.count(id) > 0; }
};

/// What one image refers to, parsed from its manifest (index children recursively) and config.
struct ImageRefs {
  std::vector<Digest> manifests;  ///< the manifest and present child manifests
  std::vector<Digest> configs;
  std::vector<Digest> layers;     ///< layer blob digests named by manifests
  std::vector<Digest> diff_ids;   ///< from configs' rootfs.diff_ids
  std::vector<std::vector<Digest>> chains;  ///< per config, chain ids of its layers
  std::vector<std::string> problems;        ///< unreadable or malformed JSON
  std::vector<Digest> missing_children;     ///< index entries whose manifest is absent
};

Result<Inventory> load_inventory(Store& store);
ImageRefs image_refs(Store& store, const Digest& manifest);

/// Add an image's objects to `reach`.
void mark_image(Store& store, const Inventory& inv, const Digest& manifest, Reach& reach);
/// Add a cache entry's objects.
void mark_cache(const Inventory& inv, const CacheRecord& record, Reach& reach);
/// Close over snapshot parents and bases, snapshot/config diff_ids → layer records → their blobs.
void close_reach(const Inventory& inv, Reach& reach);

}  // namespace cbuild::store::detail
