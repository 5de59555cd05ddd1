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

TEST_CASE("snapshot: kind selection", "[snapshot]") {
  CHECK(parse_kind("native").value() == Kind::native);
  CHECK_FALSE(parse_kind("auto").value().has_value());
  CHECK_FALSE(parse_kind("zfs").ok());
  CHECK(choose_kind(Kind::native, "/tmp", nullptr) == Kind::native);
  std::string notice;
  Kind k = choose_kind(std::nullopt, "/tmp", &notice);
  CHECK((k == Kind::overlay) == notice.empty());
}
