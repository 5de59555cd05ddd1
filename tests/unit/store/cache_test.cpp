#include "store_fixture.hpp"

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

TEST_CASE("cache entries store records, references and use times", "[cache]") {
  StoreDir dir;
  Store store = dir.open();
  auto blob = must(store.put_blob("layer"));
  make_snapshot(store, "s1", "", Digest::of("d1"));
  CacheRecord rec{"sha256:key1", R"({"step":"RUN make"})", 1234, 0, 0, {"s1"}, {blob.digest}};
  must_ok(store.put_cache(rec));
  auto got = must(store.get_cache("sha256:key1"));
  REQUIRE(got);
  CHECK(got->record == rec.record);
  CHECK(got->size == 1234);
  CHECK(got->snapshots == std::vector<std::string>{"s1"});
  CHECK(got->blobs == std::vector<Digest>{blob.digest});
  CHECK(got->created > 0);

  must_ok(store.touch_cache("sha256:key1", 100));
  must_ok(store.put_cache(CacheRecord{"sha256:key2", "{}", 1, 0, 50, {}, {}}));
  auto list = must(store.list_cache());
  REQUIRE(list.size() == 2);
  CHECK(list[0].key == "sha256:key2");  // least recently used first
  CHECK(list[1].last_used == 100);
  CHECK(list[1].snapshots.size() == 1);

  // Replacing an entry replaces its references.
  must_ok(store.put_cache(CacheRecord{"sha256:key1", "{}", 0, 0, 0, {}, {}}));
  CHECK(must(store.get_cache("sha256:key1"))->snapshots.empty());
  CHECK(must(store.remove_cache("sha256:key1")));
  CHECK_FALSE(must(store.remove_cache("sha256:key1")));
  CHECK_FALSE(store.touch_cache("sha256:key1").ok());
}

TEST_CASE("cache entries cannot reference missing objects", "[cache]") {
  StoreDir dir;
  Store store = dir.open();
  auto r = store.put_cache(CacheRecord{"k", "{}", 0, 0, 0, {"no-such-snapshot"}, {}});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("snapshot `no-such-snapshot` not found"));
  CHECK_FALSE(store.put_cache(CacheRecord{"k", "{}", 0, 0, 0, {}, {Digest::of("absent")}}).ok());
  CHECK_FALSE(store.put_cache(CacheRecord{"", "{}", 0, 0, 0, {}, {}}).ok());
  CHECK(must(store.list_cache()).empty());
}
