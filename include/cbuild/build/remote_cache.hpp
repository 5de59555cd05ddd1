#pragma once
/// The build cache past one machine: `--cache-to` exports cache records (key → the layers of
/// the result) with their layer blobs, `--cache-from` imports them, so another store (a
/// fresh CI runner) gets cache hits and downloads only the layers it needs: those of the
/// image and those steps that miss run on (see src/build/lazy_results.hpp).
///
/// Specs (as buildx): `type=registry,ref=REG/REPO:TAG`, `type=local,dest=DIR` (export) /
/// `type=local,src=DIR` (import), `type=inline` (export: the records go into the built
/// image's config, so `--cache-from IMAGE` works on the pushed image itself); options
/// `mode=min` (default: the target stage's steps) or `mode=max` (every stage), and
/// `cache-mounts=true` (the contents of `RUN --mount=type=cache` directories travel too).
/// `--cache-from REF` without `type=` is `type=registry,ref=REF`.
///
/// Format, version 1: an OCI image manifest (so any registry stores it and an OCI layout
/// holds it) whose config is an image config with `rootfs.diff_ids` naming every blob in
/// manifest order (layers, then cache-mount archives) and a field `cbuild.cache.v1`:
///     {"records": [{"key", "identity", "created", "size", "chain": [diffID, … bottom → top]}],
///      "mounts": [{"id", "diff_id"}]}
/// Layers are gzip blobs; a cache-mount archive is the gzip tar of the directory. An
/// unchanged layer or mount has the same blob, so re-exporting uploads nothing new. A local
/// export is an OCI layout (`oci-layout`, `index.json` naming the manifest, `blobs/`).
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/layer/sink.hpp"
#include "cbuild/layer/writer.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::build {

namespace fs = std::filesystem;

inline constexpr std::string_view k_cache_field = "cbuild.cache.v1";

struct CacheSpec {
  enum class Type { registry, local, inline_ };
  Type type = Type::registry;
  std::string ref;  ///< registry: the cache (or image) reference
  fs::path dir;     ///< local: dest (export) or src (import)
  bool max = false;
  bool cache_mounts = false;
};

/// Parses a `--cache-to` (`for_export`) or `--cache-from` value. Errors: ExitCode::usage.
Result<CacheSpec> parse_cache_spec(std::string_view text, bool for_export);

/// One exported cache entry: a step key and the layers of its result.
struct RemoteRecord {
  std::string key;
  std::string identity;
  std::string created;
  uint64_t size = 0;
  std::vector<Digest> chain;  ///< diffIDs, base first; the result is the top
};

/// A cache-mount directory's contents as an archive.
struct RemoteMount {
  std::string id;
  Digest diff_id;
};

/// The `cbuild.cache.v1` JSON of records and mounts.
std::string cache_field_json(const std::vector<RemoteRecord>& records, const std::vector<RemoteMount>& mounts);

/// What an export needs from the builder.
struct CacheExportInput {
  std::vector<RemoteRecord> records;
  /// Writes the uncompressed layer tar of a diffID (built layers exist as snapshots).
  std::function<Status(const Digest& diff_id, layer::ByteSink& out)> layer_source;
  /// Cache mounts to export (when `cache_mounts`): id → directory, and what writes a
  /// directory of mapped files as a tar (the snapshotter's write_tree).
  std::map<std::string, fs::path> mounts;
  std::function<Result<layer::LayerDigests>(const fs::path&, layer::WriteOptions, layer::ByteSink&)> tree_writer;
  std::vector<std::string> insecure_registries;
};

/// Exports to a registry or a local directory (inline exports are the builder's).
Status export_cache(store::Store& store, const CacheSpec& spec, const CacheExportInput& input);

/// An imported cache: its records by key, and the blobs behind them (fetched on demand into
/// the local store, verified, remembered as layer records so they are never fetched twice).
class CacheImport {
 public:
  static Result<CacheImport> load(store::Store& store, const CacheSpec& spec,
                                  const std::vector<std::string>& insecure_registries);
  CacheImport(CacheImport&&) noexcept;
  CacheImport& operator=(CacheImport&&) noexcept;
  ~CacheImport();

  const RemoteRecord* find(const std::string& key) const;
  const std::vector<RemoteMount>& mounts() const;
  /// Makes sure the store holds a blob of the layer or mount archive `diff_id`; returns
  /// the path of a stored blob holding it.
  Result<fs::path> ensure_blob(const Digest& diff_id);
  /// "registry 127.0.0.1:5000/cache:main" / "local DIR", for messages.
  const std::string& name() const;

  struct Impl;

 private:
  explicit CacheImport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace cbuild::build
