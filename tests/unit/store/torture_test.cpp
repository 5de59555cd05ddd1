#include "cbuild/store/torture.hpp"

#include "cbuild/store/gc.hpp"
#include "store_fixture.hpp"

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

TEST_CASE("torture performs every kind of write and leaves a consistent store", "[torture]") {
  StoreDir dir;
  Store store = dir.open();
  TortureOptions options;
  options.duration = std::chrono::milliseconds(700);
  options.writer = "unit";
  options.seed = 42;
  auto stats = must(torture(store, options));
  CHECK(stats.operations > 10);
  CHECK(stats.blobs > 0);
  CHECK(stats.tags > 0);
  CHECK(stats.snapshots > 0);
  auto report = must(check(store));
  for (const auto& p : report.problems) UNSCOPED_INFO(p);
  CHECK(report.ok());
  CHECK(report.blobs > 0);
  CHECK(fs::is_empty(must(store.session_dir())));
}
