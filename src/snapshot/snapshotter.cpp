#include "cbuild/snapshot/snapshotter.hpp"

#include "cbuild/executor/userns.hpp"
#include "cbuild/layer/applier.hpp"
#include "cbuild/layer/writer.hpp"
#include "cbuild/snapshot/tree.hpp"
#include "tree_util.hpp"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <fcntl.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <thread>
#include <unordered_set>

namespace cbuild::snapshot {
namespace {

using Json = nlohmann::json;

constexpr const char* k_info = R"({"format":"overlay-upper-v1"})";
constexpr const char* k_flat_info = R"({"format":"overlay-upper-v1","flat":true})";
// Mount data is one page; leave room for upperdir, workdir and options.
constexpr size_t k_lowerdir_budget = 3000;
constexpr size_t k_max_depth = 128;

std::string id_hex(const std::string& id) {
  return id.starts_with("sha256:") ? id.substr(7) : id;
}

Result<Digest> next_chain(const std::string& parent, const Digest& diff_id) {
  if (parent.empty()) return diff_id;
  Digest p = TRY(Digest::parse(parent));
  return store::chain_id(p, diff_id);
}

Status make_owned_dir(const fs::path& dir, const executor::IdMap* map, mode_t mode = 0755) {
  TRY(make_dirs(dir));
  if (::chmod(dir.c_str(), mode) != 0) return errno_error(fmt::format("chmod `{}`", dir.string()));
  return executor::own_for_container(dir, map);
}

Result<std::string> in_userns(const executor::IdMap* map, const std::function<Status()>& fn) {
  return executor::run_in_userns(
      [&]() -> Result<std::string> {
        TRY(fn());
        return std::string();
      },
      map);
}

layer::WriteOptions upper_options(std::optional<int64_t> clamp, const layer::PendingFiles* pending = nullptr) {
  layer::WriteOptions options;
  options.kind = layer::TreeKind::overlay_upper;
  options.clamp_mtime = clamp;
  options.pending = pending;
  return options;
}

// The result line of a commit child: "<diffID>" or "<diffID> <content> <tar size> <entries>".
Result<std::string> commit_result(const fs::path& tree, std::optional<int64_t> clamp, bool with_info,
                                  const layer::PendingFiles* pending = nullptr) {
  if (!with_info) return TRY(layer::layer_diff_id(tree, upper_options(clamp, pending))).diff_id.str();
  auto id = TRY(layer::layer_identity(tree, upper_options(clamp, pending)));
  return fmt::format("{} {} {} {}", id.layer.diff_id.str(), id.content.str(), id.layer.tar_size, id.layer.entries);
}

Result<Digest> parse_result_digest(const Result<std::string>& r) {
  if (!r) return r.error();
  return Digest::parse(r.value());
}

/// Appended to a commit child's result line when the snapshot stacks on its previous result.
constexpr std::string_view k_stacked = " stacked";

Result<Digest> parse_commit_result(const Result<std::string>& r, CommitInfo* info, bool* stacked) {
  if (!r) return r.error();
  std::string text = r.value();
  *stacked = text.ends_with(k_stacked);
  if (*stacked) text.resize(text.size() - k_stacked.size());
  if (!info) return Digest::parse(text);
  char diff[80] = {}, content[80] = {};
  unsigned long long size = 0, entries = 0;
  if (std::sscanf(text.c_str(), "%79s %79s %llu %llu", diff, content, &size, &entries) != 4)
    return make_error("commit: bad result `{}`", text);
  info->content = TRY(Digest::parse(content));
  info->tar_size = size;
  info->entries = entries;
  return Digest::parse(diff);
}

/// Where a COPY re-run's reused files are, and what its snapshot may stack on.
struct Stacking {
  std::string own;      ///< the previous result's directory, where CommitLinks::dirs link from
  std::string base;     ///< the directory of the snapshot to stack on: `own`, or its base's
  std::string base_id;  ///< that snapshot
  bool allowed = true;  ///< false when the parent's stack shows that directory already
};

/// Links the files of `dirs` that the previous result copied itself (in `s.own`, when it is
/// stacked: few) now, and points the others at `s.base`, where they are.
Status link_from_own(std::vector<layer::LinkedDir>& dirs, const Stacking& s, const CommitLinks& links) {
  std::vector<layer::LinkedDir> now;
  for (auto& d : dirs) {
    if (d.from != s.own && !d.from.starts_with(s.own + "/"))
      return make_error("commit: files to link from `{}` lie outside `{}`", d.from, s.own);
    std::unordered_set<std::string> present;
    struct stat st {};
    if (::lstat(d.from.c_str(), &st) == 0)
      for (auto& name : TRY(list_dir(d.from))) present.insert(std::move(name));
    const bool digests = d.digests.size() == d.names.size();
    layer::LinkedDir taken{d.from, d.to, {}, {}}, rest{s.base + d.from.substr(s.own.size()), d.to, {}, {}};
    for (size_t i = 0; i < d.names.size(); ++i) {
      layer::LinkedDir& into = present.count(d.names[i]) ? taken : rest;
      into.names.push_back(std::move(d.names[i]));
      if (digests) into.digests.push_back(d.digests[i]);
    }
    if (!taken.names.empty()) now.push_back(std::move(taken));
    d = std::move(rest);
  }
  std::erase_if(dirs, [](const layer::LinkedDir& d) { return d.names.empty(); });
  return now.empty() ? Status() : links.link(now);
}

}  // namespace

std::string_view kind_name(Kind kind) { return kind == Kind::overlay ? "overlay" : "native"; }

Result<std::optional<Kind>> parse_kind(std::string_view text) {
  if (text == "overlay") return std::optional<Kind>(Kind::overlay);
  if (text == "native") return std::optional<Kind>(Kind::native);
  if (text == "auto" || text.empty()) return std::optional<Kind>();
  return make_error(ExitCode::usage, "unknown snapshotter `{}` (overlay, native or auto)", text);
}

namespace {

/// What a working overlay is remembered under: kernel, user and the filesystem of `scratch`.
std::string probe_key(const fs::path& scratch) {
  struct utsname u {};
  struct stat st {};
  (void)::uname(&u);
  (void)::stat(scratch.c_str(), &st);
  return fmt::format("overlay mounts: kernel {} {}, uid {}, filesystem {}\n", u.release, u.version, ::geteuid(),
                     static_cast<uint64_t>(st.st_dev));
}

/// Mounts a test overlay in a user namespace under `scratch`.
Status probe_overlay(const fs::path& scratch) {
  TempDir dir = TRY(TempDir::create("cbuild-probe-", scratch));
  // mkdtemp gives 0700: container root (an unprivileged host id as root) must pass through.
  if (::chmod(dir.path().c_str(), 0711) != 0) return errno_error("chmod probe directory");
  for (const char* sub : {"lower", "upper", "work", "merged"}) TRY(make_owned_dir(dir.path() / sub, nullptr));
  auto mounted = executor::run_in_userns(
      [&]() -> Result<std::string> {
        std::string data =
            fmt::format("lowerdir={0}/lower,upperdir={0}/upper,workdir={0}/work,userxattr", dir.path().string());
        if (::mount("overlay", (dir.path() / "merged").c_str(), "overlay", 0, data.c_str()) != 0)
          return errno_error("mount overlay");
        return std::string();
      },
      nullptr, CLONE_NEWNS);
  (void)executor::remove_tree_mapped(dir.path() / "work");
  if (!mounted) return mounted.error();
  return {};
}

}  // namespace

Kind choose_kind(std::optional<Kind> requested, const fs::path& scratch, std::string* notice,
                 const fs::path& remembered) {
  if (requested) return *requested;
  static std::optional<std::string> failure;
  static bool probed = false;
  if (!probed) {
    probed = true;
    std::string key = probe_key(scratch);
    if (remembered.empty() || read_file(remembered).value_or("") != key) {
      if (Status probe = probe_overlay(scratch); !probe)
        failure = probe.error().message;
      else if (!remembered.empty())
        (void)write_file_atomic(remembered, key);
    }
  }
  if (failure && notice)
    *notice = fmt::format("notice: overlayfs cannot be mounted here ({}): using the native snapshotter", *failure);
  return failure ? Kind::native : Kind::overlay;
}

Active::~Active() {
  if (!m_scratch.empty()) (void)executor::remove_tree_mapped(m_scratch, m_map);
}

Snapshotter::Snapshotter(store::Store& store, Kind kind, const executor::IdMap* map)
    : Snapshotter(store, std::function<Kind()>([kind] { return kind; }), map) {}

Snapshotter::Snapshotter(store::Store& store, std::function<Kind()> resolve, const executor::IdMap* map)
    : m_store(store), m_resolve(std::move(resolve)), m_map(map) {
  store.set_tree_remover([map](const fs::path& p) { return executor::remove_tree_mapped(p, map); });
}

Result<layer::LayerDigests> Snapshotter::write_layer(const std::string& id, layer::WriteOptions options,
                                                     layer::ByteSink& out) {
  options.kind = layer::TreeKind::overlay_upper;
  auto record = TRY(m_store.get_snapshot(id));
  if (!options.clamp_mtime) {  // the SOURCE_DATE_EPOCH its diffID was committed with
    Json info = record ? Json::parse(record->info, nullptr, false) : Json();
    if (info.is_object() && info.contains("clamp_mtime") && info["clamp_mtime"].is_number_integer())
      options.clamp_mtime = info["clamp_mtime"].get<int64_t>();
  }
  fs::path base = record && !record->base.empty() ? m_store.snapshot_path(record->base) : fs::path();
  auto d = write_dir(m_store.snapshot_path(id), base, std::move(options), out);
  if (!d) return std::move(d).error().wrap("write layer of snapshot {}", id);
  return d;
}

Result<layer::LayerDigests> Snapshotter::write_tree(const fs::path& tree, layer::WriteOptions options,
                                                    layer::ByteSink& out) {
  return write_dir(tree, fs::path(), std::move(options), out);
}

Result<layer::LayerDigests> Snapshotter::write_dir(const fs::path& tree, const fs::path& base,
                                                   layer::WriteOptions options, layer::ByteSink& out) {
  options.ids = {};
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd read_end(fds[0]), write_end(fds[1]);
  Status copied;
  std::thread drain([&] {
    char buf[65536];
    for (;;) {
      ssize_t n = ::read(read_end.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      if (copied) copied = out.write(buf, static_cast<size_t>(n));
    }
  });
  auto r = executor::run_in_userns(
      [&]() -> Result<std::string> {
        read_end.reset();
        std::optional<layer::PendingFiles> shown;
        if (!base.empty()) {
          shown = TRY(layer::PendingFiles::derived(tree, base));
          if (!shown) return make_error("`{}` no longer stacks on `{}`", tree.string(), base.string());
          options.pending = &*shown;
        }
        layer::FdSink sink(write_end.get());
        auto d = TRY(layer::write_layer(tree, options, sink));
        return fmt::format("{} {} {} {} {}", d.diff_id.str(), d.tar_size, d.entries,
                           d.blob_digest.str(), d.blob_size);
      },
      m_map);
  write_end.reset();
  drain.join();
  if (!r) return std::move(r).error();
  TRY(copied);
  char diff[80] = {}, blob[80] = {};
  layer::LayerDigests d;
  unsigned long long tar_size = 0, entries = 0, blob_size = 0;
  if (std::sscanf(r->c_str(), "%79s %llu %llu %79s %llu", diff, &tar_size, &entries, blob, &blob_size) != 5)
    return make_error("write layer of `{}`: bad result `{}`", tree.string(), *r);
  d.diff_id = TRY(Digest::parse(diff));
  d.blob_digest = TRY(Digest::parse(blob));
  d.tar_size = tar_size;
  d.entries = entries;
  d.blob_size = blob_size;
  d.compression = options.compression.compression;
  return d;
}

Result<std::vector<store::SnapshotRecord>> Snapshotter::chain_records(const std::string& id) {
  std::vector<store::SnapshotRecord> out;
  for (std::string cur = id; !cur.empty();) {
    auto rec = TRY(m_store.get_snapshot(cur));
    if (!rec) return make_error(ExitCode::not_found, "snapshot {} not found", cur);
    cur = rec->parent;
    out.push_back(std::move(*rec));
  }
  return out;
}

Result<std::vector<std::string>> Snapshotter::chain(const std::string& id) {
  std::vector<std::string> out;
  for (auto& rec : TRY(chain_records(id))) out.push_back(std::move(rec.id));
  return out;
}

std::vector<fs::path> Snapshotter::dirs_of(const store::SnapshotRecord& record) const {
  std::vector<fs::path> out{m_store.snapshot_path(record.id)};
  if (!record.base.empty()) out.push_back(m_store.snapshot_path(record.base));
  return out;
}

Result<store::SnapshotRecord> Snapshotter::store_layer(const fs::path& tree, const std::string& parent,
                                                       const Digest& diff_id, uint64_t size,
                                                       std::optional<int64_t> clamp_mtime, const std::string& base) {
  Digest id = TRY(next_chain(parent, diff_id));
  store::SnapshotRecord record;
  record.id = id.str();
  record.size = size;
  record.parent = parent;
  record.diff_id = diff_id;
  record.info = k_info;
  record.base = base;
  if (clamp_mtime) record.info = Json{{"format", "overlay-upper-v1"}, {"clamp_mtime", *clamp_mtime}}.dump();
  return m_store.commit_snapshot(tree, std::move(record));
}

Result<std::string> Snapshotter::unpack(const std::string& parent, const fs::path& archive,
                                        const Digest& diff_id) {
  Digest id = TRY(next_chain(parent, diff_id));
  if (TRY(m_store.get_snapshot(id.str()))) return id.str();
  fs::path staging = TRY(m_store.begin_snapshot());
  TRY(make_owned_dir(staging, m_map));
  auto got = parse_result_digest(executor::run_in_userns(
      [&]() -> Result<std::string> {
        layer::ApplyOptions options;
        options.whiteouts = layer::WhiteoutMode::overlay_user;
        auto applied = TRY(layer::apply_layer(archive, staging, options));
        return applied.diff_id.str();
      },
      m_map));
  if (!got || *got != diff_id) {
    (void)m_store.remove_tree(staging);
    if (!got) return std::move(got).error().wrap("unpack `{}`", archive.string());
    return make_error(ExitCode::bad_input, "unpack `{}`: diffID is {}, expected {}", archive.string(),
                      got->str(), diff_id.str());
  }
  auto record = TRY(store_layer(staging, parent, diff_id));
  return record.id;
}

Result<fs::path> Snapshotter::flattened(const std::vector<store::SnapshotRecord>& bottom) {
  std::string id = "flat-" + id_hex(bottom.front().id);
  if (TRY(m_store.get_snapshot(id))) return m_store.snapshot_path(id);
  fs::path staging = TRY(m_store.begin_snapshot());
  TRY(make_owned_dir(staging, m_map));
  std::vector<fs::path> layers;  // bottom first
  for (auto it = bottom.rbegin(); it != bottom.rend(); ++it) {
    auto dirs = dirs_of(*it);
    layers.insert(layers.end(), dirs.rbegin(), dirs.rend());
  }
  auto merged = in_userns(m_map, [&]() -> Status {
    for (const fs::path& layer : layers) TRY(merge_layer(layer, staging, true));
    return {};
  });
  if (!merged) {
    (void)m_store.remove_tree(staging);
    return std::move(merged).error().wrap("flatten snapshot {}", bottom.front().id);
  }
  store::SnapshotRecord record;
  record.id = id;
  record.diff_id = bottom.front().diff_id;
  record.info = k_flat_info;
  TRY(m_store.commit_snapshot(staging, std::move(record)));
  return m_store.snapshot_path(id);
}

Result<std::vector<fs::path>> Snapshotter::lowerdirs(const std::string& id) {
  auto records = TRY(chain_records(id));
  size_t limit = m_max_lowers;
  if (limit == 0) {
    size_t per = m_store.snapshot_path(id).string().size() + 1;
    limit = std::min(k_max_depth, k_lowerdir_budget / per);
  }
  limit = std::max<size_t>(limit, 2);
  const size_t n = records.size(), block = std::max<size_t>(limit / 2, 1);
  size_t keep = n;
  if (n > limit) keep = n - std::min(n, ((n - limit) / block + 1) * block);
  // Stacked snapshots take two directories each: cut one more block while they overflow.
  auto dirs_kept = [&](size_t k) {
    size_t dirs = k < n ? k + 1 : k;
    for (size_t i = 0; i < k; ++i) dirs += records[i].base.empty() ? 0 : 1;
    return dirs;
  };
  while (keep > 0 && dirs_kept(keep) > limit) keep = keep > block ? keep - block : 0;
  std::vector<fs::path> out;
  for (size_t i = 0; i < keep; ++i)
    for (auto& dir : dirs_of(records[i])) out.push_back(std::move(dir));
  if (keep < n) out.push_back(TRY(flattened({records.begin() + static_cast<long>(keep), records.end()})));
  return out;
}

Kind Snapshotter::kind() {
  std::call_once(m_resolved, [this] { m_kind = m_resolve(); });
  return *m_kind;
}

Result<Active> Snapshotter::prepare(const std::string& parent) {
  Active active;
  active.m_parent = parent;
  active.m_map = m_map;
  active.m_scratch = TRY(m_store.make_temp_dir("step-"));
  TRY(make_owned_dir(active.m_scratch, m_map, 0711));
  if (kind() == Kind::overlay) return prepare_overlay(parent, std::move(active));
  return prepare_native(parent, std::move(active));
}

Result<Active> Snapshotter::prepare_overlay(const std::string& parent, Active active) {
  fs::path upper = active.m_scratch / "upper", work = active.m_scratch / "work";
  TRY(make_owned_dir(upper, m_map));
  TRY(make_owned_dir(work, m_map));
  if (!parent.empty()) {
    active.m_lowers = TRY(lowerdirs(parent));
  } else {
    active.m_lowers = {active.m_scratch / "empty"};
    TRY(make_owned_dir(active.m_lowers.front(), m_map));
  }
  active.m_rootfs = executor::OverlayRootfs{active.m_lowers, upper, work};
  return active;
}

Result<Active> Snapshotter::prepare_native(const std::string& parent, Active active) {
  fs::path root = active.m_scratch / "root";
  TRY(make_owned_dir(root, m_map));
  std::vector<fs::path> layers;
  if (!parent.empty()) {
    auto lowers = TRY(lowerdirs(parent));
    layers.assign(lowers.rbegin(), lowers.rend());
  }
  fs::path state = active.m_scratch / "before";
  TRY(in_userns(m_map, [&]() -> Status {
    for (const fs::path& layer : layers) TRY(merge_layer(layer, root, false));
    return write_tree_state(root, state);
  }));
  active.m_rootfs = executor::DirRootfs{root};
  return active;
}

Result<store::SnapshotRecord> Snapshotter::commit(Active& active,
                                                  const std::vector<executor::CreatedPath>& created,
                                                  std::optional<int64_t> clamp_mtime, CommitInfo* info,
                                                  const CommitLinks* links) {
  fs::path tree;
  Result<std::string> digest = std::string();
  Stacking stacking;
  if (auto* ovl = std::get_if<executor::OverlayRootfs>(&active.m_rootfs)) {
    tree = ovl->upperdir;
    if (links && !links->dirs.empty()) {
      auto previous = TRY(m_store.get_snapshot(links->previous));
      if (!previous) return make_error(ExitCode::not_found, "snapshot {} not found", links->previous);
      stacking.own = m_store.snapshot_path(previous->id).string();
      stacking.base_id = previous->base.empty() ? previous->id : previous->base;
      stacking.base = m_store.snapshot_path(stacking.base_id).string();
      if (!active.m_parent.empty())  // overlayfs takes a directory once per mount
        for (const auto& r : TRY(chain_records(active.m_parent)))
          if (r.id == stacking.base_id || r.base == stacking.base_id) stacking.allowed = false;
    }
    digest = executor::run_in_userns(
        [&]() -> Result<std::string> {
          prune_copied_up(tree, active.m_lowers, remove_created(tree, created));
          if (!links || links->dirs.empty()) return commit_result(tree, clamp_mtime, info != nullptr);
          // A stacked previous result: its own files linked now, the rest read from its base.
          const bool split = stacking.own != stacking.base;
          std::vector<layer::LinkedDir> rewritten;
          if (split) {
            rewritten = links->dirs;
            TRY(link_from_own(rewritten, stacking, *links));
          }
          const auto& dirs = split ? rewritten : links->dirs;
          auto pending = TRY(layer::PendingFiles::of(tree, dirs));
          if (stacking.allowed) {  // no links where the stack shows the step's files and no others
            auto shown = TRY(layer::PendingFiles::derived(tree, stacking.base));
            if (shown && shown->same_names(pending))
              return TRY(commit_result(tree, clamp_mtime, info != nullptr, &pending)) + std::string(k_stacked);
          }
          // The links and the layer at once: the layer reads the files where they are linked from.
          Status linked;
          std::thread linker([&] { linked = links->link(dirs); });
          auto result = commit_result(tree, clamp_mtime, info != nullptr, &pending);
          linker.join();
          TRY(linked);
          return result;
        },
        m_map);
  } else if (links && !links->dirs.empty()) {
    return make_error("commit: files to link need an overlay upper directory");
  } else {
    fs::path root = std::get<executor::DirRootfs>(active.m_rootfs).path;
    tree = active.m_scratch / "diff";
    TRY(make_owned_dir(tree, m_map));
    digest = executor::run_in_userns(
        [&]() -> Result<std::string> {
          auto restored = remove_created(root, created);
          TRY(write_native_diff(root, active.m_scratch / "before", tree, restored));
          return commit_result(tree, clamp_mtime, info != nullptr);
        },
        m_map);
  }
  bool stacked = false;
  Digest diff_id = TRY(parse_commit_result(digest, info, &stacked));
  return store_layer(tree, active.m_parent, diff_id, info ? info->tar_size : 0, clamp_mtime,
                     stacked ? stacking.base_id : std::string());
}

Result<fs::path> Snapshotter::merged_view(const std::string& id) {
  auto records = TRY(chain_records(id));
  if (records.size() == 1 && records.front().base.empty()) return m_store.snapshot_path(id);
  return flattened(records);
}

}  // namespace cbuild::snapshot
