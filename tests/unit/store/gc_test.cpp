#include "cbuild/store/gc.hpp"

#include "store_fixture.hpp"

#include <sys/stat.h>

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;
using namespace std::chrono_literals;

namespace {
const UsageEntry& usage(const std::vector<UsageEntry>& entries, const std::string& kind) {
  for (const auto& e : entries)
    if (e.kind == kind) return e;
  FAIL("no usage kind " << kind);
  return entries.front();
}
}  // namespace

TEST_CASE("prune keeps what tagged images and cache entries reference", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto kept = make_image(store, "kept");
  auto dangling = make_image(store, "dangling");
  must_ok(store.set_tag("kept:1", kept.record));
  must_ok(store.put_image(dangling.record));
  // Snapshots of the tagged image's layers (by chain id) and a zstd copy of its first layer.
  auto chains = chain_ids(kept.diff_ids);
  make_snapshot(store, chains[0].str(), "", kept.diff_ids[0], 10);
  make_snapshot(store, chains[1].str(), chains[0].str(), kept.diff_ids[1], 20);
  auto zstd = must(store.put_blob("zstd copy"));
  must_ok(store.put_layer({kept.diff_ids[0], "zstd", "application/vnd.oci.image.layer.v1.tar+zstd", zstd}));
  // A cache entry keeps a snapshot chain and a blob; another snapshot and blob are garbage.
  make_snapshot(store, "cache-base", "", Digest::of("cb"), 30);
  make_snapshot(store, "cache-top", "cache-base", Digest::of("ct"), 40);
  auto cache_blob = must(store.put_blob("cache blob"));
  must_ok(store.put_cache(CacheRecord{"k", "{}", 0, 0, 0, {"cache-top"}, {cache_blob.digest}}));
  make_snapshot(store, "garbage", "", Digest::of("g"), 50);
  auto garbage_gz = must(store.put_blob("garbage gz"));
  must_ok(store.put_layer({Digest::of("g"), "gzip", "m", garbage_gz}));
  auto loose = must(store.put_blob("loose"));
  fs::create_directories(dir.root() / "snapshots" / "orphan-dir" / "sub");

  auto report = must(prune(store, PruneOptions{}));
  CHECK(report.images == 1);
  CHECK(report.snapshots == 1);
  CHECK(report.layer_records == 1);
  CHECK(report.orphan_dirs == 1);
  CHECK(report.cache_entries == 0);
  // dangling image: manifest, config, 2 layers; garbage gz; loose.
  CHECK(report.blobs == 6);

  for (const auto& d : {kept.record.manifest, kept.record.config, kept.layers[0], kept.layers[1], zstd.digest,
                        cache_blob.digest})
    CHECK(store.has_blob(d));
  for (const auto& d : {dangling.record.manifest, dangling.layers[0], garbage_gz.digest, loose.digest})
    CHECK_FALSE(store.has_blob(d));
  CHECK(must(store.get_snapshot(chains[1].str())));
  CHECK(must(store.get_snapshot("cache-base")));
  CHECK_FALSE(must(store.get_snapshot("garbage")));
  CHECK_FALSE(fs::exists(store.snapshot_path("garbage")));
  CHECK_FALSE(fs::exists(dir.root() / "snapshots" / "orphan-dir"));
  CHECK_FALSE(must(store.get_image(dangling.record.manifest)));
  CHECK(must(store.find_layer(kept.diff_ids[0], "zstd")));
  CHECK(must(check(store)).ok());

  // Nothing left to remove: a second prune is a no-op.
  auto second = must(prune(store, PruneOptions{}));
  CHECK(second.blobs + second.snapshots + second.images + second.layer_records == 0);

  // Untagging makes the image dangling; --all drops the build cache too.
  CHECK(must(store.remove_tag("kept:1")));
  PruneOptions all;
  all.all = true;
  auto third = must(prune(store, all));
  CHECK(third.images == 1);
  CHECK(third.cache_entries == 1);
  CHECK(third.snapshots == 4);
  CHECK(must(store.list_blobs()).empty());
  CHECK(must(store.list_snapshots()).empty());
}

TEST_CASE("prune follows image indexes to present child manifests", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto child = make_image(store, "amd64");
  nlohmann::json index = {{"schemaVersion", 2},
                          {"mediaType", "application/vnd.oci.image.index.v1+json"},
                          {"manifests",
                           {{{"digest", child.record.manifest.str()}, {"size", child.record.size}},
                            {{"digest", Digest::of("arm64 manifest not pulled").str()}, {"size", 10}}}}};
  auto idx = must(store.put_blob(index.dump()));
  must_ok(store.set_tag("multi:1", ImageRecord{idx.digest, {}, "application/vnd.oci.image.index.v1+json", idx.size, 0}));
  auto report = must(prune(store, PruneOptions{}));
  CHECK(report.blobs == 0);
  CHECK(store.has_blob(child.record.config));
  CHECK(store.has_blob(child.layers[1]));
  auto result = must(check(store));
  CHECK(result.ok());
  REQUIRE(result.notes.size() == 1);
  CHECK_THAT(result.notes[0], Catch::Contains("other platform"));
}

TEST_CASE("keep_storage evicts cache entries least recently used first", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  make_snapshot(store, "shared", "", Digest::of("s"), 100);
  make_snapshot(store, "old", "shared", Digest::of("o"), 100);
  make_snapshot(store, "mid", "shared", Digest::of("m"), 100);
  make_snapshot(store, "new", "shared", Digest::of("n"), 100);
  must_ok(store.put_cache(CacheRecord{"old", "{}", 0, 0, 1000, {"old"}, {}}));
  must_ok(store.put_cache(CacheRecord{"mid", "{}", 0, 0, 2000, {"mid"}, {}}));
  must_ok(store.put_cache(CacheRecord{"new", "{}", 0, 0, 3000, {"new"}, {}}));
  // Build cache: shared (counted once) + 3 × 100 = 400 bytes.
  CHECK(usage(must(disk_usage(store)), "build cache").bytes == 400);
  PruneOptions opts;
  opts.keep_storage = 250;
  auto report = must(prune(store, opts));
  CHECK(report.cache_entries == 2);
  CHECK(report.snapshots == 2);
  CHECK(must(store.get_cache("new")));
  CHECK_FALSE(must(store.get_cache("old")));
  CHECK(must(store.get_snapshot("shared")));
  CHECK_FALSE(must(store.get_snapshot("mid")));
  CHECK(usage(must(disk_usage(store)), "build cache").bytes == 200);
  opts.keep_storage = 200;
  CHECK(must(prune(store, opts)).cache_entries == 0);
}

TEST_CASE("prune --cache-mounts clears cache mounts", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto mount = must(store.cache_mount("/var/cache/apt"));
  std::ofstream(fs::path(mount.path) / "pkg.deb") << std::string(1000, 'x');
  CHECK(usage(must(disk_usage(store)), "cache mounts").bytes == 1000);
  CHECK(must(prune(store, PruneOptions{})).cache_mounts == 0);
  CHECK(fs::exists(mount.path));
  PruneOptions opts;
  opts.cache_mounts = true;
  auto report = must(prune(store, opts));
  CHECK(report.cache_mounts == 1);
  CHECK(report.bytes_freed >= 1000);
  CHECK_FALSE(fs::exists(mount.path));
  CHECK(must(store.list_cache_mounts()).empty());
}

TEST_CASE("prune waits for leases held by writers", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto lease = must(store.lease());
  auto blob = must(store.put_blob("not referenced yet"));
  PruneOptions opts;
  opts.lock_timeout = 50ms;
  auto blocked = prune(store, opts);
  REQUIRE_FALSE(blocked.ok());
  CHECK_THAT(blocked.error().message, Catch::Contains("timed out"));
  CHECK(store.has_blob(blob.digest));
  lease.release();
  CHECK(must(prune(store, opts)).blobs == 1);
}

TEST_CASE("disk_usage reports each kind", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto image = make_image(store, "img");
  must_ok(store.set_tag("img:1", image.record));
  auto chains = chain_ids(image.diff_ids);
  make_snapshot(store, chains[0].str(), "", image.diff_ids[0], 7);
  must(store.put_blob(std::string(123, 'z')));
  auto usage_list = must(disk_usage(store));
  REQUIRE(usage_list.size() == 6);
  const auto& images = usage(usage_list, "images");
  CHECK(images.count == 1);
  uint64_t expected = 0;
  for (const auto& d : {image.record.manifest, image.record.config, image.layers[0], image.layers[1]})
    expected += must(store.blob_size(d));
  CHECK(images.bytes == expected);
  CHECK(images.reclaimable == 0);
  CHECK(usage(usage_list, "layers").bytes == 7);
  CHECK(usage(usage_list, "unreferenced").bytes == 123);
  CHECK(usage(usage_list, "unreferenced").count == 1);
}

TEST_CASE("check finds corrupt blobs, missing files and stray files", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto image = make_image(store, "img");
  must_ok(store.set_tag("img:1", image.record));
  make_snapshot(store, "snap", "", Digest::of("x"));
  must_ok(store.put_cache(CacheRecord{"k", "{}", 0, 0, 0, {"snap"}, {}}));
  auto clean = must(check(store));
  CHECK(clean.ok());
  CHECK(clean.blobs == 4);
  CHECK(clean.images == 1);
  CHECK(clean.snapshots == 1);

  ::chmod(store.blob_path(image.layers[0]).c_str(), 0644);
  std::ofstream(store.blob_path(image.layers[0]), std::ios::trunc) << "bit rot";
  fs::remove_all(store.snapshot_path("snap"));
  std::ofstream(dir.root() / "blobs/sha256/partial.tmp") << "x";
  auto broken = must(check(store));
  REQUIRE_FALSE(broken.ok());
  std::string all;
  for (const auto& p : broken.problems) all += p + "\n";
  CHECK_THAT(all, Catch::Contains("blob " + image.layers[0].str() + " is corrupt"));
  CHECK_THAT(all, Catch::Contains("layer blob " + image.layers[0].str() + " missing"));
  CHECK_THAT(all, Catch::Contains("snapshot `snap`: directory"));
  CHECK_THAT(all, Catch::Contains("stray file"));
  CHECK_FALSE(store.has_blob(image.layers[0]));
}

TEST_CASE("a missing layer blob is fine when the layer is present unpacked", "[gc]") {
  StoreDir dir;
  Store store = dir.open();
  auto image = make_image(store, "built", 1);
  must_ok(store.set_tag("built:1", image.record));
  make_snapshot(store, chain_ids(image.diff_ids)[0].str(), "", image.diff_ids[0]);
  ::unlink(store.blob_path(image.layers[0]).c_str());
  CHECK(must(check(store)).ok());
}

TEST_CASE("sizes parse like docker's --keep-storage and print like docker", "[gc]") {
  CHECK(must(parse_size("1000")) == 1000);
  CHECK(must(parse_size("512k")) == 512 * 1024);
  CHECK(must(parse_size("10MB")) == 10ULL << 20);
  CHECK(must(parse_size("10GiB")) == 10ULL << 30);
  CHECK(must(parse_size("1.5g")) == 3ULL << 29);
  CHECK(must(parse_size("2T")) == 2ULL << 40);
  CHECK_FALSE(parse_size("").ok());
  CHECK_FALSE(parse_size("10 parsecs").ok());
  CHECK_FALSE(parse_size("-5").ok());
  CHECK(format_size(999) == "999B");
  CHECK(format_size(1500) == "1.5kB");
  CHECK(format_size(123456789) == "123MB");
}
