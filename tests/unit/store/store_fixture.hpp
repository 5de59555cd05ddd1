#pragma once
// Shared helpers for the store's unit tests: a store in a temp dir and small image builders.
#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <fstream>
#include <string>
#include <vector>

namespace cbuild::store::test {

template <typename T>
T must(Result<T> r) {
  if (!r.ok()) FAIL("unexpected error: " << r.error().message);
  if constexpr (!std::is_void_v<T>) return std::move(r).value();
}

inline void must_ok(const Status& s) {
  if (!s.ok()) FAIL("unexpected error: " << s.error().message);
}

struct StoreDir {
  TempDir dir = must(TempDir::create("cbuild-store-test-"));
  fs::path root() const { return dir.path() / "root"; }
  Store open() const { return must(Store::open(root())); }
};

/// An image made of blobs in `store`: config with rootfs.diff_ids, layer blobs, manifest.
struct TestImage {
  ImageRecord record;
  std::vector<Digest> layers;
  std::vector<Digest> diff_ids;
};

inline TestImage make_image(Store& store, const std::string& seed, int layer_count = 2) {
  TestImage image;
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
                             {"layers", nlohmann::json::array()}};
  nlohmann::json config = {{"architecture", "amd64"}, {"os", "linux"},
                           {"rootfs", {{"type", "layers"}, {"diff_ids", nlohmann::json::array()}}}};
  for (int i = 0; i < layer_count; ++i) {
    std::string content = seed + "-layer-" + std::to_string(i);
    auto blob = must(store.put_blob(content));
    Digest diff = Digest::of("uncompressed " + content);
    image.layers.push_back(blob.digest);
    image.diff_ids.push_back(diff);
    manifest["layers"].push_back({{"mediaType", "application/vnd.oci.image.layer.v1.tar+gzip"},
                                   {"digest", blob.digest.str()}, {"size", blob.size}});
    config["rootfs"]["diff_ids"].push_back(diff.str());
  }
  auto config_blob = must(store.put_blob(config.dump()));
  manifest["config"] = {{"mediaType", "application/vnd.oci.image.config.v1+json"},
                        {"digest", config_blob.digest.str()}, {"size", config_blob.size}};
  auto manifest_blob = must(store.put_blob(manifest.dump()));
  image.record = ImageRecord{manifest_blob.digest, config_blob.digest,
                             "application/vnd.oci.image.manifest.v1+json", manifest_blob.size, 0};
  return image;
}

/// Commit a snapshot holding one file.
inline SnapshotRecord make_snapshot(Store& store, const std::string& id, const std::string& parent,
                                    const Digest& diff_id, uint64_t size = 100, const std::string& base = "") {
  auto staging = must(store.begin_snapshot());
  std::ofstream(staging / "file") << id;
  SnapshotRecord rec;
  rec.id = id;
  rec.parent = parent;
  rec.diff_id = diff_id;
  rec.size = size;
  rec.base = base;
  return must(store.commit_snapshot(staging, rec));
}

}  // namespace cbuild::store::test
