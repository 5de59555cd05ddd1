// ADD of local archives: detection by content, each compression, ownership, safety.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <memory>

#include "cbuild/build/copy.hpp"
#include "copy_test_support.hpp"

using namespace copy_test;
using cbuild::build::CopyOwner;

namespace {

/// One tar entry to write.
struct TarEntry {
  std::string name;
  mode_t type = AE_IFREG;
  mode_t perm = 0644;
  std::string data;      // file content
  std::string link;      // symlink target
  std::string hardlink;  // hardlink target
  uint32_t uid = 0, gid = 0;
  int64_t mtime = 1600000000;
};

TarEntry file(std::string name, std::string data, mode_t perm = 0644, uint32_t uid = 0, uint32_t gid = 0) {
  TarEntry t;
  t.name = std::move(name);
  t.data = std::move(data);
  t.perm = perm;
  t.uid = uid;
  t.gid = gid;
  return t;
}
TarEntry dir(std::string name, mode_t perm, int64_t mtime) {
  TarEntry t;
  t.name = std::move(name);
  t.type = AE_IFDIR;
  t.perm = perm;
  t.mtime = mtime;
  return t;
}
TarEntry symlink_to(std::string name, std::string target) {
  TarEntry t;
  t.name = std::move(name);
  t.type = AE_IFLNK;
  t.perm = 0777;
  t.link = std::move(target);
  return t;
}
TarEntry hardlink_to(std::string name, std::string target) {
  TarEntry t;
  t.name = std::move(name);
  t.hardlink = std::move(target);
  return t;
}

using FilterFn = int (*)(archive*);

/// Writes `entries` as a PAX tar through `filter` (nullptr: uncompressed), with libarchive.
void write_tar(const fs::path& path, const std::vector<TarEntry>& entries, FilterFn filter = nullptr) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  fs::create_directories(path.parent_path());
  REQUIRE(archive_write_set_format_pax(a.get()) == ARCHIVE_OK);
  if (filter) REQUIRE(filter(a.get()) == ARCHIVE_OK);
  REQUIRE(archive_write_open_filename(a.get(), path.c_str()) == ARCHIVE_OK);
  for (const auto& t : entries) {
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), t.name.c_str());
    archive_entry_set_filetype(e.get(), t.type);
    archive_entry_set_perm(e.get(), t.perm);
    archive_entry_set_uid(e.get(), t.uid);
    archive_entry_set_gid(e.get(), t.gid);
    archive_entry_set_mtime(e.get(), t.mtime, 250);
    if (!t.link.empty()) archive_entry_set_symlink(e.get(), t.link.c_str());
    if (!t.hardlink.empty()) archive_entry_set_hardlink(e.get(), t.hardlink.c_str());
    archive_entry_set_size(
        e.get(), t.type == AE_IFREG && t.hardlink.empty() ? static_cast<la_int64_t>(t.data.size()) : 0);
    REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
    if (!t.data.empty())
      REQUIRE(archive_write_data(a.get(), t.data.data(), t.data.size()) ==
              static_cast<la_ssize_t>(t.data.size()));
  }
  REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
}

const std::vector<TarEntry>& sample() {
  static const std::vector<TarEntry> entries = {
      dir("pkg/", 0750, 1500000000),          file("pkg/a.txt", "alpha", 0644, 1234, 2345),
      file("pkg/tool", "#!/bin/sh\n", 04755), symlink_to("pkg/link", "a.txt"),
      hardlink_to("pkg/hard", "pkg/a.txt"),   file("pkg/.wh.gone", ""),
      file("./implicit/parent/f", "deep"),
  };
  return entries;
}

struct Fixture {
  TempDir src = temp_dir("add-src-");
  TempDir root = temp_dir("add-root-");
  fs::path s(const std::string& rel) const { return src.path() / rel; }
  fs::path r(const std::string& rel) const { return root.path() / rel; }
};

cbuild::build::CopyRequest add_request(const fs::path& archive, const std::string& dest) {
  auto req = request({item(archive, archive.filename().string())}, dest, true);
  req.extract_archives = true;
  return req;
}

void check_sample(const Fixture& f, const std::string& dest) {
  CHECK(read(f.r(dest + "/pkg/a.txt")) == "alpha");
  CHECK(mode_of(f.r(dest + "/pkg")) == 0750);
  CHECK(lstat_of(f.r(dest + "/pkg")).st_mtime == 1500000000);
  CHECK(lstat_of(f.r(dest + "/pkg/a.txt")).st_mtim.tv_nsec == 250);
  CHECK(mode_of(f.r(dest + "/pkg/tool")) == 04755);
  CHECK(fs::read_symlink(f.r(dest + "/pkg/link")) == "a.txt");
  CHECK(lstat_of(f.r(dest + "/pkg/hard")).st_ino == lstat_of(f.r(dest + "/pkg/a.txt")).st_ino);
  CHECK(fs::is_regular_file(f.r(dest + "/pkg/.wh.gone")));  // whiteouts are plain files here
  CHECK(read(f.r(dest + "/implicit/parent/f")) == "deep");
  CHECK(mode_of(f.r(dest + "/implicit")) == 0755);
}

}  // namespace

TEST_CASE("add: tar archives are extracted whatever their compression") {
  struct Case {
    const char* name;
    FilterFn filter;
  };
  const Case cases[] = {{"plain", nullptr},
                        {"gzip", archive_write_add_filter_gzip},
                        {"bzip2", archive_write_add_filter_bzip2},
                        {"xz", archive_write_add_filter_xz},
                        {"zstd", archive_write_add_filter_zstd}};
  for (const auto& c : cases) {
    SECTION(c.name) {
      Fixture f;
      fs::path archive = f.s(std::string("layer-") + c.name + ".bin");  // the name does not matter
      write_tar(archive, sample(), c.filter);
      auto stats = copy_ok(f.root.path(), add_request(archive, "/opt/x"));
      CHECK(stats.archives_extracted == 1);
      CHECK(stats.files == 6);
      check_sample(f, "opt/x");
      CHECK(owner_of(f.r("opt/x/pkg/a.txt")) == std::pair<uint32_t, uint32_t>{1234, 2345});
      CHECK_FALSE(fs::exists(f.r("opt/x/" + archive.filename().string())));
    }
  }
}

TEST_CASE("add: --chown applies to extracted entries") {
  Fixture f;
  write_tar(f.s("a.tar.gz"), sample(), archive_write_add_filter_gzip);
  auto req = add_request(f.s("a.tar.gz"), "/d/");
  req.chown = CopyOwner{33, 44};
  copy_ok(f.root.path(), req);
  for (const char* p : {"d", "d/pkg", "d/pkg/a.txt", "d/pkg/tool", "d/implicit"}) {
    INFO(p);
    CHECK(owner_of(f.r(p)) == std::pair<uint32_t, uint32_t>{33, 44});
  }
}

TEST_CASE("add: non-archives are copied as files") {
  Fixture f;
  write(f.s("notes.tar"), "not really a tar file, just text\n");
  write(f.s("empty"), "");
  // Compressed, but not a tar: docker copies it as is.
  {
    std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
    REQUIRE(archive_write_set_format_raw(a.get()) == ARCHIVE_OK);
    REQUIRE(archive_write_add_filter_gzip(a.get()) == ARCHIVE_OK);
    REQUIRE(archive_write_open_filename(a.get(), f.s("data.gz").c_str()) == ARCHIVE_OK);
    std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(), archive_entry_free);
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_pathname(e.get(), "data");
    REQUIRE(archive_write_header(a.get(), e.get()) == ARCHIVE_OK);
    REQUIRE(archive_write_data(a.get(), "payload", 7) == 7);
    REQUIRE(archive_write_close(a.get()) == ARCHIVE_OK);
  }
  std::string gz = read(f.s("data.gz"));
  auto req = request(
      {item(f.s("notes.tar"), "notes.tar"), item(f.s("empty"), "empty"), item(f.s("data.gz"), "data.gz")},
      "/d/");
  req.extract_archives = true;
  auto stats = copy_ok(f.root.path(), req);
  CHECK(stats.archives_extracted == 0);
  CHECK(read(f.r("d/notes.tar")) == "not really a tar file, just text\n");
  CHECK(read(f.r("d/data.gz")) == gz);
  CHECK(fs::is_regular_file(f.r("d/empty")));
}

TEST_CASE("add: archives inside a directory source and COPY are not extracted") {
  Fixture f;
  write_tar(f.s("dir/inner.tar"), sample());
  std::string bytes = read(f.s("dir/inner.tar"));
  auto req = request({item(f.s("dir/inner.tar"), "inner.tar", true)}, "/d/");
  req.extract_archives = true;
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("d/inner.tar")) == bytes);
  req = request({item(f.s("dir/inner.tar"), "inner.tar")}, "/c/", true);  // COPY
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("c/inner.tar")) == bytes);
}

TEST_CASE("add: extraction replaces files in the way and follows symlinks inside the root") {
  Fixture f;
  fs::create_directories(f.r("usr/bin"));
  fs::create_symlink("usr/bin", f.r("bin"));
  write(f.r("etc/conf"), "old");
  write_tar(f.s("app.tar"), {file("bin/app", "binary", 0755), file("etc/conf", "new")});
  copy_ok(f.root.path(), add_request(f.s("app.tar"), "/"));
  CHECK(read(f.r("usr/bin/app")) == "binary");  // a merged-/usr base keeps its /bin link
  CHECK(fs::is_symlink(f.r("bin")));
  CHECK(read(f.r("etc/conf")) == "new");
}

TEST_CASE("add: hostile archives cannot write outside the destination") {
  Fixture f;
  fs::create_directories(f.r("dest"));
  SECTION("a .. name is rejected") {
    write_tar(f.s("evil.tar"), {file("ok.txt", "fine"), file("../evil.txt", "pwned")});
    auto err = copy_error(f.root.path(), add_request(f.s("evil.tar"), "/dest/"));
    CHECK_THAT(err, Catch::Contains("..") && Catch::Contains("evil.tar"));
    CHECK_FALSE(fs::exists(f.r("evil.txt")));
  }
  SECTION("an absolute name is rejected") {
    write_tar(f.s("abs.tar"), {file("/abs.txt", "pwned")});
    CHECK_THAT(copy_error(f.root.path(), add_request(f.s("abs.tar"), "/dest/")), Catch::Contains("absolute"));
  }
  SECTION("symlinks planted in the archive resolve inside the destination") {
    auto outside = temp_dir("add-outside-");
    write_tar(f.s("links.tar"), {symlink_to("esc", outside.path().string()), file("esc/pwned", "x"),
                                 symlink_to("up", "../../../../../.."), file("up/pwned2", "y")});
    copy_ok(f.root.path(), add_request(f.s("links.tar"), "/dest/"));
    CHECK(fs::is_empty(outside.path()));
    CHECK_FALSE(fs::exists(f.r("pwned2")));
    CHECK(read(f.r("dest") / outside.path().relative_path() / "pwned") == "x");
    CHECK(read(f.r("dest/pwned2")) == "y");
  }
  SECTION("a hardlink to a file outside is rejected") {
    write_tar(f.s("hard.tar"), {hardlink_to("h", "../../etc/passwd")});
    CHECK_FALSE(copy_into(f.root.path(), add_request(f.s("hard.tar"), "/dest/")).ok());
    CHECK_FALSE(fs::exists(f.r("dest/h")));
  }
}
