#include "cbuild/store/gc.hpp"
#include "store_fixture.hpp"

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

TEST_CASE("chain ids follow the OCI definition", "[snapshots]") {
  auto a = must(Digest::parse("sha256:ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"));
  auto b = must(Digest::parse("sha256:3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"));
  auto chains = chain_ids({a, b});
  REQUIRE(chains.size() == 2);
  CHECK(chains[0] == a);
  CHECK(chains[1].str() == "sha256:51c0c8ace48498d6f5fee6b0592cc06f2da0f3cbe09c5a34a97dce85c3889676");
}

TEST_CASE("snapshots are committed from staging, looked up, touched and listed", "[snapshots]") {
  StoreDir dir;
  Store store = dir.open();
  Digest d1 = Digest::of("l1"), d2 = Digest::of("l2");
  auto c = chain_ids({d1, d2});
  auto base = make_snapshot(store, c[0].str(), "", d1, 10);
  CHECK(base.created > 0);
  CHECK(base.last_used == base.created);
  fs::path path = store.snapshot_path(c[0].str());
  CHECK(path == dir.root() / "snapshots" / std::string(c[0].hex()));
  CHECK(fs::exists(path / "file"));
  auto top = make_snapshot(store, c[1].str(), c[0].str(), d2, 20);
  CHECK(top.parent == c[0].str());
  must_ok(store.touch_snapshot(c[0].str(), 12345));
  CHECK(must(store.get_snapshot(c[0].str()))->last_used == 12345);
  CHECK(must(store.list_snapshots()).size() == 2);
  CHECK_FALSE(store.touch_snapshot("nope").ok());
  CHECK(fs::is_empty(must(store.session_dir())));
}

TEST_CASE("committing an existing snapshot keeps the first and discards the staging tree", "[snapshots]") {
  StoreDir dir;
  Store store = dir.open();
  make_snapshot(store, "snap-a", "", Digest::of("a"), 1);
  auto staging = must(store.begin_snapshot());
  std::ofstream(staging / "other") << "x";
  SnapshotRecord again{"snap-a", "", Digest::of("a"), 999, 0, 0, "", ""};
  auto got = must(store.commit_snapshot(staging, again));
  CHECK(got.size == 1);
  CHECK_FALSE(fs::exists(staging));
  CHECK_FALSE(fs::exists(store.snapshot_path("snap-a") / "other"));

  // A complete directory left without a row (crash between rename and insert) is adopted.
  auto orphan = store.snapshot_path("snap-b");
  fs::create_directories(orphan);
  std::ofstream(orphan / "kept") << "complete tree";
  auto staging2 = must(store.begin_snapshot());
  auto adopted = must(store.commit_snapshot(staging2, SnapshotRecord{"snap-b", "", Digest::of("b"), 5, 0, 0, "{}", ""}));
  CHECK(adopted.info == "{}");
  CHECK(fs::exists(orphan / "kept"));
  CHECK(fs::is_empty(must(store.session_dir())));
}

TEST_CASE("snapshot validation: parents, bases, ids", "[snapshots]") {
  StoreDir dir;
  Store store = dir.open();
  auto staging = must(store.begin_snapshot());
  auto r = store.commit_snapshot(staging, SnapshotRecord{"child", "missing-parent", Digest::of("c"), 1, 0, 0, "", ""});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("parent `missing-parent` not found"));
  r = store.commit_snapshot(staging, SnapshotRecord{"stacked", "", Digest::of("d"), 1, 0, 0, "", "missing-base"});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("base `missing-base` not found"));
  CHECK_FALSE(store.commit_snapshot(staging, SnapshotRecord{"../escape", "", Digest::of("c"), 1, 0, 0, "", ""}).ok());
  CHECK_FALSE(store.commit_snapshot(staging, SnapshotRecord{"sha256:short", "", Digest::of("c"), 1, 0, 0, "", ""}).ok());
  CHECK_FALSE(fs::exists(dir.root() / "escape"));
}

TEST_CASE("remove_snapshot refuses parents and drops cache entries that use it", "[snapshots]") {
  StoreDir dir;
  Store store = dir.open();
  make_snapshot(store, "base", "", Digest::of("1"));
  make_snapshot(store, "top", "base", Digest::of("2"));
  must_ok(store.put_cache(CacheRecord{"key", "{}", 0, 0, 0, {"top"}, {}}));
  auto r = store.remove_snapshot("base");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("`top` is built on it"));
  must_ok(store.remove_snapshot("top"));
  CHECK_FALSE(must(store.get_cache("key")));
  CHECK_FALSE(fs::exists(store.snapshot_path("top")));
  must_ok(store.remove_snapshot("base"));
  CHECK(must(store.list_snapshots()).empty());
  CHECK(store.remove_snapshot("base").error().code == ExitCode::not_found);
}

TEST_CASE("a snapshot's base is not removed under it, and prune keeps it", "[snapshots]") {
  StoreDir dir;
  Store store = dir.open();
  make_snapshot(store, "parent", "", Digest::of("p"));
  make_snapshot(store, "previous", "parent", Digest::of("1"));
  CHECK(must(store.get_snapshot("previous"))->base.empty());
  make_snapshot(store, "rerun", "parent", Digest::of("2"), 100, "previous");
  CHECK(must(store.get_snapshot("rerun"))->base == "previous");
  must_ok(store.put_cache(CacheRecord{"key", "{}", 0, 0, 0, {"rerun"}, {}}));

  auto refused = store.remove_snapshot("previous");
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("`rerun` is built on it"));
  auto report = must(prune(store, PruneOptions{}));
  CHECK(report.snapshots == 0);
  CHECK(must(store.get_snapshot("previous")));
  CHECK(fs::exists(store.snapshot_path("previous") / "file"));
  CHECK(must(check(store)).problems.empty());

  must_ok(store.remove_snapshot("rerun"));
  must_ok(store.remove_snapshot("previous"));
}

TEST_CASE("cache mounts get a persistent directory per id", "[snapshots]") {
  StoreDir dir;
  Store store = dir.open();
  auto pip = must(store.cache_mount("/root/.cache/pip"));
  CHECK(fs::is_directory(pip.path));
  CHECK(fs::path(pip.path).parent_path() == dir.root() / "cache-mounts");
  std::ofstream(fs::path(pip.path) / "wheel") << "data";
  auto again = must(store.cache_mount("/root/.cache/pip"));
  CHECK(again.path == pip.path);
  CHECK(fs::exists(fs::path(again.path) / "wheel"));
  auto other = must(store.cache_mount("npm"));
  CHECK(other.path != pip.path);
  must_ok(store.set_cache_mount_size("npm", 42));
  auto mounts = must(store.list_cache_mounts());
  REQUIRE(mounts.size() == 2);
  CHECK(mounts[1].id == "npm");
  CHECK(mounts[1].size == 42);
  CHECK(must(store.remove_cache_mount("/root/.cache/pip")));
  CHECK_FALSE(fs::exists(pip.path));
  CHECK_FALSE(must(store.remove_cache_mount("/root/.cache/pip")));
  CHECK_FALSE(store.cache_mount("").ok());
}
