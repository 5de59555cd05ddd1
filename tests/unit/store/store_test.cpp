#include "cbuild/store/store.hpp"

#include "store_fixture.hpp"

#include <sqlite3.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <cstdlib>

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

TEST_CASE("open creates the layout v1 and the schema", "[store]") {
  StoreDir dir;
  {
    Store store = dir.open();
    for (const char* sub : {"blobs/sha256", "snapshots", "cache-mounts", "tmp", "locks"})
      CHECK(fs::is_directory(dir.root() / sub));
    CHECK(fs::exists(dir.root() / "db.sqlite"));
    // The session directory is made on first use only (a cached build writes nothing).
    CHECK(fs::is_empty(dir.root() / "tmp"));
    fs::path session = must(store.session_dir());
    CHECK(fs::is_directory(session));
    CHECK(session.parent_path() == dir.root() / "tmp");
    CHECK(fs::exists(session.string() + ".lock"));
    CHECK(must(store.session_dir()) == session);
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(fs::path(dir.root() / "db.sqlite").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key='schema_version'", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == std::to_string(k_schema_version));
  sqlite3_finalize(stmt);
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal");
  sqlite3_finalize(stmt);
  // A newer schema is refused rather than misread.
  REQUIRE(sqlite3_exec(db, "UPDATE meta SET value='99' WHERE key='schema_version'", nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  auto reopened = Store::open(dir.root());
  REQUIRE_FALSE(reopened.ok());
  CHECK_THAT(reopened.error().message, Catch::Contains("schema version 99 is newer"));
}

TEST_CASE("a store of schema 1 (snapshots without a base) is upgraded in place", "[store]") {
  StoreDir dir;
  {
    Store store = dir.open();
    make_snapshot(store, "old", "", Digest::of("o"));
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(fs::path(dir.root() / "db.sqlite").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "DROP INDEX snapshots_base; ALTER TABLE snapshots DROP COLUMN base; "
                           "UPDATE meta SET value='1' WHERE key='schema_version'",
                       nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  Store store = dir.open();
  auto old = must(store.get_snapshot("old"));
  REQUIRE(old);
  CHECK(old->base.empty());
  make_snapshot(store, "stacked", "", Digest::of("s"), 1, "old");
  CHECK(must(store.get_snapshot("stacked"))->base == "old");
}

TEST_CASE("data persists across reopen and the session dir is removed on close", "[store]") {
  StoreDir dir;
  fs::path session;
  Digest digest;
  {
    Store store = dir.open();
    session = must(store.session_dir());
    digest = must(store.put_blob("hello")).digest;
    must_ok(store.put_cache(CacheRecord{"k1", "{}", 5, 0, 0, {}, {digest}}));
  }
  CHECK_FALSE(fs::exists(session));
  CHECK_FALSE(fs::exists(session.string() + ".lock"));
  Store store = dir.open();
  CHECK(must(store.read_blob(digest)) == "hello");
  auto entry = must(store.get_cache("k1"));
  REQUIRE(entry);
  CHECK(entry->blobs == std::vector<Digest>{digest});
}

TEST_CASE("open removes temp sessions of dead processes but not live ones", "[store]") {
  StoreDir dir;
  Store live = dir.open();
  std::ofstream(must(live.session_dir()) / "in-progress") << "x";
  // A dead session: lock file nobody holds, directory with leftovers.
  fs::create_directories(dir.root() / "tmp" / "s-dead" / "snap-1");
  std::ofstream(dir.root() / "tmp" / "s-dead.lock") << "";
  std::ofstream(dir.root() / "tmp" / "s-dead" / "blob-1") << "partial";
  // A session directory whose lock file is already gone.
  fs::create_directories(dir.root() / "tmp" / "s-nolock");
  Store second = dir.open();
  CHECK_FALSE(fs::exists(dir.root() / "tmp" / "s-dead"));
  CHECK_FALSE(fs::exists(dir.root() / "tmp" / "s-dead.lock"));
  CHECK_FALSE(fs::exists(dir.root() / "tmp" / "s-nolock"));
  CHECK(fs::exists(must(live.session_dir()) / "in-progress"));
  CHECK(fs::is_directory(must(second.session_dir())));
}

TEST_CASE("open removes a stat cache's temp file a killed writer left, not a fresh one", "[store]") {
  StoreDir dir;
  fs::create_directories(dir.root() / "contexts");
  const fs::path old_temp = dir.root() / "contexts" / ".tmp-abc.stat-1234";
  const fs::path new_temp = dir.root() / "contexts" / ".tmp-abc.stat-5678";
  const fs::path cache = dir.root() / "contexts" / "abc.stat";
  for (const auto& p : {old_temp, new_temp, cache}) std::ofstream(p) << "x";
  const timespec old_times[2] = {{1000, 0}, {1000, 0}};
  REQUIRE(::utimensat(AT_FDCWD, old_temp.c_str(), old_times, 0) == 0);
  REQUIRE(::utimensat(AT_FDCWD, cache.c_str(), old_times, 0) == 0);
  Store store = dir.open();
  CHECK_FALSE(fs::exists(old_temp));
  CHECK(fs::exists(new_temp));  // its writer may still be at work
  CHECK(fs::exists(cache));
}

TEST_CASE("the temp directory spreads sessions over the disk where the filesystem can", "[store]") {
  StoreDir dir;
  Store store = dir.open();
  UniqueFd fd(::open((dir.root() / "tmp").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(fd);
  int flags = 0;
  if (::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0) {
    CHECK((errno == ENOTTY || errno == EOPNOTSUPP || errno == EINVAL));  // tmpfs and the like: no flags
    return;
  }
  CHECK((flags & FS_TOPDIR_FL) != 0);  // ext2/3/4: chattr +T, Orlov allocation below it
}

TEST_CASE("transactions commit together, roll back together, and nest", "[store]") {
  StoreDir dir;
  Store store = dir.open();
  auto blob = must(store.put_blob("b"));
  must_ok(store.transaction([&]() -> Status {
    TRY(store.put_cache(CacheRecord{"a", "{}", 1, 0, 0, {}, {blob.digest}}));
    TRY(store.put_cache(CacheRecord{"b", "{}", 1, 0, 0, {}, {}}));
    return {};
  }));
  CHECK(must(store.list_cache()).size() == 2);

  Status failed = store.transaction([&]() -> Status {
    TRY(store.remove_cache("a"));
    TRY(store.put_cache(CacheRecord{"c", "{}", 1, 0, 0, {}, {}}));
    return make_error("stop");
  });
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.error().message == "stop");
  CHECK(must(store.get_cache("a")).has_value());
  CHECK_FALSE(must(store.get_cache("c")).has_value());

  // A failing inner transaction rolls back only its own part.
  must_ok(store.transaction([&]() -> Status {
    TRY(store.put_cache(CacheRecord{"outer", "{}", 1, 0, 0, {}, {}}));
    Status inner = store.transaction([&]() -> Status {
      TRY(store.put_cache(CacheRecord{"inner", "{}", 1, 0, 0, {}, {}}));
      return make_error("inner fails");
    });
    CHECK_FALSE(inner.ok());
    return {};
  }));
  CHECK(must(store.get_cache("outer")).has_value());
  CHECK_FALSE(must(store.get_cache("inner")).has_value());

  // A library exception inside a transaction becomes an error and rolls back.
  Status thrown = store.transaction([&]() -> Status {
    TRY(store.put_cache(CacheRecord{"thrown", "{}", 1, 0, 0, {}, {}}));
    throw std::runtime_error("boom");
  });
  CHECK_FALSE(thrown.ok());
  CHECK_FALSE(must(store.get_cache("thrown")).has_value());
}

TEST_CASE("default_root follows uid, XDG_DATA_HOME and HOME", "[store]") {
  if (::geteuid() == 0) {
    CHECK(default_root() == "/var/lib/cbuild");
    return;
  }
  const char* old_xdg = std::getenv("XDG_DATA_HOME");
  std::string saved = old_xdg ? old_xdg : "";
  ::setenv("XDG_DATA_HOME", "/data/x", 1);
  CHECK(default_root() == "/data/x/cbuild");
  ::unsetenv("XDG_DATA_HOME");
  CHECK(default_root() == fs::path(std::getenv("HOME")) / ".local/share/cbuild");
  if (old_xdg) ::setenv("XDG_DATA_HOME", saved.c_str(), 1);
  CHECK(resolve_root("/explicit") == "/explicit");
}

TEST_CASE("named locks exclude each other across handles", "[store]") {
  StoreDir dir;
  Store store = dir.open();
  auto held = must(store.lock("cache-mount-/root/.cache/pip", LockMode::exclusive));
  auto again = store.lock("cache-mount-/root/.cache/pip", LockMode::exclusive, std::chrono::milliseconds(50));
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Catch::Contains("timed out"));
  CHECK(held.path().parent_path() == dir.root() / "locks");
  auto other = must(store.lock("plain-name", LockMode::exclusive, std::chrono::milliseconds(50)));
  CHECK(other.path().filename() == "plain-name.lock");
  held.release();
  CHECK(store.lock("cache-mount-/root/.cache/pip", LockMode::exclusive, std::chrono::milliseconds(50)).ok());
}
