#include "cbuild/build/copy.hpp"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "build/copy_fs.hpp"
#include "copy_test_support.hpp"

using namespace copy_test;
using cbuild::build::copy_into;
using cbuild::build::CopyItem;
using cbuild::build::CopyOwner;
using cbuild::build::parse_chmod;

namespace {

struct Fixture {
  TempDir src = temp_dir("copy-src-");
  TempDir root = temp_dir("copy-root-");
  fs::path s(const std::string& rel) const { return src.path() / rel; }
  fs::path r(const std::string& rel) const { return root.path() / rel; }
};

}  // namespace

TEST_CASE("copy: a single file to a path without a trailing slash is that path") {
  Fixture f;
  write(f.s("a.txt"), "A");
  auto stats = copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/dest/b.txt", true));
  CHECK(read(f.r("dest/b.txt")) == "A");
  CHECK_FALSE(fs::exists(f.r("dest/b.txt/a.txt")));
  CHECK(mode_of(f.r("dest")) == 0755);
  CHECK(stats.files == 1);
  CHECK(stats.bytes == 1);
}

TEST_CASE("copy: a trailing slash (or /.) makes the destination a directory") {
  Fixture f;
  write(f.s("a.txt"), "A");
  for (std::string dest : {"/d1/", "/d2/.", "d3/"}) {
    copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, dest, true));
  }
  CHECK(read(f.r("d1/a.txt")) == "A");
  CHECK(read(f.r("d2/a.txt")) == "A");
  CHECK(read(f.r("d3/a.txt")) == "A");
}

TEST_CASE("copy: a single file into an existing directory goes inside it") {
  Fixture f;
  write(f.s("a.txt"), "A");
  fs::create_directories(f.r("existing"));
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/existing", true));
  CHECK(read(f.r("existing/a.txt")) == "A");
}

TEST_CASE("copy: a relative destination is below the workdir") {
  Fixture f;
  write(f.s("a.txt"), "A");
  auto req = request({item(f.s("a.txt"), "a.txt")}, ".", true);
  req.workdir = "/app";
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("app/a.txt")) == "A");
  req.dest = "sub/";
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("app/sub/a.txt")) == "A");
  req.dest = "renamed.txt";
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("app/renamed.txt")) == "A");
  req.dest = "../up.txt";
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("up.txt")) == "A");
}

TEST_CASE("copy: a directory source copies its contents and merges into an existing directory") {
  Fixture f;
  write(f.s("dir/top.txt"), "T");
  write(f.s("dir/sub/inner.txt"), "I");
  write(f.r("d/old.txt"), "O");
  std::vector<CopyItem> items = {item(f.s("dir/sub"), "sub", true),
                                 item(f.s("dir/sub/inner.txt"), "sub/inner.txt", true),
                                 item(f.s("dir/top.txt"), "top.txt", true)};
  auto stats = copy_ok(f.root.path(), request(items, "/d"));
  CHECK(read(f.r("d/top.txt")) == "T");
  CHECK(read(f.r("d/sub/inner.txt")) == "I");
  CHECK(read(f.r("d/old.txt")) == "O");
  CHECK(stats.files == 2);
}

TEST_CASE("copy: several sources go into the destination directory") {
  Fixture f;
  write(f.s("a.txt"), "A");
  write(f.s("b.txt"), "B");
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt"), item(f.s("b.txt"), "b.txt")}, "/multi/"));
  CHECK(read(f.r("multi/a.txt")) == "A");
  CHECK(read(f.r("multi/b.txt")) == "B");
}

TEST_CASE("copy: missing parents are created 0755 and owned by the --chown owner") {
  Fixture f;
  write(f.s("a.txt"), "A", 0600);
  auto req = request({item(f.s("a.txt"), "a.txt")}, "/x/y/z.txt", true);
  req.chown = CopyOwner{1000, 1001};
  ::umask(077);  // parents must be 0755 whatever the umask
  copy_ok(f.root.path(), req);
  ::umask(022);
  for (const char* dir : {"x", "x/y"}) {
    INFO(dir);
    CHECK(mode_of(f.r(dir)) == 0755);
    CHECK(owner_of(f.r(dir)) == std::pair<uint32_t, uint32_t>{1000, 1001});
  }
  CHECK(owner_of(f.r("x/y/z.txt")) == std::pair<uint32_t, uint32_t>{1000, 1001});
  CHECK(mode_of(f.r("x/y/z.txt")) == 0600);
}

TEST_CASE("copy: without --chown files are owned by 0:0, not by the source owner") {
  Fixture f;
  write(f.s("a.txt"), "A");
  if (is_root()) REQUIRE(::chown(f.s("a.txt").c_str(), 4321, 4321) == 0);
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/a.txt", true));
  CHECK(owner_of(f.r("a.txt")) == std::pair<uint32_t, uint32_t>{0, 0});
}

TEST_CASE("copy: owners are mapped through the id mapping") {
  Fixture f;
  write(f.s("a.txt"), "A");
  auto req = request({item(f.s("a.txt"), "a.txt")}, "/a.txt", true);
  req.chown = CopyOwner{5, 6};
  req.ids.uids = cbuild::layer::IdMap::shift(100000);
  req.ids.gids = cbuild::layer::IdMap::shift(200000);
  copy_ok(f.root.path(), req);
  if (is_root()) {
    auto st = lstat_of(f.r("a.txt"));
    CHECK(st.st_uid == 100005);
    CHECK(st.st_gid == 200006);
  } else {
    CHECK(owner_of(f.r("a.txt")) == std::pair<uint32_t, uint32_t>{5, 6});  // recorded container ids
  }
  req.chown = CopyOwner{70000, 0};  // outside the map
  CHECK_THAT(copy_error(f.root.path(), req), Catch::Contains("outside"));
}

TEST_CASE("copy: existing directories on the way keep their mode") {
  Fixture f;
  write(f.s("a.txt"), "A");
  fs::create_directories(f.r("keep"));
  REQUIRE(::chmod(f.r("keep").c_str(), 0711) == 0);
  auto req = request({item(f.s("a.txt"), "a.txt")}, "/keep/new/", true);
  req.chown = CopyOwner{7, 7};
  copy_ok(f.root.path(), req);
  CHECK(mode_of(f.r("keep")) == 0711);
  CHECK(owner_of(f.r("keep")) == std::pair<uint32_t, uint32_t>{::geteuid(), ::getegid()});
  CHECK(read(f.r("keep/new/a.txt")) == "A");
}

TEST_CASE("copy: an existing file or symlink at the target is replaced") {
  Fixture f;
  write(f.s("a.txt"), "new", 0640);
  write(f.r("t/a.txt"), "old content", 0777);
  write(f.r("t/other"), "kept");
  fs::create_symlink("other", f.r("t/b.txt"));
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt"), item(f.s("a.txt"), "b.txt")}, "/t/"));
  CHECK(read(f.r("t/a.txt")) == "new");
  CHECK(mode_of(f.r("t/a.txt")) == 0640);
  CHECK(S_ISREG(lstat_of(f.r("t/b.txt")).st_mode));
  CHECK(read(f.r("t/other")) == "kept");
}

TEST_CASE("copy: a file onto a directory and a directory onto a file are errors") {
  Fixture f;
  write(f.s("x"), "X");
  fs::create_directories(f.s("dir"));
  fs::create_directories(f.r("d/x"));
  write(f.r("d/file"), "F");
  CHECK_THAT(copy_error(f.root.path(), request({item(f.s("x"), "x")}, "/d/")), Catch::Contains("/d/x"));
  CHECK_THAT(copy_error(f.root.path(), request({item(f.s("dir"), "file", true)}, "/d/")),
             Catch::Contains("/d/file"));
  // A directory destination that is a file.
  CHECK_THAT(copy_error(f.root.path(), request({item(f.s("x"), "x")}, "/d/file/")),
             Catch::Contains("/d/file"));
}

TEST_CASE("copy: symlinks in the destination path are followed inside the root") {
  Fixture f;
  write(f.s("a.txt"), "A");
  fs::create_directories(f.r("etc"));
  fs::create_symlink("/etc", f.r("etclink"));
  fs::create_symlink("../../../../../../../..", f.r("up"));
  const std::string probe = "cbuild-copy-test-probe-" + std::to_string(::getpid());
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/etclink/" + probe, true));
  CHECK(read(f.r("etc/" + probe)) == "A");
  CHECK_FALSE(fs::exists(fs::path("/etc") / probe));
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/up/tmp/" + probe + "/", true));
  CHECK(read(f.r("tmp/" + probe + "/a.txt")) == "A");
  CHECK_FALSE(fs::exists(fs::path("/tmp") / probe));
  // The destination itself a symlink to a (missing) file: written where it points, inside.
  fs::create_symlink("/target/file.txt", f.r("link.txt"));
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/link.txt", true));
  CHECK(read(f.r("target/file.txt")) == "A");
  CHECK(fs::is_symlink(f.r("link.txt")));
}

TEST_CASE("copy: a symlink loop in the destination path is an error") {
  Fixture f;
  write(f.s("a.txt"), "A");
  fs::create_symlink("loop2", f.r("loop1"));
  fs::create_symlink("/loop1", f.r("loop2"));
  CHECK_THAT(copy_error(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/loop1/x", true)),
             Catch::Contains("symbolic links"));
}

TEST_CASE("copy: symlinks inside a copied tree are never followed") {
  Fixture f;
  auto outside = temp_dir("copy-outside-");
  fs::create_directories(f.s("dir/sub"));
  write(f.s("dir/sub/f"), "F");
  fs::create_directories(f.r("d"));
  fs::create_symlink(outside.path(), f.r("d/sub"));
  std::vector<CopyItem> items = {item(f.s("dir/sub"), "sub", true), item(f.s("dir/sub/f"), "sub/f", true)};
  CHECK_THAT(copy_error(f.root.path(), request(items, "/d/")), Catch::Contains("/d/sub"));
  // Without the directory entry the parent is opened without following the link.
  CHECK_FALSE(copy_into(f.root.path(), request({items[1]}, "/d/")).ok());
  CHECK(fs::is_empty(outside.path()));
}

TEST_CASE("copy: symlinks are copied as symlinks with their times") {
  Fixture f;
  fs::create_directories(f.s("dir"));
  fs::create_symlink("../elsewhere", f.s("dir/link"));
  set_mtime(f.s("dir/link"), 1500000000, 42);
  copy_ok(f.root.path(), request({item(f.s("dir/link"), "link", true)}, "/d/"));
  REQUIRE(fs::is_symlink(f.r("d/link")));
  CHECK(fs::read_symlink(f.r("d/link")) == "../elsewhere");
  auto st = lstat_of(f.r("d/link"));
  CHECK(st.st_mtim.tv_sec == 1500000000);
  CHECK(st.st_mtim.tv_nsec == 42);
}

TEST_CASE("copy: --chmod applies to files and directories; without it modes are kept") {
  Fixture f;
  write(f.s("dir/tool"), "T", 04755);
  write(f.s("dir/sub/data"), "D", 0600);
  REQUIRE(::chmod(f.s("dir/sub").c_str(), 0700) == 0);
  std::vector<CopyItem> items = {item(f.s("dir/sub"), "sub", true),
                                 item(f.s("dir/sub/data"), "sub/data", true),
                                 item(f.s("dir/tool"), "tool", true)};
  copy_ok(f.root.path(), request(items, "/plain/"));
  CHECK(mode_of(f.r("plain/tool")) == 04755);
  CHECK(mode_of(f.r("plain/sub")) == 0700);
  CHECK(mode_of(f.r("plain/sub/data")) == 0600);
  auto req = request(items, "/chmod/");
  req.chmod = 0750;
  copy_ok(f.root.path(), req);
  CHECK(mode_of(f.r("chmod/tool")) == 0750);
  CHECK(mode_of(f.r("chmod/sub")) == 0750);
  CHECK(mode_of(f.r("chmod/sub/data")) == 0750);
}

TEST_CASE("copy: mtimes are preserved to the nanosecond, directories after their contents") {
  Fixture f;
  write(f.s("dir/sub/f"), "F");
  set_mtime(f.s("dir/sub/f"), 1600000000, 123456789);
  set_mtime(f.s("dir/sub"), 1400000000, 987654321);
  std::vector<CopyItem> items = {item(f.s("dir/sub"), "sub", true), item(f.s("dir/sub/f"), "sub/f", true)};
  copy_ok(f.root.path(), request(items, "/d"));
  auto file = lstat_of(f.r("d/sub/f"));
  CHECK(file.st_mtim.tv_sec == 1600000000);
  CHECK(file.st_mtim.tv_nsec == 123456789);
  auto dir = lstat_of(f.r("d/sub"));
  CHECK(dir.st_mtim.tv_sec == 1400000000);
  CHECK(dir.st_mtim.tv_nsec == 987654321);
}

TEST_CASE("copy: xattrs are copied except host metadata") {
  Fixture f;
  write(f.s("a.txt"), "A");
  const std::string value = "hello";
  REQUIRE(::setxattr(f.s("a.txt").c_str(), "user.test", value.data(), value.size(), 0) == 0);
  const std::string forged = "4:4:04755";
  REQUIRE(::setxattr(f.s("a.txt").c_str(), "user.containers.override_stat", forged.data(), forged.size(),
                     0) == 0);
  REQUIRE(::setxattr(f.s("a.txt").c_str(), "user.overlay.opaque", "y", 1, 0) == 0);
  copy_ok(f.root.path(), request({item(f.s("a.txt"), "a.txt")}, "/a.txt", true));
  char buf[64];
  ssize_t n = ::getxattr(f.r("a.txt").c_str(), "user.test", buf, sizeof buf);
  REQUIRE(n == 5);
  CHECK(std::string(buf, 5) == "hello");
  CHECK(::getxattr(f.r("a.txt").c_str(), "user.overlay.opaque", buf, sizeof buf) < 0);
  CHECK(owner_of(f.r("a.txt")) == std::pair<uint32_t, uint32_t>{0, 0});  // not the forged 4:4
  CHECK(mode_of(f.r("a.txt")) == 0644);
}

TEST_CASE("copy: inline content becomes a 0644 file with the given mtime") {
  Fixture f;
  CopyItem heredoc;
  heredoc.content = "line\n";
  heredoc.rel = "script.sh";
  auto req = request({heredoc}, "/app/");
  copy_ok(f.root.path(), req);
  CHECK(read(f.r("app/script.sh")) == "line\n");
  CHECK(mode_of(f.r("app/script.sh")) == 0644);
  CHECK(lstat_of(f.r("app/script.sh")).st_mtime == 0);
  req.items[0].mtime_sec = 1700000000;
  req.chmod = 0755;
  copy_ok(f.root.path(), req);
  CHECK(mode_of(f.r("app/script.sh")) == 0755);
  CHECK(lstat_of(f.r("app/script.sh")).st_mtime == 1700000000);
}

TEST_CASE("copy: large files are copied whole") {
  Fixture f;
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 + i / 4096);
  write(f.s("big.bin"), big);
  auto stats = copy_ok(f.root.path(), request({item(f.s("big.bin"), "big.bin")}, "/big.bin", true));
  CHECK(stats.bytes == big.size());
  CHECK(read(f.r("big.bin")) == big);
}

TEST_CASE("copy: fifos are recreated") {
  Fixture f;
  REQUIRE(::mkfifo(f.s("pipe").c_str(), 0640) == 0);
  copy_ok(f.root.path(), request({item(f.s("pipe"), "pipe", true)}, "/d/"));
  auto st = lstat_of(f.r("d/pipe"));
  CHECK(S_ISFIFO(st.st_mode));
  CHECK((st.st_mode & 07777) == 0640);
}

TEST_CASE("parse_chmod: octal modes only") {
  CHECK(*parse_chmod("755") == 0755);
  CHECK(*parse_chmod("0644") == 0644);
  CHECK(*parse_chmod("4755") == 04755);
  CHECK(*parse_chmod("0") == 0);
  auto symbolic = parse_chmod("u+x,go-w");
  REQUIRE_FALSE(symbolic.ok());
  CHECK_THAT(symbolic.error().message, Catch::Contains("octal") && Catch::Contains("u+x,go-w"));
  CHECK(symbolic.error().code == cbuild::ExitCode::bad_input);
  for (const char* bad : {"", "8", "7a", "77777", "-755"}) {
    INFO(bad);
    CHECK_FALSE(parse_chmod(bad).ok());
  }
}

TEST_CASE("copy: a re-run takes the unchanged files from the previous result") {
  Fixture f;
  TempDir previous = temp_dir("copy-prev-");
  for (auto [name, text] : {std::pair{"same.txt", "same"}, {"touched.txt", "touched"}, {"changed.txt", "old"}}) {
    write(f.s(std::string("d/") + name), text);
    set_mtime(f.s(std::string("d/") + name), 1000);
  }
  set_mtime(f.s("d"), 1500);
  auto req = request({item(f.s("d"), "d"), item(f.s("d/changed.txt"), "d/changed.txt", true),
                      item(f.s("d/same.txt"), "d/same.txt", true), item(f.s("d/touched.txt"), "d/touched.txt", true)},
                     "/out/");
  CHECK(copy_ok(previous.path(), req).reused.empty());  // the previous run of the step

  write(f.s("d/changed.txt"), "new content");
  set_mtime(f.s("d/changed.txt"), 1000);
  set_mtime(f.s("d/touched.txt"), 2000);  // same content, another mtime: copied again
  set_mtime(f.s("d"), 1500);
  build::CopyReuse reuse;
  reuse.previous = previous.path();
  reuse.upper = f.root.path();  // a plain root: its own upper directory
  reuse.unchanged = {{"d/same.txt", -1}, {"d/touched.txt", -1}};
  req.reuse = &reuse;
  auto stats = copy_ok(f.root.path(), req);
  CHECK(stats.files == 3);
  REQUIRE(build::link_reused(stats.reused).ok());
  CHECK(read(f.r("out/d/same.txt")) == "same");
  CHECK(read(f.r("out/d/touched.txt")) == "touched");
  CHECK(read(f.r("out/d/changed.txt")) == "new content");
  CHECK(lstat_of(f.r("out/d/touched.txt")).st_mtim.tv_sec == 2000);
  CHECK(lstat_of(f.r("out/d/same.txt")).st_mtim.tv_sec == 1000);
  CHECK(lstat_of(f.r("out/d")).st_mtim.tv_sec == 1500);  // linking kept the directory's time
  if (is_root()) {
    REQUIRE(stats.files_reused == 1);
    CHECK(lstat_of(f.r("out/d/same.txt")).st_ino == lstat_of(previous.path() / "out/d/same.txt").st_ino);
  } else {
    CHECK(stats.files_reused == 0);  // owners live in xattrs unprivileged: never reused
  }
  CHECK(lstat_of(f.r("out/d/touched.txt")).st_ino != lstat_of(previous.path() / "out/d/touched.txt").st_ino);
}

TEST_CASE("copy: a source untouched since the previous copy is reused without checking either file") {
  Fixture f;
  TempDir previous = temp_dir("copy-prev-");
  write(f.s("d/kept.txt"), "kept");
  write(f.s("d/checked.txt"), "checked");
  auto req = request({item(f.s("d/kept.txt"), "d/kept.txt", true), item(f.s("d/checked.txt"), "d/checked.txt", true)},
                     "/out/");
  CHECK(copy_ok(previous.path(), req).files_reused == 0);
  // An xattr on both previous copies: the checks refuse a file that has one.
  for (const char* name : {"out/d/kept.txt", "out/d/checked.txt"})
    REQUIRE(::lsetxattr((previous.path() / name).c_str(), "user.note", "x", 1, 0) == 0);
  build::CopyReuse reuse;
  reuse.previous = previous.path();
  reuse.upper = f.root.path();
  reuse.same_parent = true;
  reuse.unchanged = {{"d/kept.txt", 4}, {"d/checked.txt", -1}};
  req.reuse = &reuse;
  auto stats = copy_ok(f.root.path(), req);
  REQUIRE(build::link_reused(stats.reused).ok());
  CHECK(stats.files_reused == 1);
  CHECK(stats.bytes == 4 + 7);
  CHECK(lstat_of(f.r("out/d/kept.txt")).st_ino == lstat_of(previous.path() / "out/d/kept.txt").st_ino);
  CHECK(lstat_of(f.r("out/d/checked.txt")).st_ino != lstat_of(previous.path() / "out/d/checked.txt").st_ino);
  CHECK(read(f.r("out/d/checked.txt")) == "checked");
}

TEST_CASE("copy: a re-run on the same parent checks reuse on two threads and keeps the last of two writes") {
  if (!is_root()) return;  // unprivileged, owners live in xattrs: nothing is reused (above)
  Fixture f;
  TempDir previous = temp_dir("copy-prev-");
  std::vector<CopyItem> items;
  build::CopyReuse reuse;
  for (int i = 0; i < 300; ++i) {  // enough for the reuse check to take two threads
    std::string rel = fmt::format("d{}/f{:03}", i % 3, i);
    write(f.s(rel), "content " + rel);
    set_mtime(f.s(rel), 1000);
    items.push_back(item(f.s(rel), rel, true));
    reuse.unchanged.emplace(rel, -1);
  }
  // Two sources for one target: the later wins, in the previous run and in the re-run.
  write(f.s("a/x"), "from a");
  write(f.s("b/x"), "from b");
  items.push_back(item(f.s("a/x"), "x", true));
  items.push_back(item(f.s("b/x"), "x", true));
  auto req = request(items, "/out/");
  CHECK(copy_ok(previous.path(), req).files_reused == 0);
  CHECK(read(previous.path() / "out/x") == "from b");

  write(f.s("a/x"), "from a, changed");  // a/x is copied again; b/x is unchanged
  reuse.unchanged.emplace("x", -1);
  reuse.previous = previous.path();
  reuse.upper = f.root.path();
  reuse.same_parent = true;
  req.reuse = &reuse;
  auto stats = copy_ok(f.root.path(), req);
  REQUIRE(build::link_reused(stats.reused).ok());
  CHECK(stats.files_reused == 300);  // b/x's target was written by a/x: copied, not linked
  CHECK(read(f.r("out/x")) == "from b");
  for (int i : {0, 1, 150, 299}) {
    std::string rel = fmt::format("out/d{}/f{:03}", i % 3, i);
    CHECK(lstat_of(f.r(rel)).st_ino == lstat_of(previous.path() / rel).st_ino);
  }
}

TEST_CASE("copy: the reused files go through a child's result and back") {
  std::vector<build::ReusedDir> dirs(2);
  dirs[0] = {"/prev/a", "/upper/a", {"x", "name with\nnewline", std::string("\xff\x01", 2)}, {}};
  dirs[0].digests = {Digest::of("x").bytes(), Digest::of("y").bytes(), Digest::of("z").bytes()};
  dirs[1] = {"/prev", "/upper", {"top"}, {}};  // no digests
  std::string bytes = build::reused_to_bytes(dirs);
  auto back = build::reused_from_bytes(bytes);
  REQUIRE(back.ok());
  REQUIRE(back->size() == 2);
  for (size_t i = 0; i < 2; ++i) {
    CHECK((*back)[i].from == dirs[i].from);
    CHECK((*back)[i].to == dirs[i].to);
    CHECK((*back)[i].names == dirs[i].names);
    CHECK((*back)[i].digests == dirs[i].digests);
  }
  CHECK(build::reused_from_bytes("").value().empty());
  for (size_t n = 1; n < bytes.size(); ++n) CHECK_FALSE(build::reused_from_bytes(std::string_view(bytes).substr(0, n)).ok());
  CHECK_FALSE(build::reused_from_bytes(bytes + "x").ok());
}

TEST_CASE("copy: destination paths are cleaned as path.Clean does, relative") {
  using build::copy_clean_path;
  CHECK(copy_clean_path("a/b.txt") == "a/b.txt");
  CHECK(copy_clean_path("a/.b/..c") == "a/.b/..c");
  CHECK(copy_clean_path("/a/b") == "a/b");
  CHECK(copy_clean_path("a/b/") == "a/b");
  CHECK(copy_clean_path("./a//b/../c") == "a/c");
  CHECK(copy_clean_path("a/./b") == "a/b");
  CHECK(copy_clean_path("../../a") == "a");
  CHECK(copy_clean_path(".") == "");
  CHECK(copy_clean_path("") == "");
}
