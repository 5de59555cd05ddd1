#pragma once
/// Rows of the store's metadata database (see store.hpp for the schema). Plain data.
#include "cbuild/util/digest.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace cbuild::store {

/// A blob as stored: its digest and size in bytes.
struct Descriptor {
  Digest digest;
  uint64_t size = 0;
  bool operator==(const Descriptor&) const = default;
};

/// An image known to the store, keyed by its manifest digest. `media_type` is the manifest's
/// (OCI manifest/index or docker v2s2). `config` may be empty for an index.
struct ImageRecord {
  Digest manifest;
  Digest config;
  std::string media_type;
  uint64_t size = 0;    ///< total size as the image module reports it (informational)
  int64_t created = 0;  ///< unix seconds when first stored
};

/// A name → image binding. Names are stored exactly as given; the image module normalizes
/// references (`docker.io/library/busybox:latest`) before calling the store.
struct TagRecord {
  std::string name;
  ImageRecord image;
  int64_t updated = 0;  ///< unix seconds of the last set_tag
};

/// A compressed (or not) blob holding a layer whose uncompressed tar has `diff_id`.
/// Remembered so the same layer is never compressed twice. `compression` is one of
/// "gzip", "zstd", "none".
struct LayerRecord {
  Digest diff_id;
  std::string compression;
  std::string media_type;
  Descriptor blob;
};

/// An unpacked layer tree under snapshots/. `id` is the OCI chain id of the layer stack
/// ("sha256:..."; see chain_id) or another name made of [A-Za-z0-9._-]. `parent` is the id
/// of the snapshot below (empty for a base layer). `info` is free-form JSON text owned by
/// the snapshotter (e.g. ownership mapping); the store does not interpret it.
struct SnapshotRecord {
  std::string id;
  std::string parent;
  Digest diff_id;
  uint64_t size = 0;      ///< bytes of the tree, as measured by the snapshotter
  int64_t created = 0;    ///< unix seconds (set by the store when 0)
  int64_t last_used = 0;  ///< unix seconds (set by the store when 0)
  std::string info;
  /// A snapshot this one's directory is stacked on ("" for none): the directory holds what
  /// differs from `base`'s, which must stay while this one does (see Snapshotter::commit).
  std::string base;
};

/// One build-cache entry: a cache key → a record (JSON text owned by the cache module),
/// with the store objects it needs. While the entry exists its snapshots and blobs are kept
/// by GC; `--keep-storage` evicts entries least recently used first.
struct CacheRecord {
  std::string key;                     ///< usually a digest string
  std::string record;                  ///< JSON text, not interpreted by the store
  uint64_t size = 0;                   ///< bytes the owner attributes to this entry
  int64_t created = 0;                 ///< unix seconds (set by the store when 0)
  int64_t last_used = 0;               ///< unix seconds (set by the store when 0)
  std::vector<std::string> snapshots;  ///< snapshot ids this entry keeps alive
  std::vector<Digest> blobs;           ///< blobs this entry keeps alive
};

/// A persistent `RUN --mount=type=cache` directory under cache-mounts/.
struct CacheMountRecord {
  std::string id;         ///< the mount's id (BuildKit default: the target path)
  std::string path;       ///< absolute path of the directory
  uint64_t size = 0;      ///< bytes, as last measured (set_cache_mount_size / du)
  int64_t created = 0;
  int64_t last_used = 0;
};

/// OCI chain id: chain(L0) = diff(L0); chain(Ln) = sha256(chain(Ln-1) + " " + diff(Ln)).
Digest chain_id(const Digest& parent_chain, const Digest& diff_id);
/// Chain ids of every prefix of a layer stack (same length as `diff_ids`).
std::vector<Digest> chain_ids(const std::vector<Digest>& diff_ids);

}  // namespace cbuild::store
