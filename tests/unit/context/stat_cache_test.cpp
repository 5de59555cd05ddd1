// The stat cache file: round trip, walk order, damaged files, pruning, no write when nothing
// changed, concurrent writers.
#include "cbuild/context/stat_cache.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <thread>

#include "cbuild/context/context.hpp"
#include "context_fixture.hpp"

using namespace cbuild;
using namespace cbuild::context;
using cbuild::context::test::ContextDir;

namespace {

StatKey key_for(uint64_t n) { return StatKey{n, int64_t(n) * 1000 + 1, int64_t(n) * 1000 + 2, n + 7, 0100644}; }
Digest digest_for(std::string_view path) { return Digest::of(path); }

/// Records `paths` (key from the index, digest from the path) and commits.
void fill(const fs::path& file, const std::vector<std::string>& paths) {
  auto cache = StatCache::open(file);
  REQUIRE(cache.ok());
  for (size_t i = 0; i < paths.size(); ++i) cache->record(paths[i], key_for(i), digest_for(paths[i]));
  REQUIRE(cache->commit().ok());
}

/// Every one of `paths` is served with its digest.
void check_all(const StatCache& cache, const std::vector<std::string>& paths) {
  CHECK(cache.size() == paths.size());
  size_t hint = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    auto hit = cache.lookup(paths[i], key_for(i), &hint);
    REQUIRE(hit);
    CHECK(*hit == digest_for(paths[i]));
  }
}

struct FileId {
  ino_t ino;
  int64_t mtime_ns;
  bool operator==(const FileId&) const = default;
};
FileId id_of(const fs::path& p) {
  struct stat st;
  REQUIRE(::stat(p.c_str(), &st) == 0);
  return {st.st_ino, int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

std::string bytes_of(const fs::path& p) { return read_file(p).value(); }
void put(const fs::path& p, std::string_view bytes) { REQUIRE(write_file_atomic(p, bytes).ok()); }

const std::vector<std::string> k_paths = {"Dockerfile", "a", "a/b", "a/b/c", "a-c", "a.b", "b", "z/\xc3\xbc"};

}  // namespace

TEST_CASE("walk_order puts a directory's contents right after it, as the scan does", "[stat-cache]") {
  CHECK(walk_order("a", "a") == 0);
  CHECK(walk_order("a", "a/b") < 0);
  CHECK(walk_order("a/b", "a-c") < 0);  // bytewise '-' < '/', but the scan visits a/ first
  CHECK(walk_order("a-c", "a/b") > 0);
  CHECK(walk_order("a/z", "a0") < 0);
  CHECK(walk_order("b", "a/b") > 0);
  ContextDir d;
  for (const char* p : {"a/b/c", "a-c/x", "a.b", "a0/y", "ab", "b/a b", "b/a-b", "b/a/b", "B", "\xc3\xbc"})
    d.file(p, "x");
  auto m = PatternMatcher::create({});
  auto ctx = Context::scan(d.root(), *m);
  REQUIRE(ctx.ok());
  std::vector<std::string> scanned;
  for (const auto& e : ctx->entries()) scanned.push_back(e.path);
  CHECK(std::is_sorted(scanned.begin(), scanned.end(),
                       [](const std::string& a, const std::string& b) { return walk_order(a, b) < 0; }));
  for (const auto& e : ctx->entries()) CHECK(ctx->find(e.path) == &e);  // a binary search in that order
  CHECK(ctx->find("a/b/c/d") == nullptr);
  CHECK(ctx->find("a/") == nullptr);
}

TEST_CASE("the stat cache file round-trips rows in walk order", "[stat-cache]") {
  TempDir dir = TempDir::create("cbuild-statcache-").value();
  fs::path file = dir.path() / "contexts" / "ctx.stat";
  {
    auto empty = StatCache::open(file);  // no file yet: empty, nothing created
    REQUIRE(empty.ok());
    CHECK(empty->size() == 0);
    REQUIRE(empty->commit().ok());
    CHECK(!fs::exists(file));
  }
  std::vector<std::string> shuffled = k_paths;
  std::reverse(shuffled.begin(), shuffled.end());
  fill(file, shuffled);
  auto cache = StatCache::open(file);
  REQUIRE(cache.ok());
  check_all(*cache, shuffled);
  std::vector<std::string> walk = k_paths;
  CHECK(cache->paths() == walk);
  SECTION("another stat key is a miss") {
    CHECK(!cache->lookup("a/b", key_for(99)));
    CHECK(!cache->lookup("nothing", key_for(0)));
  }
  SECTION("lookups out of order and with stale hints find every row") {
    size_t hint = 5;
    for (size_t i = 0; i < shuffled.size(); ++i) CHECK(cache->lookup(shuffled[i], key_for(i), &hint));
    hint = 1000;
    CHECK(cache->lookup("a", key_for(shuffled.size() - 2), &hint));
    CHECK(hint == 2);
  }
  SECTION("a record replaces a row and a forget removes it, until commit in memory only") {
    cache->record("a/b", key_for(42), Digest::of("new"));
    cache->record("new/file", key_for(43), Digest::of("n"));
    cache->forget("b");
    cache->forget("not/there");
    CHECK(cache->size() == k_paths.size());
    CHECK(*cache->lookup("a/b", key_for(42)) == Digest::of("new"));
    CHECK(!cache->lookup("b", key_for(1)));
    REQUIRE(cache->commit().ok());
    auto reopened = StatCache::open(file);
    REQUIRE(reopened.ok());
    CHECK(reopened->size() == k_paths.size());
    CHECK(*reopened->lookup("a/b", key_for(42)) == Digest::of("new"));
    CHECK(*reopened->lookup("new/file", key_for(43)) == Digest::of("n"));
    CHECK(!reopened->lookup("b", key_for(1)));
  }
}

TEST_CASE("a cache with nothing new writes nothing", "[stat-cache]") {
  TempDir dir = TempDir::create("cbuild-statcache-").value();
  fs::path file = dir.path() / "ctx.stat";
  fill(file, k_paths);
  FileId before = id_of(file);
  auto cache = StatCache::open(file);
  REQUIRE(cache.ok());
  check_all(*cache, k_paths);
  cache->record("a", key_for(1), digest_for("a"));  // what is already there
  cache->forget("not/there");
  CHECK(cache->forget_unless([](std::string_view) { return true; }) == 0);
  REQUIRE(cache->commit().ok());
  CHECK(id_of(file) == before);
  CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);  // no temp file
}

TEST_CASE("a damaged stat cache file is an empty cache, rewritten at the next commit", "[stat-cache]") {
  TempDir dir = TempDir::create("cbuild-statcache-").value();
  fs::path file = dir.path() / "ctx.stat";
  fill(file, k_paths);
  const std::string good = bytes_of(file);
  REQUIRE(good.size() > 32 + 80 * k_paths.size());
  auto expect_empty = [&] {
    auto cache = StatCache::open(file);
    REQUIRE(cache.ok());
    CHECK(cache->size() == 0);
    CHECK(!cache->lookup("a", key_for(1)));
    CHECK(cache->paths().empty());
    cache->record("x", key_for(5), Digest::of("x"));
    REQUIRE(cache->commit().ok());
    auto again = StatCache::open(file);
    REQUIRE(again.ok());
    CHECK(again->size() == 1);
    CHECK(again->lookup("x", key_for(5)));
  };
  SECTION("torn at any of several offsets") {
    for (size_t at : {size_t{0}, size_t{1}, size_t{31}, size_t{32}, size_t{33}, size_t{32 + 80}, good.size() / 2,
                      good.size() - 1}) {
      INFO("truncated at " << at);
      put(file, good.substr(0, at));
      expect_empty();
    }
  }
  SECTION("one byte changed in the records or in the paths") {
    for (size_t at : {size_t{40}, size_t{32 + 80 + 50}, good.size() - 3}) {
      INFO("byte " << at);
      std::string bad = good;
      bad[at] = static_cast<char>(bad[at] ^ 0x10);
      put(file, bad);
      expect_empty();
    }
  }
  SECTION("junk, zeros, another version, longer than its header says") {
    std::string junk(good.size(), '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 + 7);
    std::string version = good;
    version[8] = 1;
    for (const std::string& bad : {junk, std::string(good.size(), '\0'), version, good + "extra"}) {
      put(file, bad);
      expect_empty();
    }
  }
  SECTION("an old SQLite database beside it is removed") {
    fs::remove(file);
    for (const char* old : {"ctx.db", "ctx.db-wal", "ctx.db-shm"}) put(dir.path() / old, "SQLite format 3");
    expect_empty();
    CHECK(!fs::exists(dir.path() / "ctx.db"));
    CHECK(!fs::exists(dir.path() / "ctx.db-wal"));
    CHECK(!fs::exists(dir.path() / "ctx.db-shm"));
  }
}

TEST_CASE("forget_unless drops the rejected rows and commits their removal", "[stat-cache]") {
  TempDir db_dir = TempDir::create("cbuild-statcache-").value();
  fs::path db = db_dir.path() / "ctx.stat";
  Digest content = Digest::of("x");
  {
    auto cache = StatCache::open(db);
    REQUIRE(cache.ok());
    for (std::string path : {"keep/a", "keep/b", "gone/c"})
      cache->record(path, StatKey{1, 2, 3, 4, 0100644}, content);
    REQUIRE(cache->commit().ok());
    cache->record("gone/d", StatKey{1, 2, 3, 4, 0100644}, content);  // not committed yet: dropped too
    CHECK(cache->forget_unless([](std::string_view p) { return p.starts_with("keep/"); }) == 2);
    CHECK(cache->size() == 2);
    CHECK(!cache->lookup("gone/c", StatKey{1, 2, 3, 4, 0100644}));
    CHECK(!cache->lookup("gone/d", StatKey{1, 2, 3, 4, 0100644}));
    REQUIRE(cache->commit().ok());
  }
  auto reopened = StatCache::open(db);
  REQUIRE(reopened.ok());
  CHECK(reopened->size() == 2);
  CHECK(reopened->paths() == std::vector<std::string>{"keep/a", "keep/b"});
  auto hit = reopened->lookup("keep/a", StatKey{1, 2, 3, 4, 0100644});
  REQUIRE(hit);
  CHECK(*hit == content);
  CHECK(!reopened->lookup("keep/a", StatKey{1, 2, 3, 5, 0100644}));
}

TEST_CASE("two stat caches on one file both commit", "[stat-cache]") {
  TempDir db_dir = TempDir::create("cbuild-statcache-").value();
  fs::path db = db_dir.path() / "ctx.stat";
  fill(db, {"old", "z"});
  auto one = StatCache::open(db);
  auto two = StatCache::open(db);
  REQUIRE(one.ok());
  REQUIRE(two.ok());
  one->record("a.txt", key_for(1), Digest::of("a"));
  two->record("b.txt", key_for(2), Digest::of("b"));
  two->forget("old");
  REQUIRE(one->commit().ok());
  REQUIRE(two->commit().ok());  // merged onto what `one` wrote
  CHECK(two->size() == 3);
  auto three = StatCache::open(db);
  REQUIRE(three.ok());
  CHECK(three->paths() == std::vector<std::string>{"a.txt", "b.txt", "z"});
}

TEST_CASE("concurrent writers leave a valid file", "[stat-cache]") {
  TempDir dir = TempDir::create("cbuild-statcache-").value();
  fs::path file = dir.path() / "ctx.stat";
  // Each writer commits its own rows many times; every file seen is whole, and the last
  // one holds rows with the right digests.
  auto writer = [&](std::string prefix) {
    for (int round = 0; round < 30; ++round) {
      auto cache = StatCache::open(file);
      if (!cache) return false;
      for (int i = 0; i < 50; ++i) {
        std::string path = fmt::format("{}/{:02}/{}", prefix, i, round);
        cache->record(path, key_for(static_cast<uint64_t>(i)), digest_for(path));
      }
      if (!cache->commit()) return false;
    }
    return true;
  };
  auto check_file = [&] {
    auto cache = StatCache::open(file);
    REQUIRE(cache.ok());
    CHECK(cache->size() >= 50);  // at least the last commit's rows (a race may drop others)
    for (const auto& path : cache->paths()) {
      uint64_t i = std::stoull(path.substr(path.find('/') + 1, 2));
      auto hit = cache->lookup(path, key_for(i));
      REQUIRE(hit);
      CHECK(*hit == digest_for(path));
    }
    CHECK(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()) == 1);  // no temp file
  };
  SECTION("threads") {
    bool a = false, b = false;
    std::thread t([&] { a = writer("t1"); });
    b = writer("t2");
    t.join();
    CHECK(a);
    CHECK(b);
    check_file();
  }
  SECTION("processes") {
    std::vector<pid_t> children;
    for (const char* prefix : {"p1", "p2", "p3"}) {
      pid_t pid = ::fork();
      REQUIRE(pid >= 0);
      if (pid == 0) ::_exit(writer(prefix) ? 0 : 1);
      children.push_back(pid);
    }
    for (pid_t pid : children) {
      int status = 0;
      REQUIRE(::waitpid(pid, &status, 0) == pid);
      CHECK((WIFEXITED(status) && WEXITSTATUS(status) == 0));
    }
    check_file();
  }
}

TEST_CASE("stat_cache_path names one file per context directory", "[stat-cache]") {
  ContextDir d;
  d.dir("sub");
  fs::path a = stat_cache_path("/store", d.root());
  CHECK(a.parent_path() == "/store/contexts");
  CHECK(a.extension() == ".stat");
  CHECK(a == stat_cache_path("/store", d.root() / "sub" / ".."));
  CHECK(a != stat_cache_path("/store", d.root() / "sub"));
}
