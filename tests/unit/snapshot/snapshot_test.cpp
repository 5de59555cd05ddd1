// Snapshotters with real containers on a busybox base layer (needs user namespaces; run as
// root and as a user with a subordinate range by tests/integration/executor.test.sh).
#include "cbuild/executor/container.hpp"
#include "cbuild/executor/userns.hpp"
#include "cbuild/layer/writer.hpp"
#include "cbuild/snapshot/snapshotter.hpp"
#include "support/executor/busybox.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <catch2/catch.hpp>

#include <map>

using namespace cbuild;
using namespace cbuild::executor;
using namespace cbuild::snapshot;
using cbuild::testing::container_temp_dir;

namespace {

constexpr int64_t k_epoch = 1700000000;

// A tar layer of a busybox rootfs, made once.
struct BaseLayer {
  TempDir dir = container_temp_dir("cbuild-base-");
  Digest diff_id;
  fs::path tar() const { return dir.path() / "base.tar"; }
  BaseLayer() {
    fs::path root = dir.path() / "root";
    REQUIRE(make_dirs(root).ok());
    REQUIRE(own_for_container(root).ok());
    cbuild::testing::make_busybox_rootfs(root);
    auto r = run_in_userns([&]() -> Result<std::string> {
      UniqueFd fd(::open(tar().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
      layer::FdSink sink(fd.get());
      layer::WriteOptions options;
      options.clamp_mtime = k_epoch;
      return TRY(layer::write_layer(root, options, sink)).diff_id.str();
    });
    REQUIRE(r.ok());
    diff_id = Digest::parse(*r).value();
  }
};

const BaseLayer& base_layer() {
  static BaseLayer base;
  return base;
}

struct Env {
  TempDir dir = container_temp_dir("cbuild-snap-");
  store::Store store = store::Store::open(dir.path() / "store").value();
  Snapshotter snap;
  std::string base;
  explicit Env(Kind kind) : snap(store, kind) {
    base = snap.unpack("", base_layer().tar(), base_layer().diff_id).value();
  }
  ~Env() { (void)remove_tree_mapped(store.root() / "snapshots"); }

  struct Step {
    store::SnapshotRecord record;
    std::string output;
    int code = 0;
  };
  Step step(const std::string& parent, const std::string& script, std::vector<Mount> mounts = {},
            std::optional<int64_t> clamp = k_epoch) {
    Step s;
    Active active = snap.prepare(parent).value();
    ExecSpec spec;
    spec.rootfs = active.rootfs();
    spec.args = {"/bin/sh", "-c", script};
    spec.mounts = std::move(mounts);
    spec.on_output = [&](Stream, std::string_view d) { s.output.append(d); };
    auto r = run_container(spec);
    if (!r) FAIL(r.error().message);
    s.code = r->exit_code;
    auto rec = snap.commit(active, r->created, clamp);
    if (!rec) FAIL(rec.error().message);
    s.record = *rec;
    return s;
  }
  /// A COPY re-run as the builder commits it: `script` writes what was copied again (and
  /// the directories), the files of `reused` ("dir/" → names) are taken from `previous`.
  Step rerun(const std::string& parent, const std::string& script, const std::string& previous,
             const std::map<std::string, std::vector<std::string>>& reused) {
    Step s;
    Active active = snap.prepare(parent).value();
    ExecSpec spec;
    spec.rootfs = active.rootfs();
    spec.args = {"/bin/sh", "-c", script};
    auto r = run_container(spec);
    if (!r) FAIL(r.error().message);
    REQUIRE(r->exit_code == 0);
    fs::path upper = std::get<OverlayRootfs>(active.rootfs()).upperdir;
    CommitLinks links;
    links.previous = previous;
    for (const auto& [dir, names] : reused)
      links.dirs.push_back({(store.snapshot_path(previous) / dir).string(), (upper / dir).string(), names, {}});
    links.link = [](const std::vector<layer::LinkedDir>& dirs) -> Status {
      for (const auto& d : dirs)
        for (const auto& name : d.names)
          if (::link((d.from + "/" + name).c_str(), (d.to + "/" + name).c_str()) != 0)
            return errno_error("link " + d.from + "/" + name);
      return {};
    };
    CommitInfo info;
    auto rec = snap.commit(active, r->created, k_epoch, &info, &links);
    if (!rec) FAIL(rec.error().message);
    s.record = *rec;
    return s;
  }
  std::string tar(const std::string& id) {
    layer::StringSink sink;
    layer::WriteOptions options;
    options.clamp_mtime = k_epoch;
    auto d = snap.write_layer(id, options, sink);
    if (!d) FAIL(d.error().message);
    CHECK(d->diff_id == store.get_snapshot(id).value()->diff_id);
    return sink.data();
  }
  // "path type uid:gid mode[ -> link]" per entry, in tar order.
  std::vector<std::string> listing(const std::string& id) {
    std::string data = tar(id);
    std::vector<std::string> out;
    archive* a = archive_read_new();
    archive_read_support_format_tar(a);
    REQUIRE(archive_read_open_memory(a, data.data(), data.size()) == ARCHIVE_OK);
    archive_entry* e = nullptr;
    while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
      const char* type = archive_entry_hardlink(e) ? "h" : archive_entry_filetype(e) == AE_IFDIR ? "d"
                         : archive_entry_filetype(e) == AE_IFLNK ? "l" : archive_entry_filetype(e) == AE_IFIFO ? "p" : "f";
      std::string line = fmt::format("{} {} {}:{} {:o}", archive_entry_pathname(e), type,
                                     archive_entry_uid(e), archive_entry_gid(e),
                                     archive_entry_perm(e));
      if (archive_entry_hardlink(e)) line += std::string(" -> ") + archive_entry_hardlink(e);
      if (archive_entry_symlink(e)) line += std::string(" -> ") + archive_entry_symlink(e);
      out.push_back(line);
    }
    archive_read_free(a);
    return out;
  }
  std::vector<std::string> names(const std::string& id) {
    std::vector<std::string> out;
    for (const auto& l : listing(id)) out.push_back(l.substr(0, l.find(' ')));
    return out;
  }
};

bool single() { return host_id_map().single; }

}  // namespace

TEST_CASE("snapshot: chown, whiteouts and a replaced directory; mount points stay out", "[snapshot]") {
  for (Kind kind : {Kind::overlay, Kind::native}) {
    INFO(kind_name(kind));
    Env env(kind);
    std::string owner = single() ? "0:0" : "1000:1000";
    auto s = env.step(env.base,
                      "mkdir -p /data/sub && echo hi > /data/sub/f && chown -R " + owner +
                          " /data && rm /etc/group && rm -rf /var/empty && mkdir /var/empty && "
                          "touch /var/empty/new && cat /etc/hostname >/dev/null");
    REQUIRE(s.code == 0);
    auto list = env.listing(s.record.id);
    std::vector<std::string> names = env.names(s.record.id);
    CHECK(names == std::vector<std::string>{"data/", "data/sub/", "data/sub/f", "etc/", "etc/.wh.group",
                                            "var/", "var/empty/", "var/empty/.wh..wh..opq", "var/empty/new"});
    CHECK(list[0] == "data/ d " + owner + " 755");
    CHECK(list[2] == "data/sub/f f " + owner + " 644");
    CHECK(s.record.parent == env.base);
    CHECK(s.record.id == store::chain_id(Digest::parse(env.base).value(), s.record.diff_id).str());
  }
}

TEST_CASE("snapshot: a chain sees its parents; deletions hide lower files", "[snapshot]") {
  for (Kind kind : {Kind::overlay, Kind::native}) {
    INFO(kind_name(kind));
    Env env(kind);
    auto one = env.step(env.base, "echo one > /one && rm /etc/passwd");
    auto two = env.step(one.record.id, "test ! -e /etc/passwd && cat /one && echo two > /two");
    CHECK(two.code == 0);
    CHECK(two.output == "one\n");
    CHECK(env.names(two.record.id) == std::vector<std::string>{"two"});
    CHECK(env.snap.chain(two.record.id).value() ==
          std::vector<std::string>{two.record.id, one.record.id, env.base});
  }
}

TEST_CASE("snapshot: overlay and native snapshotters produce identical layers", "[snapshot]") {
  std::string owner = single() ? "0:0" : "1000:2000";
  std::vector<std::string> scripts = {
      "mkdir -p /app/lib && echo a > /app/a && echo b > /app/lib/b && ln -s a /app/link && "
      "ln /app/a /app/hard && chmod 0700 /app/lib && mkfifo /app/fifo && chown -R " + owner +
          " /app/lib && echo x >> /etc/passwd && rm /etc/group && rm -rf /var/empty && "
          "mkdir /var/empty && touch /var/empty/n && mkdir /root/x",
      "rm -rf /app/lib && echo c > /app/a2 && rm /app/link && rm -rf /root/x && touch /root/y && "
      "rm /bin/vi && rm -rf /home/user && echo user > /home/user",
      "sed -i s/a/z/ /app/a && echo new > /etc/group && mkdir /app/lib && chmod 4755 /bin/busybox",
      "true",
  };
  std::map<Kind, std::vector<std::pair<Digest, std::vector<std::string>>>> layers;
  for (Kind kind : {Kind::overlay, Kind::native}) {
    Env env(kind);
    std::string parent = env.base;
    for (const auto& script : scripts) {
      auto s = env.step(parent, script);
      REQUIRE(s.code == 0);
      layers[kind].push_back({s.record.diff_id, env.listing(s.record.id)});
      parent = s.record.id;
    }
  }
  for (size_t i = 0; i < scripts.size(); ++i) {
    INFO("step " << i);
    CHECK(layers[Kind::overlay][i].second == layers[Kind::native][i].second);
    CHECK(layers[Kind::overlay][i].first == layers[Kind::native][i].first);
  }
  // The replaced /home/user directory became a file: no whiteouts below it.
  auto& second = layers[Kind::overlay][1].second;
  CHECK(std::find(second.begin(), second.end(), "home/user f 0:0 644") != second.end());
  CHECK(std::find(second.begin(), second.end(), "bin/.wh.vi f 0:0 600") != second.end());
  // An empty RUN gives the empty layer (1024 zero bytes).
  CHECK(layers[Kind::native][3].first.str() ==
        "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");
}

TEST_CASE("snapshot: secrets, caches, tmpfs and binds never reach a layer", "[snapshot]") {
  for (Kind kind : {Kind::overlay, Kind::native}) {
    INFO(kind_name(kind));
    Env env(kind);
    TempDir cache = container_temp_dir("cbuild-cache-");
    TempDir ctx = container_temp_dir("cbuild-ctx-");
    REQUIRE(write_file_atomic(ctx.path() / "in", "ctx\n").ok());
    auto keep = env.step(env.base, "mkdir -p /root/.cache && echo keep > /root/.cache/keep");
    auto s = env.step(keep.record.id,
                      "cat /run/secrets/tok; echo c > /root/.cache/c; echo t > /tmp/t/x; cat /ctx/in; "
                      "test -e /root/.cache/keep || echo hidden",
                      {SecretMount{"/run/secrets/tok", "S3CRET-XYZ\n", 0, 0, 0400},
                       BindMount{cache.path(), "/root/.cache", false}, TmpfsMount{"/tmp/t", 1 << 20},
                       BindMount{ctx.path(), "/ctx", true}});
    CHECK(s.output == "S3CRET-XYZ\nctx\nhidden\n");
    CHECK(env.listing(s.record.id).empty());
    CHECK(read_file(cache.path() / "c").value() == "c\n");
    auto after = env.step(s.record.id, "ls /root/.cache");
    CHECK(after.output == "keep\n");
    // The secret is nowhere in the store (looked at from the host and from the namespace).
    auto search = [&]() -> Result<std::string> {
      for (const auto& e : fs::recursive_directory_iterator(env.store.root(), fs::directory_options::skip_permission_denied))
        if (e.is_regular_file() && read_file(e.path()).value_or("").find("S3CRET-XYZ") != std::string::npos)
          return e.path().string();
      return std::string();
    };
    CHECK(search().value() == "");
    auto found = run_in_userns(search);
    REQUIRE(found.ok());
    CHECK(*found == "");
  }
}

TEST_CASE("snapshot: deep chains are flattened and stay correct", "[snapshot]") {
  for (Kind kind : {Kind::overlay, Kind::native}) {
    INFO(kind_name(kind));
    Env env(kind);
    env.snap.set_max_lowers(3);
    std::string parent = env.base;
    for (int i = 0; i < 7; ++i) {
      auto s = env.step(parent, fmt::format("echo {0} > /f{0}{1}", i, i == 1 ? " && rm /etc/passwd" : ""));
      REQUIRE(s.code == 0);
      parent = s.record.id;
      CHECK(env.snap.lowerdirs(parent).value().size() <= 3);
    }
    auto last = env.step(parent, "cat /f0 /f3 /f6; ls / | grep -c '^f'; test -e /etc/passwd || echo gone");
    CHECK(last.output == "0\n3\n6\n7\ngone\n");
    bool flat = false;
    auto records = env.store.list_snapshots().value();
    for (const auto& rec : records) flat |= rec.id.starts_with("flat-");
    CHECK(flat);
  }
}

TEST_CASE("snapshot: a COPY re-run stacks on the previous result where the stack shows its files", "[snapshot]") {
  Env env(Kind::overlay);
  auto previous = env.step(env.base,
                           "mkdir -p /ctx/a /ctx/b && for i in 1 2 3 4 5; do echo $i > /ctx/a/f$i; echo $i > /ctx/b/g$i; "
                           "done && ln -s f1 /ctx/a/link");
  REQUIRE(previous.code == 0);
  const std::string a = previous.record.id;
  const std::string dirs = "mkdir -p /ctx/a /ctx/b /ctx/c && ln -s f1 /ctx/a/link";
  const std::string new_dir = " && echo h > /ctx/c/h";  // a directory the previous result lacks
  const std::vector<std::string> all_b = {"g1", "g2", "g3", "g4", "g5"};
  auto look = [&](const std::string& id) {
    return env.step(id, "cat /ctx/a/f1 /ctx/a/f3 /ctx/b/g2; ls /ctx/a | tr '\\n' ' '; ls /ctx/b | wc -l").output;
  };

  // f1 copied again, the rest taken: the directory holds f1 and the directories only.
  auto one = env.rerun(env.base, dirs + new_dir + " && echo new > /ctx/a/f1", a,
                       {{"ctx/a", {"f2", "f3", "f4", "f5"}}, {"ctx/b", all_b}});
  CHECK(one.record.base == a);
  CHECK(one.record.parent == env.base);
  CHECK(look(one.record.id) == "new\n3\n2\nf1 f2 f3 f4 f5 link 5\n");
  CHECK(env.names(one.record.id) == std::vector<std::string>{"ctx/", "ctx/a/", "ctx/a/f1", "ctx/a/f2", "ctx/a/f3",
                                                             "ctx/a/f4", "ctx/a/f5", "ctx/a/link", "ctx/b/",
                                                             "ctx/b/g1", "ctx/b/g2", "ctx/b/g3", "ctx/b/g4", "ctx/b/g5",
                                                             "ctx/c/", "ctx/c/h"});
  CHECK_FALSE(fs::exists(env.store.snapshot_path(one.record.id) / "ctx/a/f2"));
  auto lowers = env.snap.lowerdirs(one.record.id).value();
  CHECK(std::find(lowers.begin(), lowers.end(), env.store.snapshot_path(a)) != lowers.end());
  auto merged = env.snap.merged_view(one.record.id).value();
  CHECK(read_file(merged / "ctx/b/g4").value_or("?") == "4\n");
  auto refused = env.store.remove_snapshot(a);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("is built on it"));

  // The same step on a parent whose stack shows the previous result already (overlayfs takes
  // a directory once): linked, the same layer.
  auto over = env.rerun(one.record.id, "touch /ctx /ctx/a /ctx/b /ctx/c && ln -sf f1 /ctx/a/link && echo new > /ctx/a/f1" + new_dir, a,
                        {{"ctx/a", {"f2", "f3", "f4", "f5"}}, {"ctx/b", all_b}});
  CHECK(over.record.base.empty());
  CHECK(over.record.diff_id == one.record.diff_id);
  CHECK(fs::exists(env.store.snapshot_path(over.record.id) / "ctx/a/f2"));

  // A re-run of the stacked result: f1 and c/h (copied by it) are linked from it, the rest stays
  // stacked on the first result, never on a stacked one.
  auto two = env.rerun(env.base, dirs + " && echo newer > /ctx/b/g2", one.record.id,
                       {{"ctx/a", {"f1", "f2", "f3", "f4", "f5"}}, {"ctx/b", {"g1", "g3", "g4", "g5"}}, {"ctx/c", {"h"}}});
  CHECK(two.record.base == a);
  CHECK(look(two.record.id) == "new\n3\nnewer\nf1 f2 f3 f4 f5 link 5\n");
  CHECK(env.step(two.record.id, "cat /ctx/c/h").output == "h\n");
  CHECK(fs::exists(env.store.snapshot_path(two.record.id) / "ctx/a/f1"));
  CHECK(fs::exists(env.store.snapshot_path(two.record.id) / "ctx/c/h"));
  CHECK_FALSE(fs::exists(env.store.snapshot_path(two.record.id) / "ctx/a/f3"));

  // f5 gone from the source: the stack would show it, so everything is linked.
  auto gone = env.rerun(env.base, dirs + new_dir, a, {{"ctx/a", {"f1", "f2", "f3", "f4"}}, {"ctx/b", all_b}});
  CHECK(gone.record.base.empty());
  CHECK(look(gone.record.id) == "1\n3\n2\nf1 f2 f3 f4 link 5\n");
}

TEST_CASE("snapshot: kind selection", "[snapshot]") {
  CHECK(parse_kind("native").value() == Kind::native);
  CHECK_FALSE(parse_kind("auto").value().has_value());
  CHECK_FALSE(parse_kind("zfs").ok());
  CHECK(choose_kind(Kind::native, "/tmp", nullptr) == Kind::native);
  std::string notice;
  Kind k = choose_kind(std::nullopt, "/tmp", &notice);
  CHECK((k == Kind::overlay) == notice.empty());
}
