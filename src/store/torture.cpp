#include "cbuild/store/torture.hpp"

#include "cbuild/store/gc.hpp"

#include <nlohmann/json.hpp>

#include <fstream>
#include <random>

namespace cbuild::store {

namespace {

struct Torturer {
  Store& store;
  const TortureOptions& options;
  std::mt19937_64 rng;
  TortureStats stats;

  uint64_t pick(uint64_t n) { return std::uniform_int_distribution<uint64_t>(0, n - 1)(rng); }
  std::string name(std::string_view kind, uint64_t n) { return fmt::format("{}-{}-{}", options.writer, kind, n); }

  // A blob streamed in chunks, large enough that a kill often lands mid-write.
  Result<Descriptor> blob(std::string_view seed) {
    auto writer = TRY(store.begin_blob());
    const uint64_t chunks = 1 + pick(16);
    std::string chunk(16384, '\0');
    for (uint64_t i = 0; i < chunks; ++i) {
      for (size_t j = 0; j < chunk.size(); j += 8) chunk[j] = static_cast<char>(rng());
      TRY(writer.write(chunk));
    }
    TRY(writer.write(seed));
    ++stats.blobs;
    return writer.commit();
  }

  Status image() {
    FileLock lease = TRY(store.lease());
    nlohmann::json manifest = {{"schemaVersion", 2},
                               {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                               {"layers", nlohmann::json::array()}};
    nlohmann::json config = {{"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
    for (uint64_t i = 0, n = 1 + pick(3); i < n; ++i) {
      auto layer = TRY(blob("layer"));
      Digest diff = Digest::of(layer.digest.str());
      TRY(store.put_layer({diff, "gzip", "application/vnd.oci.image.layer.v1.tar+gzip", layer}));
      manifest["layers"].push_back({{"digest", layer.digest.str()}, {"size", layer.size}});
      config["rootfs"]["diff_ids"].push_back(diff.str());
    }
    auto config_blob = TRY(store.put_blob(config.dump()));
    manifest["config"] = {{"digest", config_blob.digest.str()}, {"size", config_blob.size}};
    auto manifest_blob = TRY(store.put_blob(manifest.dump()));
    ++stats.tags;
    return store.set_tag(name("image", pick(20)) + ":latest",
                         ImageRecord{manifest_blob.digest, config_blob.digest,
                                     "application/vnd.oci.image.manifest.v1+json", manifest_blob.size, 0});
  }

  Status snapshot() {
    FileLock lease = TRY(store.lease());
    auto snapshots = TRY(store.list_snapshots());
    std::string parent;
    if (!snapshots.empty() && pick(2)) parent = snapshots[pick(snapshots.size())].id;
    fs::path staging = TRY(store.begin_snapshot());
    for (uint64_t i = 0, n = 1 + pick(20); i < n; ++i) {
      std::ofstream(staging / fmt::format("file{}", i)) << std::string(pick(8192), 'x');
      if (i % 5 == 4) fs::create_directories(staging / fmt::format("dir{}/sub", i));
    }
    SnapshotRecord record;
    record.id = name("snap", stats.operations);
    record.parent = parent;
    record.diff_id = Digest::of(record.id);
    record.size = 4096;
    auto committed = store.commit_snapshot(staging, record);
    if (!committed.ok() && committed.error().code == ExitCode::not_found) return {};  // parent removed meanwhile
    TRY(std::move(committed));
    auto extra = TRY(blob("cache"));
    ++stats.snapshots;
    ++stats.cache_entries;
    auto cached = store.put_cache(CacheRecord{name("key", pick(40)), fmt::format(R"({{"op":{}}})", stats.operations),
                                              4096, 0, 0, {record.id}, {extra.digest}});
    // The other writer's remove() may have taken the snapshot in between; the store
    // rightly refuses a cache entry naming a missing snapshot.
    if (!cached.ok() && cached.error().message.find("not found") != std::string::npos) return {};
    return cached;
  }

  Status remove() {
    ++stats.removals;
    switch (pick(4)) {
      case 0: {
        auto tags = TRY(store.list_tags());
        if (!tags.empty()) TRY(store.remove_tag(tags[pick(tags.size())].name));
        return {};
      }
      case 1: {
        auto entries = TRY(store.list_cache());
        if (!entries.empty()) TRY(store.remove_cache(entries[pick(entries.size())].key));
        return {};
      }
      case 2: {
        auto snaps = TRY(store.list_snapshots());
        if (snaps.empty()) return {};
        auto removed = store.remove_snapshot(snaps[pick(snaps.size())].id);
        // Refused while it has children, or already removed by the other writer: both fine.
        if (!removed.ok() && removed.error().message.find("is built on it") == std::string::npos &&
            removed.error().code != ExitCode::not_found)
          return removed;
        return {};
      }
      default: {
        auto mount = TRY(store.cache_mount(name("mount", pick(3))));
        std::ofstream(fs::path(mount.path) / "data") << std::string(pick(4096), 'm');
        return {};
      }
    }
  }

  Status prune_now() {
    PruneOptions opts;
    opts.lock_timeout = std::chrono::milliseconds(2000);
    opts.keep_storage = pick(2) ? std::optional<uint64_t>(2 << 20) : std::nullopt;
    auto report = prune(store, opts);
    if (!report.ok() && report.error().message.find("timed out") == std::string::npos) return std::move(report).error();
    ++stats.prunes;
    return {};
  }
};

}  // namespace

Result<TortureStats> torture(Store& store, const TortureOptions& options) {
  Torturer t{store, options, std::mt19937_64(options.seed ? options.seed : std::random_device{}()), {}};
  const auto deadline = std::chrono::steady_clock::now() + options.duration;
  while (std::chrono::steady_clock::now() < deadline) {
    const uint64_t op = t.pick(20);
    Status st = op < 8 ? t.image() : op < 14 ? t.snapshot() : op < 19 ? t.remove() : t.prune_now();
    if (!st.ok()) return std::move(st).error().wrap("torture operation {}", t.stats.operations);
    ++t.stats.operations;
  }
  return t.stats;
}

}  // namespace cbuild::store
