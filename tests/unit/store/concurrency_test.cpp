// Several processes and threads writing one store at once; afterwards everything each of
// them committed must be there and the store must check clean.
#include "cbuild/store/gc.hpp"

#include "store_fixture.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <thread>

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

namespace {

constexpr int k_rounds = 30;

// One writer's work: per round an image (blobs + tag) and a cache entry, created under a
// lease so a concurrent prune cannot collect them in between; plus contended shared names.
Status write_rounds(Store& store, const std::string& who) {
  for (int round = 0; round < k_rounds; ++round) {
    FileLock lease = TRY(store.lease());
    std::string seed = who + "-" + std::to_string(round);
    auto layer = TRY(store.put_blob("layer " + seed));
    auto shared = TRY(store.put_blob("same content in every writer"));
    nlohmann::json config = {{"rootfs", {{"type", "layers"}, {"diff_ids", {Digest::of(seed).str()}}}}};
    auto config_blob = TRY(store.put_blob(config.dump()));
    nlohmann::json manifest = {{"schemaVersion", 2},
                               {"config", {{"digest", config_blob.digest.str()}}},
                               {"layers", {{{"digest", layer.digest.str()}}, {{"digest", shared.digest.str()}}}}};
    auto manifest_blob = TRY(store.put_blob(manifest.dump()));
    ImageRecord image{manifest_blob.digest, config_blob.digest, "application/vnd.oci.image.manifest.v1+json",
                      manifest_blob.size, 0};
    TRY(store.transaction([&]() -> Status {
      TRY(store.set_tag(who + ":" + std::to_string(round), image));
      TRY(store.set_tag("shared:latest", image));
      TRY(store.put_cache(CacheRecord{"key-" + seed, "{\"n\":" + std::to_string(round) + "}", 1, 0, 0, {},
                                      {layer.digest}}));
      return store.put_cache(CacheRecord{"shared-key", "{}", 1, 0, 0, {}, {shared.digest}});
    }));
  }
  return {};
}

pid_t spawn(const std::function<Status()>& work) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  Status st = work();
  if (!st.ok()) ::fprintf(stderr, "child %d: %s\n", ::getpid(), st.error().message.c_str());
  ::_exit(st.ok() ? 0 : 1);
}

void verify_writers(Store& store, const std::vector<std::string>& writers) {
  for (const auto& who : writers) {
    for (int round = 0; round < k_rounds; ++round) {
      auto tag = must(store.get_tag(who + ":" + std::to_string(round)));
      REQUIRE(tag);
      CHECK(must(store.read_blob(tag->image.manifest)).find(tag->image.config.str()) != std::string::npos);
      auto entry = must(store.get_cache("key-" + who + "-" + std::to_string(round)));
      REQUIRE(entry);
      CHECK(entry->record == "{\"n\":" + std::to_string(round) + "}");
    }
  }
  CHECK(must(store.get_tag("shared:latest")));
  auto report = must(check(store));
  for (const auto& p : report.problems) UNSCOPED_INFO(p);
  CHECK(report.ok());
}

}  // namespace

TEST_CASE("two processes write tags, blobs and cache entries at once while a third prunes", "[concurrency]") {
  StoreDir dir;
  { dir.open(); }  // create the layout once; the writers race on everything else
  std::vector<pid_t> pids;
  for (const char* who : {"alpha", "beta"})
    pids.push_back(spawn([&, who]() -> Status {
      Store store = TRY(Store::open(dir.root()));
      return write_rounds(store, who);
    }));
  pids.push_back(spawn([&]() -> Status {
    Store store = TRY(Store::open(dir.root()));
    PruneOptions opts;
    opts.lock_timeout = std::chrono::seconds(60);
    for (int i = 0; i < 5; ++i) {
      TRY(prune(store, opts));
      ::usleep(20000);
    }
    return {};
  }));
  for (pid_t pid : pids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  Store store = dir.open();
  verify_writers(store, {"alpha", "beta"});
  CHECK(must(store.list_cache()).size() == 2 * k_rounds + 1);
  CHECK(must(prune(store, PruneOptions{})).blobs == 0);  // everything written is referenced
}

TEST_CASE("several threads share one Store", "[concurrency]") {
  StoreDir dir;
  Store store = dir.open();
  std::vector<std::thread> threads;
  std::vector<Status> results(3);
  for (int t = 0; t < 3; ++t)
    threads.emplace_back([&, t] { results[static_cast<size_t>(t)] = write_rounds(store, "thread" + std::to_string(t)); });
  for (auto& thread : threads) thread.join();
  for (const auto& r : results) {
    if (!r.ok()) FAIL(r.error().message);
  }
  verify_writers(store, {"thread0", "thread1", "thread2"});
}
