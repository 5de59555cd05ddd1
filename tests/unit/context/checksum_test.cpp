// Content checksums: what changes them and what does not, the stat cache and its racy rule.
#include "cbuild/context/checksum.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>

#include <catch2/catch.hpp>

#include "context_fixture.hpp"

using namespace cbuild;
using namespace cbuild::context;
using cbuild::context::test::ContextDir;

namespace {

int64_t real_now() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
/// A scan time well after every file's mtime: nothing is racy.
int64_t later() { return real_now() + 10'000'000'000; }

void populate(const ContextDir& d) {
  d.file("src/main.rs", "fn main() {}\n");
  d.file("src/lib.rs", "pub fn f() {}\n");
  d.file("Cargo.toml", "[package]\nname = \"x\"\n");
  d.symlink("main.rs", "src/link.rs");
}

struct Sum {
  ContentChecksum sum;
  std::vector<FileRecord> files;
  HashStats stats;
};

/// A scanned context and a selection in it (which points into the context).
struct Scanned {
  Context ctx;
  Selection sel;
};

Scanned scan_and_select(const ContextDir& d, std::vector<std::string> sources) {
  auto m = PatternMatcher::create({});
  auto ctx = Context::scan(d.root(), *m);
  REQUIRE(ctx.ok());
  SelectOptions opt;
  opt.sources = std::move(sources);
  auto sel = select_files(*ctx, opt);
  REQUIRE(sel.ok());
  return {std::move(*ctx), std::move(*sel)};
}

Sum sum_of(const ContextDir& d, std::vector<std::string> sources, StatCache* cache = nullptr,
           int64_t now = 0) {
  auto [ctx, sel] = scan_and_select(d, std::move(sources));
  Sum out;
  ChecksumOptions copt;
  copt.cache = cache;
  copt.now_ns = now ? now : later();
  auto r = checksum(ctx, sel, copt, &out.stats);
  REQUIRE(r.ok());
  out.sum = std::move(*r);
  out.files = file_records(sel, out.sum);
  return out;
}

void set_mtime(const fs::path& p, time_t sec) {
  struct timespec ts[2] = {{sec, 0}, {sec, 0}};
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace

TEST_CASE("the checksum ignores mtimes", "[checksum]") {
  ContextDir d;
  populate(d);
  auto before = sum_of(d, {"."});
  set_mtime(d.root() / "src/main.rs", 1000);
  d.file("Cargo.toml", "[package]\nname = \"x\"\n");  // rewritten with identical content
  auto after = sum_of(d, {"."});
  CHECK(before.sum.digest == after.sum.digest);
  CHECK(diff(before.files, after.files).empty());
}

TEST_CASE("the checksum sees content and mode and link targets and new or removed files", "[checksum]") {
  ContextDir d;
  populate(d);
  auto base = sum_of(d, {"."});

  SECTION("content") {
    d.file("src/main.rs", "fn main() { println!(); }\n");
    auto s = sum_of(d, {"."});
    CHECK(s.sum.digest != base.sum.digest);
    auto delta = diff(base.files, s.files);
    CHECK(delta.changed == std::vector<std::string>{"src/main.rs"});
    CHECK(delta.explain() == "file changed: src/main.rs");
  }
  SECTION("mode") {
    REQUIRE(::chmod((d.root() / "src/lib.rs").c_str(), 0755) == 0);
    auto s = sum_of(d, {"."});
    CHECK(s.sum.digest != base.sum.digest);
    CHECK(diff(base.files, s.files).changed == std::vector<std::string>{"src/lib.rs"});
  }
  SECTION("setuid bit") {
    REQUIRE(::chmod((d.root() / "src/lib.rs").c_str(), 04644) == 0);
    CHECK(sum_of(d, {"."}).sum.digest != base.sum.digest);
  }
  SECTION("symlink target") {
    d.remove("src/link.rs");
    d.symlink("lib.rs", "src/link.rs");
    auto s = sum_of(d, {"."});
    CHECK(s.sum.digest != base.sum.digest);
    CHECK(diff(base.files, s.files).explain() == "file changed: src/link.rs");
  }
  SECTION("new file") {
    d.file("src/new.rs", "");
    auto s = sum_of(d, {"."});
    CHECK(s.sum.digest != base.sum.digest);
    CHECK(diff(base.files, s.files).explain() == "file added: src/new.rs");
  }
  SECTION("removed file") {
    d.remove("Cargo.toml");
    auto s = sum_of(d, {"."});
    CHECK(s.sum.digest != base.sum.digest);
    CHECK(diff(base.files, s.files).explain() == "file removed: Cargo.toml");
  }
  SECTION("a file outside the selection does not count") {
    d.file("Cargo.toml", "changed");
    CHECK(sum_of(d, {"src"}).sum.digest == sum_of(d, {"src"}).sum.digest);
    CHECK(sum_of(d, {"src"}).sum.digest != base.sum.digest);
    auto src_before = sum_of(d, {"src"});
    d.file("Cargo.toml", "changed again");
    CHECK(sum_of(d, {"src"}).sum.digest == src_before.sum.digest);
  }
}

TEST_CASE("per-file records name type and mode and content", "[checksum]") {
  ContextDir d;
  populate(d);
  auto s = sum_of(d, {"src"});
  REQUIRE(s.files.size() == 3);
  const auto& lib = s.files[0];
  CHECK(lib.path == "src/lib.rs");
  CHECK(lib.dest == "lib.rs");
  CHECK(lib.type == FileType::regular);
  CHECK(lib.mode == 0644);
  CHECK(lib.content == Digest::of("pub fn f() {}\n"));
  CHECK(s.files[1].type == FileType::symlink);
  CHECK(s.files[1].link_target == "main.rs");
  CHECK(s.stats.files == 2);
  CHECK(s.stats.files_read == 2);

  auto bytes = records_to_bytes(s.files);
  auto back = records_from_bytes(bytes);
  REQUIRE(back.ok());
  CHECK(*back == s.files);
  // Stamps: the source's inode and ctime, kept unless left out; not part of equality.
  struct stat st {};
  REQUIRE(::lstat((d.root() / "src/lib.rs").c_str(), &st) == 0);
  CHECK(lib.stamp.ino == static_cast<uint64_t>(st.st_ino));
  CHECK(lib.stamp.ctime_ns == static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec);
  for (size_t i = 0; i < s.files.size(); ++i) CHECK(((*back)[i].stamp == s.files[i].stamp));
  auto unstamped = records_from_bytes(records_to_bytes(s.files, false));
  REQUIRE(unstamped.ok());
  CHECK(*unstamped == s.files);
  for (const auto& r : *unstamped) CHECK_FALSE(r.stamp.known());
  // Every truncation is an error, never a shorter list; so is another format.
  for (size_t n = 0; n < bytes.size(); ++n) CHECK_FALSE(records_from_bytes(std::string_view(bytes).substr(0, n)).ok());
  CHECK_FALSE(records_from_bytes(bytes + "x").ok());
  CHECK_FALSE(records_from_bytes("[{\"path\": 1}]").ok());
  CHECK_FALSE(records_from_bytes("cbuild-records 1\n").ok());  // an older cbuild's: read as none
  // Damage past the magic is an error, or (a frame header bit the content does not depend on)
  // gives the same records: never other ones.
  size_t caught = 0;
  for (size_t at = 17; at < bytes.size(); ++at) {
    std::string damaged = bytes;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    auto read = records_from_bytes(damaged);
    caught += read.ok() ? 0 : 1;
    CHECK((!read.ok() || *read == s.files));
  }
  CHECK(caught + 4 >= bytes.size() - 17);
}

TEST_CASE("FileDiff::explain names a few paths", "[checksum]") {
  FileDiff d;
  d.changed = {"a", "b", "c", "d"};
  d.removed = {"x"};
  CHECK(d.explain(2) == "4 files changed: a, b, ...; file removed: x");
  CHECK(FileDiff{}.explain().empty());
}

TEST_CASE("an unchanged rescan reads no file content", "[checksum][stat-cache]") {
  ContextDir d;
  populate(d);
  for (int i = 0; i < 20; ++i) d.file(fmt::format("many/f{:02}", i), fmt::format("content {}", i));
  TempDir db_dir = TempDir::create("cbuild-statcache-").value();
  fs::path db = db_dir.path() / "contexts" / "ctx.stat";
  Sum cold;
  {
    auto cache = StatCache::open(db);
    REQUIRE(cache.ok());
    auto s = sum_of(d, {"."}, &*cache);
    CHECK(s.stats.files == 23);
    CHECK(s.stats.files_read == 23);
    CHECK(s.stats.cache_hits == 0);
    cold = s;
  }
  struct stat before;
  REQUIRE(::stat(db.c_str(), &before) == 0);
  auto cache = StatCache::open(db);  // a later build: a new process would see the same
  REQUIRE(cache.ok());
  CHECK(cache->size() == 23);
  auto warm = sum_of(d, {"."}, &*cache);
  CHECK(warm.stats.cache_hits == 23);
  CHECK(warm.stats.files_read == 0);
  CHECK(warm.stats.bytes_read == 0);
  CHECK(warm.sum.digest == cold.sum.digest);
  {
    // Nothing changed: the checksum and the pruning after it leave the file as it was.
    auto m = PatternMatcher::create({});
    auto ctx = Context::scan(d.root(), *m);
    REQUIRE(ctx.ok());
    REQUIRE(prune_stat_cache(*ctx, *cache).ok());
    struct stat after;
    REQUIRE(::stat(db.c_str(), &after) == 0);
    CHECK(after.st_ino == before.st_ino);
    CHECK(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
    CHECK(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
  }

  SECTION("a file that cannot be read any more is served from the cache") {
    // Scan, then make the content unreachable (unlinked, so even root cannot read it):
    // the checksum must come from the stat cache alone.
    auto m = PatternMatcher::create({});
    auto ctx = Context::scan(d.root(), *m);
    REQUIRE(ctx.ok());
    SelectOptions opt;
    opt.sources = {"src/main.rs", "many"};
    auto sel = select_files(*ctx, opt);
    REQUIRE(sel.ok());
    d.remove("src/main.rs");
    d.remove("many");
    ChecksumOptions copt;
    copt.cache = &*cache;
    copt.now_ns = later();
    HashStats stats;
    auto r = checksum(*ctx, *sel, copt, &stats);
    REQUIRE(r.ok());
    CHECK(stats.cache_hits == 21);
    CHECK(stats.files_read == 0);
    // Without the cache the same checksum needs the content and fails, naming the file.
    copt.cache = nullptr;
    auto uncached = checksum(*ctx, *sel, copt);
    REQUIRE_FALSE(uncached.ok());
    CHECK_THAT(uncached.error().message, Catch::Contains("read `") && Catch::Contains("No such file"));
  }
  SECTION("touch re-reads the file but keeps the digest") {
    set_mtime(d.root() / "src/main.rs", 2000);
    auto s = sum_of(d, {"."}, &*cache);
    CHECK(s.stats.files_read == 1);
    CHECK(s.stats.cache_hits == 22);
    CHECK(s.sum.digest == cold.sum.digest);
    auto again = sum_of(d, {"."}, &*cache);
    CHECK(again.stats.files_read == 0);
  }
  SECTION("a changed file is read, the others are not") {
    d.file("many/f07", "new content");
    auto s = sum_of(d, {"."}, &*cache);
    CHECK(s.stats.files_read == 1);
    CHECK(s.sum.digest != cold.sum.digest);
    CHECK(diff(cold.files, s.files).explain() == "file changed: many/f07");
  }
  SECTION("pruning forgets files gone from the context") {
    d.remove("many");
    auto m = PatternMatcher::create({});
    auto ctx = Context::scan(d.root(), *m);
    REQUIRE(ctx.ok());
    REQUIRE(prune_stat_cache(*ctx, *cache).ok());
    CHECK(cache->size() == 3);
    auto reopened = StatCache::open(db);
    REQUIRE(reopened.ok());
    CHECK(reopened->size() == 3);
  }
}

TEST_CASE("racy files are hashed again on the next scan", "[checksum][stat-cache]") {
  ContextDir d;
  TempDir db_dir = TempDir::create("cbuild-statcache-").value();
  auto cache = StatCache::open(db_dir.path() / "ctx.stat");
  REQUIRE(cache.ok());
  // Write both files within one second (retrying across a second boundary); the scans
  // below then claim to run in that same second.
  int64_t now = 0;
  for (int attempt = 0; attempt < 5 && now == 0; ++attempt) {
    d.file("a.txt", "a");
    d.file("b.txt", "b");
    set_mtime(d.root() / "b.txt", 1000);  // an old mtime, but its ctime is now
    struct stat a_st, b_st;
    REQUIRE(::stat((d.root() / "a.txt").c_str(), &a_st) == 0);
    REQUIRE(::stat((d.root() / "b.txt").c_str(), &b_st) == 0);
    if (a_st.st_mtim.tv_sec == b_st.st_ctim.tv_sec)
      now = int64_t(b_st.st_ctim.tv_sec) * 1'000'000'000 + 999'999'999;
  }
  REQUIRE(now != 0);
  auto first = sum_of(d, {"."}, &*cache, now);  // the scan runs in the second the files were written
  CHECK(first.stats.files_read == 2);
  CHECK(first.stats.racy == 2);
  CHECK(cache->size() == 0);
  CHECK(!fs::exists(db_dir.path() / "ctx.stat"));  // nothing recorded, nothing written
  auto second = sum_of(d, {"."}, &*cache, now);  // still the same second: not trusted
  CHECK(second.stats.files_read == 2);
  auto third = sum_of(d, {"."}, &*cache, now + 2'000'000'000);  // a later second: recorded
  CHECK(third.stats.files_read == 2);
  CHECK(third.stats.racy == 0);
  CHECK(cache->size() == 2);
  CHECK(StatCache::open(db_dir.path() / "ctx.stat")->size() == 2);
  auto fourth = sum_of(d, {"."}, &*cache, now + 3'000'000'000);
  CHECK(fourth.stats.files_read == 0);
  CHECK(fourth.sum.digest == first.sum.digest);
}

TEST_CASE("many changed files are hashed on two threads with the same result", "[checksum]") {
  ContextDir d;
  for (int i = 0; i < 64; ++i) d.file(fmt::format("f{:02}", i), std::string(10'000 + i, char('a' + i % 26)));
  auto [ctx, sel] = scan_and_select(d, {"."});
  ChecksumOptions one_thread;
  one_thread.threads = 1;
  ChecksumOptions two_threads;
  two_threads.threads = 2;
  auto a = checksum(ctx, sel, one_thread);
  auto b = checksum(ctx, sel, two_threads);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(a->digest == b->digest);
  auto b_files = file_records(sel, *b);
  CHECK(file_records(sel, *a) == b_files);
  CHECK(b_files[5].content == Digest::of(std::string(10'005, 'f')));
}

TEST_CASE("the checksum is KeyHasher's field-tagged encoding of the records", "[checksum]") {
  ContextDir d;
  d.file("bin/tool", "#!/bin/sh\n", 0755);
  d.symlink("tool", "bin/alias");
  auto s = sum_of(d, {"bin"});
  KeyHasher h(k_checksum_version);
  h.add("dest", "alias").add("type", "symlink").add("mode", int64_t{0777});
  h.add("uid", int64_t(::geteuid())).add("gid", int64_t(::getegid())).add("link", "tool");
  h.add("dest", "tool").add("type", "file").add("mode", int64_t{0755});
  h.add("uid", int64_t(::geteuid())).add("gid", int64_t(::getegid()));
  h.add("content", Digest::of("#!/bin/sh\n").str());
  CHECK(s.sum.digest == h.finish());
}

namespace {

/// The checksum written out from the records with KeyHasher (see the test above), for any
/// records: cache keys of every existing store depend on the digest staying the same.
Digest reference_digest(const std::vector<FileRecord>& files) {
  KeyHasher h(k_checksum_version);
  for (const auto& f : files) {
    h.add("dest", f.dest).add("type", to_string(f.type)).add("mode", int64_t{f.mode});
    h.add("uid", int64_t{f.uid}).add("gid", int64_t{f.gid});
    if (f.type == FileType::symlink) h.add("link", f.link_target);
    if (f.rdev) h.add("rdev", static_cast<int64_t>(f.rdev));
    if (f.type == FileType::regular) h.add("content", f.content.str());
  }
  return h.finish();
}

}  // namespace

TEST_CASE("the digest is the field-tagged hash of the file records", "[checksum]") {
  ContextDir d;
  populate(d);
  d.file("empty", "");
  d.dir("sub/deeper");
  d.symlink("/abs/target", "sub/abs");
  ::chmod((d.root() / "Cargo.toml").c_str(), 04755);
  for (const auto& sources : std::vector<std::vector<std::string>>{{"."}, {"src"}, {"src/lib.rs", "sub"}}) {
    auto s = sum_of(d, sources);
    CHECK(s.sum.digest == reference_digest(s.files));
  }
  // The same from the stat cache (contents not read).
  TempDir db_dir = TempDir::create("cbuild-statcache-").value();
  auto cache = StatCache::open(db_dir.path() / "ctx.stat");
  REQUIRE(cache.ok());
  auto cold = sum_of(d, {"."}, &*cache);
  auto warm = sum_of(d, {"."}, &*cache);
  CHECK(warm.stats.files_read == 0);
  CHECK(warm.sum.digest == reference_digest(warm.files));
  CHECK(warm.files == cold.files);
}

TEST_CASE("a big warm selection is looked up on two threads with the same result", "[checksum][stat-cache]") {
  ContextDir d;
  for (int dir = 0; dir < 5; ++dir)
    for (int i = 0; i < 1000; ++i) d.file(fmt::format("d{}/f{:04}", dir, i), fmt::format("{}/{}", dir, i));
  d.symlink("d0/f0000", "link");
  TempDir db_dir = TempDir::create("cbuild-statcache-").value();
  auto cache = StatCache::open(db_dir.path() / "ctx.stat");
  REQUIRE(cache.ok());
  auto cold = sum_of(d, {"."}, &*cache);
  REQUIRE(cold.stats.files_read == 5000);
  d.file("d3/f0500", "changed");  // one file to read, in the second half
  auto [ctx, sel] = scan_and_select(d, {"."});
  auto sum_with = [&](unsigned threads, HashStats& stats) {
    ChecksumOptions copt;
    copt.cache = &*cache;
    copt.now_ns = later();
    copt.threads = threads;
    auto r = checksum(ctx, sel, copt, &stats);
    REQUIRE(r.ok());
    return std::move(*r);
  };
  HashStats one_stats, two_stats;
  auto one = sum_with(1, one_stats);
  auto two = sum_with(2, two_stats);
  CHECK(one_stats.files_read == 1);
  CHECK(two_stats.files_read == 0);  // recorded by the first
  CHECK(two_stats.cache_hits == 5000);
  CHECK(one.digest == two.digest);
  CHECK(one.contents == two.contents);
  auto records = file_records(sel, two);
  CHECK(two.digest == reference_digest(records));
  CHECK(diff(cold.files, records).explain() == "file changed: d3/f0500");
}
