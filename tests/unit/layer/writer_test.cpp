#include "cbuild/layer/writer.hpp"

#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>
#include <clocale>
#include <functional>

#include "cbuild/layer/override_stat.hpp"
#include "unit/child_process.hpp"
#include "unit/layer/layer_test_support.hpp"

using namespace cbuild;
using namespace cbuild::layer;
using namespace cbuild::layer::test;

namespace {

/// A small tree with files, a nested directory, a symlink and an executable.
fs::path sample_tree(const TempDir& tmp) {
  fs::path root = tmp.path() / "tree";
  write_text(root / "b.txt", "bee\n");
  write_text(root / "a/z.txt", "zed\n");
  write_text(root / "a/b/c.txt", "see\n");
  write_text(root / "a-b", "dash\n");
  write_text(root / "bin/tool", "#!/bin/sh\n", 0755);
  fs::create_symlink("../b.txt", root / "a/link");
  set_all_mtimes(root, 1600000000);
  return root;
}

std::string tar_of(const fs::path& root, const WriteOptions& options = {}) {
  StringSink sink;
  auto r = write_layer(root, options, sink);
  REQUIRE(r.ok());
  return sink.data();
}

std::vector<std::string> names(const std::vector<TarEntry>& entries) {
  std::vector<std::string> out;
  for (auto& e : entries) out.push_back(e.name);
  return out;
}

const TarEntry& find(const std::vector<TarEntry>& entries, const std::string& name) {
  for (auto& e : entries)
    if (e.name == name) return e;
  FAIL("no entry " << name);
  throw 0;
}

}  // namespace

TEST_CASE("writer emits entries depth first, sorted, directories with a slash") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  auto entries = read_tar(tar_of(root));
  // Names are sorted within each directory ("a" < "a-b"), as Go's filepath.Walk does,
  // so a directory's subtree comes right after it.
  CHECK(names(entries) == std::vector<std::string>{"a/", "a/b/", "a/b/c.txt", "a/link", "a/z.txt", "a-b",
                                                   "b.txt", "bin/", "bin/tool"});
  for (auto& e : entries) {
    CHECK_FALSE(e.has_uname);
    CHECK_FALSE(e.has_atime);
    CHECK(e.mtime == 1600000000);
  }
  CHECK(find(entries, "bin/tool").perm == 0755);
  CHECK(find(entries, "a/link").link == "../b.txt");
  CHECK(find(entries, "a/b/c.txt").content == "see\n");
  CHECK(find(entries, "a/").type == AE_IFDIR);
}

TEST_CASE("writer is deterministic and its diffID is the sha256 of the tar") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  StringSink sink;
  auto first = write_layer(root, {}, sink);
  REQUIRE(first.ok());
  CHECK(first->diff_id == Digest::of(sink.data()));
  CHECK(first->blob_digest == first->diff_id);
  CHECK(first->tar_size == sink.data().size());
  CHECK(first->blob_size == sink.data().size());
  CHECK(first->entries == 9);
  CHECK(sink.data().size() % 512 == 0);
  auto second = layer_diff_id(root, {});
  REQUIRE(second.ok());
  CHECK(second->diff_id == first->diff_id);

  // Another process (other pid, fresh libarchive state) gets the same bytes.
  auto other = cbuild_test::run_in_child([&] {
    auto r = layer_diff_id(root, {});
    return r.ok() ? r->diff_id.str() : std::string("error");
  });
  CHECK(other.value_or("") == first->diff_id.str());
}

TEST_CASE("writer: an mtime change changes the diffID unless clamped below it") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  auto before = layer_diff_id(root, {}).value().diff_id;
  WriteOptions clamped;
  clamped.clamp_mtime = 1500000000;
  auto clamped_before = layer_diff_id(root, clamped).value().diff_id;

  set_mtime(root / "b.txt", 1650000000);
  CHECK(layer_diff_id(root, {}).value().diff_id != before);
  CHECK(layer_diff_id(root, clamped).value().diff_id == clamped_before);
  for (auto& e : read_tar(tar_of(root, clamped))) CHECK(e.mtime == 1500000000);

  // Entries older than the epoch keep their own mtime.
  clamped.clamp_mtime = 1620000000;
  auto entries = read_tar(tar_of(root, clamped));
  CHECK(find(entries, "b.txt").mtime == 1620000000);
  CHECK(find(entries, "a/z.txt").mtime == 1600000000);
}

TEST_CASE("writer: layer_identity gives the diffID and a content digest blind to mtimes in one pass") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  WriteOptions clamped;
  clamped.clamp_mtime = 1550000000;
  auto id = layer_identity(root, clamped).value();
  CHECK(id.layer.diff_id == layer_diff_id(root, clamped).value().diff_id);
  CHECK(id.layer.tar_size == layer_diff_id(root, clamped).value().tar_size);
  CHECK(id.layer.entries == layer_diff_id(root, clamped).value().entries);
  CHECK(id.content != id.layer.diff_id);
  CHECK(layer_identity(root, {}).value().content == id.content);  // the clamp is about mtimes only
  set_mtime(root / "b.txt", 1650000000);  // a re-run at another time: same content
  set_mtime(root / "a", 1650000000);
  auto again = layer_identity(root, clamped).value();
  CHECK(again.content == id.content);
  CHECK(again.layer.diff_id != layer_diff_id(root, {}).value().diff_id);
  // Whatever else a tar header or the data holds changes it.
  auto changed = [&](const std::function<void()>& change) {
    change();
    return layer_identity(root, clamped).value().content != id.content;
  };
  CHECK(changed([&] { write_text(root / "a/z.txt", "zeD\n"); }));  // same size, other data
  write_text(root / "a/z.txt", "zed\n");
  CHECK(layer_identity(root, clamped).value().content == id.content);
  CHECK(changed([&] { fs::permissions(root / "b.txt", fs::perms(0600)); }));
  fs::permissions(root / "b.txt", fs::perms(0644));
  CHECK(changed([&] { REQUIRE(::lsetxattr((root / "b.txt").c_str(), "user.k", "v", 1, 0) == 0); }));
  REQUIRE(::lremovexattr((root / "b.txt").c_str(), "user.k") == 0);
  CHECK(changed([&] { fs::rename(root / "a-b", root / "a-c"); }));
  fs::rename(root / "a-c", root / "a-b");
  CHECK(changed([&] {
    fs::remove(root / "a/link");
    fs::create_symlink("../bin/tool", root / "a/link");
  }));
  fs::remove(root / "a/link");
  fs::create_symlink("../b.txt", root / "a/link");
  CHECK(layer_identity(root, clamped).value().content == id.content);
  CHECK_FALSE(layer_identity(tmp.path() / "missing", {}).ok());
}

TEST_CASE("writer: sub-second mtimes are dropped") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  auto before = layer_diff_id(root, {}).value().diff_id;
  timespec ts[2] = {{1600000000, 123456789}, {1600000000, 123456789}};
  REQUIRE(utimensat(AT_FDCWD, (root / "b.txt").c_str(), ts, 0) == 0);
  CHECK(layer_diff_id(root, {}).value().diff_id == before);
}

TEST_CASE("writer: hardlinks become link entries to the first path") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path root = tmp.path() / "t";
  write_text(root / "x/orig", "shared");
  fs::create_hard_link(root / "x/orig", root / "a-link");
  fs::create_hard_link(root / "x/orig", root / "z-link");
  auto entries = read_tar(tar_of(root));
  CHECK(names(entries) == std::vector<std::string>{"a-link", "x/", "x/orig", "z-link"});
  CHECK(find(entries, "a-link").content == "shared");
  CHECK(find(entries, "a-link").hardlink.empty());
  CHECK(find(entries, "x/orig").hardlink == "a-link");
  CHECK(find(entries, "z-link").hardlink == "a-link");
}

TEST_CASE("writer: xattrs kept and sorted, host xattrs dropped, override_stat honoured") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path root = tmp.path() / "t";
  write_text(root / "f", "data", 0644);
  REQUIRE(set_user_xattr(root / "f", "user.zeta", "1"));
  REQUIRE(set_user_xattr(root / "f", "user.alpha", "2"));
  REQUIRE(set_user_xattr(root / "f", "user.overlay.origin", "x"));
  REQUIRE(set_user_xattr(root / "f", "user.containers.override_stat", "1000:1001:04750"));
  write_text(root / "dev", "", 0600);
  REQUIRE(set_user_xattr(root / "dev", "user.containers.override_stat", "0:6:0660:block-8-1"));
  write_text(root / "fifo", "", 0600);
  REQUIRE(set_user_xattr(root / "fifo", "user.containers.override_stat", "0:0:0644:pipe"));
  auto entries = read_tar(tar_of(root));
  auto& f = find(entries, "f");
  CHECK(f.xattrs == std::map<std::string, std::string>{{"user.alpha", "2"}, {"user.zeta", "1"}});
  CHECK(f.uid == 1000);
  CHECK(f.gid == 1001);
  CHECK(f.perm == 04750);
  CHECK(f.content == "data");
  auto& dev = find(entries, "dev");
  CHECK(dev.type == AE_IFBLK);
  CHECK(dev.dev_major == 8);
  CHECK(dev.dev_minor == 1);
  CHECK(dev.gid == 6);
  CHECK(dev.perm == 0660);
  CHECK(dev.xattrs.empty());
  CHECK(find(entries, "fifo").type == AE_IFIFO);

  REQUIRE(set_user_xattr(root / "f", "user.containers.override_stat", "nonsense"));
  StringSink sink;
  auto bad = write_layer(root, {}, sink);
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::Contains("override_stat") && Catch::Contains("/f"));
}

TEST_CASE("writer: host ids are mapped to container ids") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path root = tmp.path() / "t";
  write_text(root / "f", "x");
  struct stat st {};
  REQUIRE(::stat((root / "f").c_str(), &st) == 0);
  WriteOptions opts;
  opts.ids.uids.ranges = {{0, st.st_uid, 1}};
  opts.ids.gids.ranges = {{5, st.st_gid, 1}};
  auto entries = read_tar(tar_of(root, opts));
  CHECK(find(entries, "f").uid == 0);
  CHECK(find(entries, "f").gid == 5);
  opts.ids.uids.ranges = {{0, st.st_uid + 1, 10}};
  CHECK(find(read_tar(tar_of(root, opts)), "f").uid == k_overflow_id);
}

TEST_CASE("writer: excluded paths and sockets are left out") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  fs::create_directories(root / "proc/self");
  write_text(root / "etc/hosts", "127.0.0.1 x");
  write_text(root / "etc/passwd", "root:x:0:0");
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string sock = (root / "sock").string();
  REQUIRE(sock.size() < sizeof addr.sun_path);
  std::copy(sock.begin(), sock.end(), addr.sun_path);
  REQUIRE(bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  ::close(s);
  WriteOptions opts;
  opts.exclude = {"/proc", "etc/hosts/"};
  auto n = names(read_tar(tar_of(root, opts)));
  CHECK(std::find(n.begin(), n.end(), "etc/passwd") != n.end());
  for (auto& name : n) {
    CHECK_FALSE(name.starts_with("proc"));
    CHECK(name != "etc/hosts");
    CHECK(name != "sock");
  }
}

TEST_CASE("writer: overlay upperdir and native diff dir give the same layer") {
  auto tmp = TempDir::create("layer-w").value();
  // Overlay form, built without privileges: an xattr whiteout (kernel >= 6.7 format)
  // and an opaque directory marked with user.overlay.opaque.
  fs::path upper = tmp.path() / "upper";
  write_text(upper / "etc/new.conf", "n");
  write_text(upper / "etc/gone", "", 0000);
  write_text(upper / "var/cache/fresh", "f");
  REQUIRE(set_user_xattr(upper / "etc/gone", "user.overlay.whiteout", "y"));
  REQUIRE(set_user_xattr(upper / "var/cache", "user.overlay.opaque", "y"));
  REQUIRE(set_user_xattr(upper / "etc", "user.overlay.origin", "zz"));
  bool have_device = getuid() == 0 && mknod((upper / "removed").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0;
  set_all_mtimes(upper, 1600000000);

  // Native form: whiteouts are plain files named .wh.*, with arbitrary metadata.
  fs::path native = tmp.path() / "native";
  write_text(native / "etc/new.conf", "n");
  write_text(native / "etc/.wh.gone", "junk", 0755);
  write_text(native / "var/cache/fresh", "f");
  write_text(native / "var/cache/.wh..wh..opq", "", 0644);
  if (have_device) write_text(native / ".wh.removed", "");
  set_all_mtimes(native, 1600000000);
  set_mtime(native / "etc/.wh.gone", 1234);

  WriteOptions overlay;
  overlay.kind = TreeKind::overlay_upper;
  auto entries = read_tar(tar_of(upper, overlay));
  auto expected = std::vector<std::string>{"etc/",       "etc/.wh.gone",           "etc/new.conf",   "var/",
                                           "var/cache/", "var/cache/.wh..wh..opq", "var/cache/fresh"};
  if (have_device) expected.insert(expected.begin(), ".wh.removed");
  CHECK(names(entries) == expected);
  auto& wh = find(entries, "etc/.wh.gone");
  CHECK(wh.type == AE_IFREG);
  CHECK(wh.content.empty());
  CHECK(wh.mtime == 1600000000);
  CHECK(find(entries, "etc/").xattrs.empty());
  CHECK(layer_diff_id(upper, overlay).value().diff_id == layer_diff_id(native, {}).value().diff_id);
}

TEST_CASE("writer: compressed output decompresses to the tar, digests match") {
  auto tmp = TempDir::create("layer-w").value();
  auto root = sample_tree(tmp);
  std::string big;
  for (uint64_t i = 0; i < 1200000; ++i) big += std::to_string(i * 7919) + "\n";
  write_text(root / "big.txt", big);  // ~9 MB: several gzip members and hash chunks
  auto diff_id = layer_diff_id(root, {}).value().diff_id;
  std::string plain = tar_of(root);
  CHECK(Digest::of(plain) == diff_id);
  for (auto c : {Compression::gzip, Compression::zstd}) {
    for (unsigned threads : {1u, 3u}) {
      WriteOptions opts;
      opts.compression = {c, 0, threads};
      StringSink sink;
      auto r = write_layer(root, opts, sink);
      REQUIRE(r.ok());
      CHECK(r->diff_id == diff_id);
      CHECK(r->compression == c);
      CHECK(r->blob_digest == Digest::of(sink.data()));
      CHECK(r->blob_size == sink.data().size());
      CHECK(r->blob_size < r->tar_size / 2);
      auto entries = read_tar(sink.data());
      CHECK(find(entries, "big.txt").content == big);
      CHECK(entries.size() == read_tar(plain).size());
    }
  }
}

TEST_CASE("writer: a plain entry has no PAX header; only what ustar cannot hold gets one") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path root = tmp.path() / "t";
  write_text(root / "f", "hi");
  CHECK(tar_of(root).size() == 512 + 512 + 1024);  // header, data block, end of archive
  write_text(root / std::string(150, 'x'), "long");
  CHECK(tar_of(root).size() > 4 * 512 + 1024);
}

TEST_CASE("writer: non-ASCII names give the same bytes whatever the process locale") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path root = tmp.path() / "t";
  write_text(root / "h\xc3\xa9llo", "utf-8");
  write_text(root / "raw-\xff", "latin-1");
  set_all_mtimes(root, 1600000000);
  auto in_c = layer_diff_id(root, {}).value().diff_id;
  const char* old = setlocale(LC_ALL, nullptr);
  std::string saved = old ? old : "C";
  bool switched = setlocale(LC_ALL, "C.UTF-8") != nullptr;
  auto in_utf8 = layer_diff_id(root, {});
  setlocale(LC_ALL, saved.c_str());
  REQUIRE(in_utf8.ok());
  if (switched) CHECK(in_utf8->diff_id == in_c);
  auto entries = read_tar(tar_of(root));
  CHECK(find(entries, "h\xc3\xa9llo").content == "utf-8");
}

TEST_CASE("writer: a big directory's files opened ahead keep their xattrs") {
  // 40 files: opened and their xattrs listed on the read-ahead thread even when warm.
  auto tmp = TempDir::create("layer-w", "/var/tmp").value();
  fs::path root = tmp.path() / "t";
  for (int i = 0; i < 40; ++i) write_text(root / "d" / fmt::format("f{:02}", i), fmt::format("data {}", i));
  REQUIRE(set_user_xattr(root / "d/f05", "user.note", "five"));
  REQUIRE(set_user_xattr(root / "d/f30", "user.containers.override_stat", "7:8:0600"));
  auto entries = read_tar(tar_of(root));
  for (int i = 0; i < 40; ++i) {
    auto& e = find(entries, fmt::format("d/f{:02}", i));
    INFO(e.name);
    CHECK(e.content == fmt::format("data {}", i));
    if (i == 5) CHECK(e.xattrs == std::map<std::string, std::string>{{"user.note", "five"}});
    else CHECK(e.xattrs.empty());
    CHECK(e.uid == (i == 30 ? 7 : 0));
    CHECK(e.perm == (i == 30 ? 0600u : 0644u));
  }
}

TEST_CASE("writer: pending files are written as the tree will be once they are linked") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path root = tmp.path() / "t", prev = tmp.path() / "prev";
  write_text(root / "a/new.txt", "copied now");
  write_text(root / "a/same.txt", "written after the copy");  // wins over the pending one
  write_text(root / "top.txt", "top");
  write_text(prev / "a/x.txt", "linked x");
  write_text(prev / "a/y.txt", "linked y");
  write_text(prev / "a/same.txt", "previous");
  set_all_mtimes(prev, 1500000000);
  set_all_mtimes(root, 1600000000);
  std::string from = (prev / "a").string(), to = (root / "a").string();
  std::vector<LinkedDir> links{{from, to, {"same.txt", "x.txt"}, {}}, {from, to, {"y.txt"}, {}}};
  auto pending = PendingFiles::of(root, links);
  REQUIRE(pending.ok());
  CHECK(pending->dirs.at("a/").names == std::vector<std::string>{"x.txt", "y.txt"});
  WriteOptions options;
  options.pending = &*pending;
  auto before = layer_identity(root, options);
  REQUIRE(before.ok());
  StringSink sink;
  REQUIRE(write_layer(root, options, sink).ok());
  auto entries = read_tar(sink.data());
  CHECK(names(entries) == std::vector<std::string>{"a/", "a/new.txt", "a/same.txt", "a/x.txt", "a/y.txt", "top.txt"});
  CHECK(find(entries, "a/x.txt").content == "linked x");
  CHECK(find(entries, "a/same.txt").content == "written after the copy");
  CHECK(find(entries, "a/").mtime == 1600000000);

  // Halfway through linking (one file there, the directory's mtime moved): the same layer.
  fs::create_hard_link(prev / "a/x.txt", root / "a/x.txt");
  set_mtime(root / "a", 1700000000);
  auto halfway = layer_identity(root, options);
  REQUIRE(halfway.ok());
  CHECK(halfway->layer.diff_id == before->layer.diff_id);
  CHECK(halfway->content == before->content);

  // Linked, the directory's time restored: the tree itself gives that layer.
  fs::create_hard_link(prev / "a/y.txt", root / "a/y.txt");
  set_mtime(root / "a", 1600000000);
  auto linked = layer_identity(root, {});
  REQUIRE(linked.ok());
  CHECK(linked->layer.diff_id == before->layer.diff_id);
  CHECK(linked->layer.entries == before->layer.entries);
  CHECK(linked->content == before->content);

  // Digests given for the pending files: taken, not hashed again (a wrong one shows it).
  std::vector<LinkedDir> with_digests = links;
  with_digests[0].digests = {Digest::of("previous").bytes(), Digest::of("linked x").bytes()};
  with_digests[1].digests = {Digest::of("linked y").bytes()};
  fs::remove(root / "a/x.txt");
  fs::remove(root / "a/y.txt");
  set_mtime(root / "a", 1600000000);
  auto known = PendingFiles::of(root, with_digests);
  REQUIRE(known.ok());
  CHECK(known->dirs.at("a/").digests ==
        std::vector<std::array<uint8_t, 32>>{Digest::of("linked x").bytes(), Digest::of("linked y").bytes()});
  options.pending = &*known;
  auto taken = layer_identity(root, options);
  REQUIRE(taken.ok());
  CHECK(taken->content == before->content);
  CHECK(taken->layer.diff_id == before->layer.diff_id);
  with_digests[1].digests = {Digest::of("something else").bytes()};
  auto wrong = PendingFiles::of(root, with_digests);
  options.pending = &*wrong;
  CHECK(layer_identity(root, options).value().content != before->content);
  with_digests[1].digests.clear();  // digests for some names only: none taken
  CHECK(PendingFiles::of(root, with_digests).value().dirs.at("a/").digests.empty());

  CHECK_FALSE(PendingFiles::of(root, {{from, (tmp.path() / "elsewhere").string(), {"x.txt"}, {}}}).ok());
  CHECK_FALSE(PendingFiles::of(root, {{from, to, {"x.txt"}, {}}, {(prev / "b").string(), to, {"y.txt"}, {}}}).ok());
}

TEST_CASE("writer: the files a base shows through a tree stacked on it") {
  auto tmp = TempDir::create("layer-w").value();
  fs::path own = tmp.path() / "own", base = tmp.path() / "base";
  write_text(base / "a/x.txt", "x");
  write_text(base / "a/same.txt", "previous");
  write_text(base / "a/b/deep.txt", "deep");
  write_text(base / "top.txt", "top");
  write_text(own / "a/same.txt", "copied again");
  fs::create_directories(own / "a/b");
  fs::create_directories(own / "a/own-only");
  set_all_mtimes(base, 1500000000);
  set_all_mtimes(own, 1600000000);
  auto shown = PendingFiles::derived(own, base).value();
  REQUIRE(shown);
  CHECK(shown->dirs.size() == 3);
  CHECK(shown->dirs.at("").names == std::vector<std::string>{"top.txt"});
  CHECK(shown->dirs.at("a/").names == std::vector<std::string>{"x.txt"});
  CHECK(shown->dirs.at("a/").from == (base / "a").string());
  CHECK(shown->dirs.at("a/b/").names == std::vector<std::string>{"deep.txt"});
  // The layer with them is that of the tree with the files linked in.
  WriteOptions options;
  options.pending = &*shown;
  auto stacked = layer_diff_id(own, options).value();
  fs::path merged = tmp.path() / "merged";
  fs::copy(own, merged, fs::copy_options::recursive);
  for (const char* f : {"a/x.txt", "a/b/deep.txt", "top.txt"}) fs::create_hard_link(base / f, merged / f);
  set_all_mtimes(merged, 1600000000);
  set_all_mtimes(base, 1500000000);
  CHECK(layer_diff_id(merged, {}).value().diff_id == stacked.diff_id);
  auto of = PendingFiles::of(own, {{(base / "a").string(), (own / "a").string(), {"x.txt"}, {}},
                                   {(base / "a/b").string(), (own / "a/b").string(), {"deep.txt"}, {}},
                                   {base.string(), own.string(), {"top.txt"}, {}}});
  CHECK(of.value().same_names(*shown));
  CHECK_FALSE(PendingFiles::of(own, {{(base / "a").string(), (own / "a").string(), {"x.txt"}, {}}}).value().same_names(*shown));

  // What the stack would show besides: no such list.
  fs::create_symlink("x.txt", base / "a/link");  // a symlink only the base has
  CHECK_FALSE(PendingFiles::derived(own, base).value());
  fs::create_symlink("x.txt", own / "a/link");
  CHECK(PendingFiles::derived(own, base).value());
  fs::create_directories(base / "only-in-base");  // a directory only the base has
  CHECK_FALSE(PendingFiles::derived(own, base).value());
  fs::create_directories(own / "only-in-base");
  REQUIRE(PendingFiles::derived(own, base).value());
  if (::setxattr((own / "a/b").c_str(), "user.overlay.opaque", "y", 1, 0) == 0)  // hides the base's a/b
    CHECK_FALSE(PendingFiles::derived(own, base).value());
}

TEST_CASE("writer: read ahead from a cold tree, pending files and the tree's own are not mixed up", "[prefetch]") {
  // On disk (not tmpfs) and out of the page cache, so the writer reads ahead.
  auto tmp = TempDir::create("layer-w", "/var/tmp").value();
  fs::path root = tmp.path() / "t", prev = tmp.path() / "prev";
  std::vector<std::string> pending_names;
  for (int i = 0; i < 600; ++i) {  // interleaved by name, every size different
    std::string name = fmt::format("f{:03}", i);
    std::string data(8000 + static_cast<size_t>(i) * 37, static_cast<char>('a' + i % 26));
    if (i % 50 == 7) {  // copied again: an older version is in the previous tree too
      write_text(root / "d" / name, data);
      write_text(prev / "d" / name, std::string(data.size() + 5, 'Z'));
    } else {
      write_text(prev / "d" / name, data);
      pending_names.push_back(name);
    }
  }
  set_all_mtimes(root, 1600000000);
  set_all_mtimes(prev, 1600000000);
  auto evict = [](const fs::path& dir) {
    for (auto& e : fs::recursive_directory_iterator(dir)) {
      UniqueFd fd(::open(e.path().c_str(), O_RDONLY | O_CLOEXEC));
      REQUIRE(fd);
      REQUIRE(::fsync(fd.get()) == 0);
      REQUIRE(::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_DONTNEED) == 0);
    }
  };
  evict(root);
  evict(prev);
  auto pending = PendingFiles::of(root, {{(prev / "d").string(), (root / "d").string(), pending_names, {}}});
  REQUIRE(pending.ok());
  WriteOptions options;
  options.pending = &*pending;
  auto written = layer_identity(root, options);
  REQUIRE(written.ok());
  for (const auto& name : pending_names) fs::create_hard_link(prev / "d" / name, root / "d" / name);
  set_mtime(root / "d", 1600000000);
  auto linked = layer_identity(root, {});
  REQUIRE(linked.ok());
  CHECK(written->layer.diff_id == linked->layer.diff_id);
  CHECK(written->content == linked->content);
}
