#include "cbuild/layer/applier.hpp"

#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "cbuild/layer/override_stat.hpp"
#include "cbuild/layer/writer.hpp"
#include "unit/child_process.hpp"
#include "unit/layer/layer_test_support.hpp"

using namespace cbuild;
using namespace cbuild::layer;
using namespace cbuild::layer::test;

namespace {

bool is_root() { return geteuid() == 0; }

/// A tree with every kind of entry an unprivileged process can make (and devices as root).
fs::path rich_tree(const fs::path& root) {
  write_text(root / "etc/passwd", "root:x:0:0::/root:/bin/sh\n");
  write_text(root / "usr/bin/suid", "#!", 04755);
  write_text(root / "usr/lib/libx.so.1", std::string(200000, 'L'));
  fs::create_symlink("libx.so.1", root / "usr/lib/libx.so");
  fs::create_hard_link(root / "etc/passwd", root / "usr/passwd-link");
  REQUIRE(mkfifo((root / "usr/fifo").c_str(), 0640) == 0);
  REQUIRE(set_user_xattr(root / "usr/bin/suid", "user.note", "hello"));
  write_text(root / "names/h\xc3\xa9llo-\xe2\x9c\x93", "utf-8 name");
  write_text(root / "names/raw-\xff\xfe", "not utf-8");
  write_text(root / "names" / std::string(120, 'l') / std::string(200, 'm'), "long path");
  fs::create_directories(root / "ro/inner");
  write_text(root / "ro/inner/file", "r");
  if (is_root()) {
    REQUIRE(mknod((root / "usr/null").c_str(), S_IFCHR | 0666, makedev(1, 3)) == 0);
    REQUIRE(chown((root / "etc/passwd").c_str(), 12, 34) == 0);
    REQUIRE(chown((root / "names").c_str(), 3000000, 3000001) == 0);  // beyond ustar's 7 octal digits
  }
  set_all_mtimes(root, 1600000000);
  fs::permissions(root / "ro/inner", fs::perms(0555));
  fs::permissions(root / "ro", fs::perms(0555));
  return root;
}

std::string layer_bytes(const fs::path& root, Compression c = Compression::none) {
  WriteOptions opts;
  opts.compression.compression = c;
  StringSink sink;
  REQUIRE(write_layer(root, opts, sink).ok());
  return sink.data();
}

}  // namespace

TEST_CASE("applier: tree -> tar -> apply -> tar gives the same diffID") {
  auto tmp = TempDir::create("layer-a").value();
  auto src = rich_tree(tmp.path() / "src");
  auto diff_id = layer_diff_id(src, {}).value().diff_id;
  for (auto c : {Compression::none, Compression::gzip, Compression::zstd}) {
    fs::path dst = tmp.path() / ("dst-" + std::string(compression_name(c)));
    fs::create_directories(dst);
    auto archive = save(tmp.path(), "layer.tar", layer_bytes(src, c));
    uint64_t calls = 0;
    ApplyOptions opts;
    opts.progress = [&](const ApplyProgress& p) { calls = p.entries; };
    auto r = apply_layer(archive, dst, opts);
    REQUIRE(r.ok());
    CHECK(r->diff_id == diff_id);
    CHECK(r->compression == c);
    CHECK(r->entries == calls);
    auto digest = archive_diff_id(archive);
    REQUIRE(digest.ok());
    CHECK(digest->diff_id == diff_id);
    CHECK(digest->compression == c);
    CHECK(digest->tar_size == r->tar_size);
    CHECK(calls > 10);
    CHECK(layer_diff_id(dst, {}).value().diff_id == diff_id);
    struct stat a {
    }, b{};
    REQUIRE(::stat((dst / "etc/passwd").c_str(), &a) == 0);
    REQUIRE(::stat((dst / "usr/passwd-link").c_str(), &b) == 0);
    CHECK(a.st_ino == b.st_ino);
    CHECK(get_xattr(dst / "usr/bin/suid", "user.note") == "hello");
    CHECK(fs::read_symlink(dst / "usr/lib/libx.so") == "libx.so.1");
  }
}

TEST_CASE("applier: bzip2 and xz layers are detected") {
  auto tmp = TempDir::create("layer-a").value();
  fs::path src = tmp.path() / "src";
  write_text(src / "f", "content");
  std::string tar = layer_bytes(src);
  for (auto filter : {archive_write_add_filter_bzip2, archive_write_add_filter_xz}) {
    archive* a = archive_write_new();
    archive_write_set_format_raw(a);
    filter(a);
    std::string out(1 << 20, '\0');
    size_t used = 0;
    archive_write_open_memory(a, out.data(), out.size(), &used);
    archive_entry* e = archive_entry_new();
    archive_entry_set_filetype(e, AE_IFREG);
    archive_write_header(a, e);
    archive_write_data(a, tar.data(), tar.size());
    archive_write_close(a);
    archive_write_free(a);
    archive_entry_free(e);
    out.resize(used);
    fs::path dst = tmp.path() / "dst";
    fs::remove_all(dst);
    fs::create_directories(dst);
    auto r = apply_layer(save(tmp.path(), "l", out), dst);
    REQUIRE(r.ok());
    CHECK(r->diff_id == Digest::of(tar));
    CHECK_FALSE(r->compression.has_value());
    CHECK(archive_diff_id(tmp.path() / "l").value().diff_id == Digest::of(tar));
    CHECK(read_file(dst / "f").value() == "content");
  }
}

TEST_CASE("applier: whiteouts remove lower files, opaque keeps only this layer's entries") {
  auto tmp = TempDir::create("layer-a").value();
  fs::path dst = tmp.path() / "dst";
  write_text(dst / "etc/old", "o");
  write_text(dst / "etc/keep", "k");
  write_text(dst / "var/cache/lower1", "1");
  write_text(dst / "var/cache/sub/lower2", "2");
  write_text(dst / "gone-dir/x/y", "y");
  std::string tar = TarBuilder()
                        .file(".wh.gone-dir", "")
                        .dir("etc/")
                        .file("etc/.wh.old", "")
                        .file("etc/.wh.never-existed", "")
                        .dir("var/cache/")
                        .file("var/cache/-early", "this layer, sorted before the marker")
                        .file("var/cache/.wh..wh..opq", "")
                        .file("var/cache/fresh", "f")
                        .file("nodir/.wh.x", "")
                        .finish();
  auto r = apply_layer(save(tmp.path(), "l.tar", tar), dst);
  REQUIRE(r.ok());
  CHECK_FALSE(fs::exists(dst / "gone-dir"));
  CHECK_FALSE(fs::exists(dst / "etc/old"));
  CHECK(fs::exists(dst / "etc/keep"));
  CHECK_FALSE(fs::exists(dst / "etc/.wh.old"));
  CHECK_FALSE(fs::exists(dst / "var/cache/lower1"));
  CHECK_FALSE(fs::exists(dst / "var/cache/sub"));
  CHECK(fs::exists(dst / "var/cache/-early"));
  CHECK(fs::exists(dst / "var/cache/fresh"));
  CHECK_FALSE(fs::exists(dst / "var/cache/.wh..wh..opq"));
}

TEST_CASE("applier: overlay whiteout mode stores whiteouts in overlayfs form") {
  auto tmp = TempDir::create("layer-a").value();
  fs::path dst = tmp.path() / "snap";
  fs::create_directories(dst);
  std::string tar = TarBuilder()
                        .dir("etc/")
                        .file("etc/.wh.old", "")
                        .dir("opq/")
                        .file("opq/.wh..wh..opq", "")
                        .file("opq/new", "n")
                        .finish();
  ApplyOptions opts;
  opts.whiteouts = WhiteoutMode::overlay_user;
  auto r = apply_layer(save(tmp.path(), "l.tar", tar), dst, opts);
  REQUIRE(r.ok());
  struct stat st {};
  REQUIRE(lstat((dst / "etc/old").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(0, 0));
  CHECK(get_xattr(dst / "opq", "user.overlay.opaque") == "y");
  CHECK(fs::exists(dst / "opq/new"));
  // The writer turns the snapshot back into the same layer.
  WriteOptions w;
  w.kind = TreeKind::overlay_upper;
  StringSink sink;
  REQUIRE(write_layer(dst, w, sink).ok());
  std::vector<std::string> names;
  for (auto& e : read_tar(sink.data())) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"etc/", "etc/.wh.old", "opq/", "opq/.wh..wh..opq", "opq/new"});
}

TEST_CASE("applier: existing entries are replaced, never written through") {
  auto tmp = TempDir::create("layer-a").value();
  fs::path dst = tmp.path() / "dst";
  write_text(dst / "target", "original");
  fs::create_hard_link(dst / "target", dst / "hl");
  fs::create_symlink("target", dst / "sl");
  write_text(dst / "was-file", "f");
  fs::create_directories(dst / "was-dir/sub");
  std::string tar = TarBuilder()
                        .file("hl", "new hl")
                        .file("sl", "new sl")
                        .dir("was-file/")
                        .file("was-file/in", "i")
                        .file("was-dir", "now a file")
                        .finish();
  REQUIRE(apply_layer(save(tmp.path(), "l.tar", tar), dst).ok());
  CHECK(read_file(dst / "target").value() == "original");
  CHECK(read_file(dst / "hl").value() == "new hl");
  CHECK_FALSE(fs::is_symlink(dst / "sl"));
  CHECK(read_file(dst / "was-file/in").value() == "i");
  CHECK(read_file(dst / "was-dir").value() == "now a file");
}

TEST_CASE("applier: container ids are mapped to host ids") {
  if (!is_root()) return;  // chown to other ids needs privileges
  auto tmp = TempDir::create("layer-a").value();
  fs::path dst = tmp.path() / "dst";
  fs::create_directories(dst);
  std::string tar = TarBuilder().owner(0, 0).dir("d/").owner(1000, 1001).file("d/f", "x").finish();
  ApplyOptions opts;
  opts.ids.uids = IdMap::shift(100000);
  opts.ids.gids = IdMap::shift(200000);
  REQUIRE(apply_layer(save(tmp.path(), "l.tar", tar), dst, opts).ok());
  struct stat st {};
  REQUIRE(::stat((dst / "d/f").c_str(), &st) == 0);
  CHECK(st.st_uid == 101000);
  CHECK(st.st_gid == 201001);
  REQUIRE(::stat((dst / "d").c_str(), &st) == 0);
  CHECK(st.st_uid == 100000);
  std::string outside = TarBuilder().owner(70000, 0).file("f", "x").finish();
  auto r = apply_layer(save(tmp.path(), "o.tar", outside), dst, opts);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("outside the id map") && Catch::Contains("`f`"));
}

namespace {

/// Runs `fn` in a child process with uid/gid 65534 (needs root to start); returns its
/// exit status, or -1 when not root.
template <typename F>
int as_nobody(F&& fn) {
  if (!is_root()) return -1;
  auto out = cbuild_test::run_in_child([&] { return std::to_string(fn()); }, true);
  return out ? std::stoi(*out) : 98;
}

}  // namespace

TEST_CASE(
    "applier: unprivileged, ownership and devices go to override_stat; the layer is rewritten faithfully") {
  if (!is_root()) return;  // the test needs root only to become another user
  auto tmp = TempDir::create("layer-a").value();
  auto src = rich_tree(tmp.path() / "src");
  auto diff_id = layer_diff_id(src, {}).value().diff_id;
  auto archive = save(tmp.path(), "layer.tar", layer_bytes(src));
  fs::path dst = tmp.path() / "dst";
  fs::create_directories(dst);
  REQUIRE(chown(dst.c_str(), 65534, 65534) == 0);
  fs::permissions(tmp.path(), fs::perms(0755));
  int rc = as_nobody([&] {
    auto r = apply_layer(archive, dst);
    if (!r.ok()) {
      fprintf(stderr, "%s\n", r.error().message.c_str());
      return 1;
    }
    if (r->overrides_recorded == 0) return 2;
    ApplyOptions strict;
    strict.strict = true;
    fs::path dst2 = dst / "strict";
    if (mkdir(dst2.c_str(), 0755) != 0) return 3;
    auto s = apply_layer(archive, dst2, strict);
    if (s.ok() || s.error().message.find("chown") == std::string::npos) return 4;
    return 0;
  });
  REQUIRE(rc == 0);
  fs::remove_all(dst / "strict");
  auto st = OverrideStat::parse(get_xattr(dst / "usr/null", "user.containers.override_stat"));
  REQUIRE(st.ok());
  CHECK(st->type == S_IFCHR);
  CHECK(st->rdev_major == 1);
  CHECK(st->rdev_minor == 3);
  CHECK(get_xattr(dst / "etc/passwd", "user.containers.override_stat") == "12:34:0644");
  CHECK(get_xattr(dst / "usr/fifo", "user.containers.override_stat") == "0:0:0640:pipe");
  WriteOptions w;
  w.ids.uids.ranges = {{0, 65534, 1}};
  w.ids.gids.ranges = {{0, 65534, 1}};
  CHECK(layer_diff_id(dst, w).value().diff_id == diff_id);
}

TEST_CASE("applier: overlay_user whiteouts work unprivileged") {
  if (!is_root()) return;  // root is only needed to become another user
  auto tmp = TempDir::create("layer-a").value();
  fs::permissions(tmp.path(), fs::perms(0755));
  fs::path dst = tmp.path() / "snap";
  fs::create_directories(dst);
  REQUIRE(chown(dst.c_str(), 65534, 65534) == 0);
  auto archive = save(tmp.path(), "l.tar",
                      TarBuilder().dir("d/").file("d/.wh.gone", "").file("d/.wh..wh..opq", "").finish());
  int rc = as_nobody([&] {
    ApplyOptions opts;
    opts.whiteouts = WhiteoutMode::overlay_user;
    return apply_layer(archive, dst, opts).ok() ? 0 : 1;
  });
  REQUIRE(rc == 0);
  struct stat st {};
  REQUIRE(lstat((dst / "d/gone").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(0, 0));
  CHECK(get_xattr(dst / "d", "user.overlay.opaque") == "y");
}

TEST_CASE("applier: implicit parent directories are 0755 whatever the umask") {
  auto tmp = TempDir::create("layer-a").value();
  fs::path dst = tmp.path() / "dst";
  fs::create_directories(dst);
  auto archive = save(tmp.path(), "l.tar", TarBuilder().file("a/b/f", "x", 0600).finish());
  mode_t old = umask(077);
  auto r = apply_layer(archive, dst);
  umask(old);
  REQUIRE(r.ok());
  CHECK((fs::status(dst / "a").permissions() & fs::perms::all) == fs::perms(0755));
  CHECK((fs::status(dst / "a/b").permissions() & fs::perms::all) == fs::perms(0755));
  CHECK((fs::status(dst / "a/b/f").permissions() & fs::perms::all) == fs::perms(0600));
}
