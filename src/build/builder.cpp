// The solver: plan → stages in parallel → steps from cache or executed → image.
#include "cbuild/build/builder.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <set>
#include <thread>
#include <unordered_map>

#include "build_internal.hpp"
#include "cbuild/build/remote_cache.hpp"
#include "cbuild/executor/userns.hpp"
#include "cbuild/export/save.hpp"
#include "cbuild/layer/applier.hpp"
#include "cbuild/context/stat_cache.hpp"
#include "cbuild/dockerfile/parser.hpp"
#include "cbuild/image/media_types.hpp"
#include "cbuild/image/time.hpp"
#include "cbuild/registry/pull.hpp"
#include "cbuild/registry/connection.hpp"
#include "config_apply.hpp"
#include "lazy_results.hpp"

namespace cbuild::build {
namespace {

using Clock = std::chrono::steady_clock;

bool is_file_step(std::string_view keyword) {
  return keyword == "RUN" || keyword == "COPY" || keyword == "ADD" || keyword == "WORKDIR";
}

Digest empty_identity() { return Digest::of(std::string_view("cbuild.identity/1 scratch")); }

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// As root, steps run as an unprivileged host id: every directory above the store must let
// others pass (x), or nothing in the store can be mounted or read from a step.
Status check_reachable(const fs::path& root) {
  std::error_code ec;
  fs::path p = fs::absolute(root, ec);
  for (fs::path dir = p; !dir.empty(); dir = dir.parent_path()) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && !(st.st_mode & S_IXOTH))
      return make_error(ExitCode::usage,
                        "store `{}`: `{}` has mode {:04o}, so build steps (which run as an unprivileged "
                        "host user even as root) cannot reach the store; use a store below directories "
                        "others may enter (chmod o+x), e.g. the default /var/lib/cbuild",
                        root.string(), dir.string(), st.st_mode & 07777);
    if (dir == dir.parent_path()) break;
  }
  return {};
}

class Builder {
 public:
  Builder(store::Store& store, const BuildOptions& options, Progress& progress)
      : m_store(store), m_options(options), m_progress(progress) {}

  Result<BuildResult> run();

 private:
  Result<exporter::LocalImage> base_image(const std::string& ref);
  Result<fs::path> downloads_dir();
  Result<StageState> image_state(const std::string& ref);
  Result<SourceTree> source(const std::string& from);
  Status build_stage(const plan::Stage& stage);
  Status run_step(const plan::Stage& stage, const plan::Step& step, int position, int count, StageState& state,
                  bool no_cache);
  Result<StageState> wait_for(int stage_index);
  const plan::Stage* find_stage(const std::string& from) const;
  std::string slot_key(const plan::Stage& stage, const plan::Step& step) const;
  /// The local cache entry of `key` whose snapshot (if it names one) is still stored.
  struct LocalResult {
    Json record;
    int64_t last_used = 0;
  };
  Result<std::optional<LocalResult>> local_result(const std::string& key);
  /// For a COPY/ADD that missed: its previous result (from the inputs it had last time)
  /// and which of its files are unchanged since, so the re-run can reuse them. `before`
  /// and `now`: the step's key inputs then and now.
  std::optional<CopyReuse> previous_copy(const Json& before, const Json& now,
                                         const std::vector<context::FileRecord>& before_files,
                                         const std::vector<context::FileRecord>& now_files);

  store::Store& m_store;
  const BuildOptions& m_options;
  Progress& m_progress;
  plan::Plan m_plan;
  std::optional<snapshot::Snapshotter> m_snapshotter;
  std::optional<context::Context> m_context;
  std::optional<context::StatCache> m_stat_cache;
  std::mutex m_stat_mutex;
  std::map<std::string, context::Context> m_named;  // named contexts that are directories
  std::optional<BuildEnv> m_env;
  std::mutex m_downloads_mutex;
  std::optional<TempDir> m_downloads;  // made by the first ADD <url> (downloads_dir)

  std::mutex m_mutex;  // guards everything below
  std::condition_variable m_changed;
  std::map<int, StageState> m_results;
  std::optional<Error> m_failure;
  std::map<std::string, exporter::LocalImage> m_images;
  std::map<std::string, StageState> m_image_states;
  std::vector<StepReport> m_reports;
  std::vector<std::string> m_touched;  // cache keys hit, touched in one transaction at the end
  std::vector<CacheImport> m_imports;  // --cache-from
  std::optional<LazyResults> m_lazy;   // their hits, fetched only when needed
  std::mutex m_mounts_mutex;           // restoring cache mounts
  struct Exported {
    int stage;
    RemoteRecord record;
    std::string snapshot;
  };
  std::vector<Exported> m_exported;  // every step result, for --cache-to

  Result<std::optional<Json>> remote_hit(const std::string& key);
  Status restore_cache_mounts(const plan::Step& step);
  Status export_caches(StageState& final_state);
};

Result<std::optional<Builder::LocalResult>> Builder::local_result(const std::string& key) {
  auto rec = TRY(m_store.get_cache(key));
  if (!rec) return std::optional<LocalResult>();
  Json j = Json::parse(rec->record, nullptr, false);
  if (!j.is_object()) return std::optional<LocalResult>();
  std::string snap = j.value("snapshot", "");
  if (!snap.empty()) {
    auto found = m_store.get_snapshot(snap);
    if (!found || !*found) return std::optional<LocalResult>();
  }
  return std::optional<LocalResult>(LocalResult{std::move(j), rec->last_used});
}

std::optional<CopyReuse> Builder::previous_copy(const Json& before, const Json& now,
                                                const std::vector<context::FileRecord>& before_files,
                                                const std::vector<context::FileRecord>& now_files) {
  if (!before.is_object() || m_snapshotter->kind() != snapshot::Kind::overlay) return std::nullopt;
  auto previous = local_result(cache_key(before));
  std::string snap = previous && *previous ? (*previous)->record.value("snapshot", "") : "";
  if (snap.empty()) return std::nullopt;
  std::unordered_map<std::string_view, const context::FileRecord*> earlier;
  earlier.reserve(before_files.size());
  for (const auto& r : before_files)
    if (r.type == context::FileType::regular) earlier.emplace(r.dest, &r);
  auto without_files = [](Json inputs) {
    inputs.erase("files");
    return inputs;
  };
  auto record = m_store.get_snapshot(snap);
  if (!record || !*record) return std::nullopt;
  CopyReuse reuse;
  reuse.snapshot = snap;
  reuse.previous = m_store.snapshot_path(snap);
  if (!(*record)->base.empty()) reuse.previous_base = m_store.snapshot_path((*record)->base);
  reuse.same_parent = without_files(before) == without_files(now);
  for (const auto& r : now_files) {
    auto it = earlier.find(r.dest);
    if (it == earlier.end() || !(*it->second == r)) continue;
    bool untouched = reuse.same_parent && r.stamp.known() && r.stamp == it->second->stamp;
    reuse.unchanged.emplace(r.dest, untouched ? static_cast<int64_t>(r.size) : -1);
  }
  if (reuse.unchanged.empty()) return std::nullopt;
  return reuse;
}

std::string Builder::slot_key(const plan::Stage& stage, const plan::Step& step) const {
  std::string stage_id = stage.name.empty() ? std::to_string(stage.index) : stage.name;
  return "slot:" + Digest::of(fmt::format("{}\n{}\n{}\n{}", m_context->root().string(),
                                          m_options.dockerfile_path.string(), stage_id, step.index))
                       .str();
}

Result<fs::path> Builder::downloads_dir() {
  std::lock_guard lock(m_downloads_mutex);
  if (!m_downloads) m_downloads.emplace(TRY(TempDir::create("downloads-", TRY(m_store.session_dir()))));
  return m_downloads->path();
}

Result<exporter::LocalImage> Builder::base_image(const std::string& ref_text) {
  std::string text = ref_text;
  auto named = m_options.named_contexts.find(ref_text);
  if (named != m_options.named_contexts.end()) {
    if (!named->second.starts_with("docker-image://"))
      return make_error(ExitCode::bad_input, "FROM {}: the named context is a directory; only docker-image:// "
                                             "contexts can be used as a base image", ref_text);
    text = named->second.substr(std::string_view("docker-image://").size());
  }
  {
    std::lock_guard lock(m_mutex);
    auto it = m_images.find(text);
    if (it != m_images.end()) return it->second;
  }
  auto local = exporter::find_image(m_store, text);
  if (!local && local.error().code != ExitCode::not_found) return std::move(local).error();
  if (!local || m_options.pull) {
    auto ref = TRY(image::parse_docker_ref(text));
    int vertex = m_progress.start(fmt::format("[internal] pull {}", ref.familiar_str()));
    auto start = Clock::now();
    registry::Connection connection(ref.domain, m_options.insecure_registries);
    auto pulled = registry::pull(m_store, connection.client(), ref);
    if (!pulled) {
      Error e = std::move(pulled).error().wrap("pull `{}`", ref.familiar_str());
      if (!local) e.message += " (the image is not in the local store either)";
      m_progress.error(vertex, e.message);
      return e;
    }
    m_progress.done(vertex, false, std::chrono::duration<double>(Clock::now() - start).count(), "");
    local = exporter::find_image(m_store, pulled->name);
    if (!local) return std::move(local).error();
  }
  std::lock_guard lock(m_mutex);
  m_images.emplace(text, *local);
  return std::move(*local);
}

Result<StageState> Builder::image_state(const std::string& ref) {
  {
    std::lock_guard lock(m_mutex);
    auto it = m_image_states.find(ref);
    if (it != m_image_states.end()) return it->second;
  }
  auto img = TRY(base_image(ref));
  StageState state;
  state.config = img.config;
  state.identity = empty_identity();
  if (img.config.diff_ids.size() != img.manifest.layers.size())
    return make_error(ExitCode::bad_input, "image {}: {} layers in the manifest but {} diffIDs in the config", ref,
                      img.manifest.layers.size(), img.config.diff_ids.size());
  Digest chain;
  for (size_t i = 0; i < img.config.diff_ids.size(); ++i) {
    const Digest& diff = img.config.diff_ids[i];
    chain = i == 0 ? diff : store::chain_id(chain, diff);
    const auto& desc = img.manifest.layers[i];
    if (!TRY(m_store.get_snapshot(chain.str()))) {
      fs::path archive = m_store.blob_path(desc.digest);
      if (!m_store.has_blob(desc.digest)) {
        auto rec = TRY(exporter::find_stored_layer(m_store, diff));
        if (!rec) return make_error(ExitCode::not_found, "image {}: layer {} is neither unpacked nor stored", ref, diff.str());
        archive = m_store.blob_path(rec->blob.digest);
      }
      TRY(m_snapshotter->unpack(state.snapshot, archive, diff));
    }
    state.snapshot = chain.str();
    state.identity = next_identity(state.identity, diff);
    state.layers.push_back({desc, std::nullopt});
    state.size += static_cast<uint64_t>(desc.size);
  }
  state.created = img.config.created;
  std::lock_guard lock(m_mutex);
  m_image_states.emplace(ref, state);
  return state;
}

const plan::Stage* Builder::find_stage(const std::string& from) const {
  for (const auto& st : m_plan.stages)
    if (!st.name.empty() && st.name == lower(from)) return &st;
  if (!from.empty() && std::all_of(from.begin(), from.end(), ::isdigit)) return m_plan.stage(std::stoi(from));
  return nullptr;
}

Result<StageState> Builder::wait_for(int stage_index) {
  std::unique_lock lock(m_mutex);
  m_changed.wait(lock, [&] { return m_results.count(stage_index) || m_failure; });
  if (m_failure && !m_results.count(stage_index)) return make_error("cancelled: an earlier step failed");
  return m_results.at(stage_index);
}

Result<SourceTree> Builder::source(const std::string& from) {
  auto named = m_named.find(from);
  if (named != m_named.end()) return SourceTree{"", {}, &named->second};
  if (const plan::Stage* st = find_stage(from)) {
    auto state = TRY(wait_for(st->index));
    return SourceTree{state.snapshot, state.identity, nullptr};
  }
  auto state = TRY(image_state(from));
  return SourceTree{state.snapshot, state.identity, nullptr};
}

Status Builder::run_step(const plan::Stage& stage, const plan::Step& step, int position, int count,
                         StageState& state, bool no_cache) {
  StepReport report;
  report.stage = stage.index;
  report.stage_name = stage.name;
  report.index = position;
  report.count = count;
  report.instruction = step.text;
  if (!is_file_step(step.keyword)) {
    TRY(apply_metadata(state, stage, step, m_env->now));
    return {};
  }
  std::string stage_label = stage.name.empty() ? fmt::format("stage-{}", stage.index) : stage.name;
  int vertex = m_progress.start(fmt::format("[{} {}/{}] {}", stage_label, position, count, step.text));
  auto start = Clock::now();
  auto fail = [&](Error e) -> Status {  // named by its Dockerfile line, as parse errors are
    m_progress.error(vertex, e.message);
    return std::move(e).wrap("{}:{}", m_options.dockerfile_path.string(), step.line);
  };
  SourceLookup sources = [this](const std::string& from) { return source(from); };

  // Key inputs.
  Json inputs;
  FileStepInputs files;
  if (step.keyword == "RUN") {
    auto r = run_key_inputs(*m_env, step, sources);
    if (!r) return fail(std::move(r).error());
    inputs = std::move(*r);
  } else {
    auto r = file_key_inputs(*m_env, step, sources, [this] { return downloads_dir(); });
    if (!r) return fail(std::move(r).error());
    files = std::move(*r);
    inputs = files.inputs;
  }
  bool link = false;
  if (const auto* c = std::get_if<dockerfile::CopyCommand>(&step.command)) link = c->link;
  if (const auto* a = std::get_if<dockerfile::AddCommand>(&step.command)) link = link || a->link;
  inputs["v"] = 1;
  inputs["instruction"] = step.text;
  inputs["platform"] = m_plan.target_platform.str();
  inputs["parent"] = link ? std::string("link") : state.identity.str();
  if (position == 2 && stage.base.kind == plan::StageBase::Kind::image) inputs["first"] = true;
  std::string key = cache_key(inputs);
  report.cache_key = key;

  // Lookup.
  std::optional<Json> hit;
  std::string reason;
  std::string slot = slot_key(stage, step);
  if (no_cache) {
    reason = m_options.no_cache ? "--no-cache" : fmt::format("--no-cache-filter {}", stage_label);
  } else {
    auto local = local_result(key);
    if (!local) return fail(std::move(local).error());
    if (*local) {
      hit = std::move((*local)->record);
      // last_used is for GC's LRU: a minute's precision spares a cached rebuild every write.
      if (store::now_seconds() - (*local)->last_used >= 60) {
        std::lock_guard lock(m_mutex);
        m_touched.push_back(key);
      }
    }
  }
  if (!hit && !no_cache && !m_imports.empty()) {
    auto remote = remote_hit(key);
    if (!remote) return fail(std::move(remote).error());
    hit = std::move(*remote);
  }
  // The inputs this step had last time: what a miss is explained against.
  Json before;
  if (auto prev = m_store.get_cache(slot); prev && *prev) {
    Json j = Json::parse((*prev)->record, nullptr, false);
    if (j.is_object()) {
      before = j.value("inputs", Json());
      if (!hit && !no_cache) {
        std::vector<context::FileRecord> before_files;
        if (auto f = m_store.get_cache(slot + ":files"); f && *f) {
          auto recs = context::records_from_bytes((*f)->record);
          if (recs) before_files = std::move(*recs);
        }
        reason = explain_miss(before.is_null() ? nullptr : &before, inputs, before_files, files.files());
        if (!link && !before_files.empty()) files.reuse = previous_copy(before, inputs, before_files, files.files());
      }
    }
  } else if (!hit && !no_cache) {
    reason = explain_miss(nullptr, inputs, {}, files.files());
  }

  StepResult result;
  bool earlier_result = false;  // a re-run whose content equalled an earlier result took it
  if (hit) {
    result.snapshot = hit->value("snapshot", "");
    result.diff_id = result.snapshot.empty() ? Digest() : TRY(Digest::parse(hit->value("diff_id", "")));
    result.size = hit->value("size", uint64_t{0});
    result.identity = TRY(Digest::parse(hit->value("identity", "")));
    result.created = hit->value("created", m_env->now);
    report.cached = true;
  } else {
    // The step runs on real trees: lazy remote hits it reads are fetched now.
    SourceLookup trees = [this](const std::string& from) -> Result<SourceTree> {
      SourceTree src = TRY(source(from));
      TRY(m_lazy->materialize(src.snapshot));
      return src;
    };
    if (Status s = m_lazy->materialize(state.snapshot); !s) return fail(s.error());
    if (Status s = restore_cache_mounts(step); !s) return fail(s.error());
    auto executed = step.keyword == "RUN" ? execute_run(*m_env, step, state, trees, vertex)
                                          : execute_files(*m_env, step, state, trees, files);
    if (!executed) return fail(std::move(executed).error());
    report.files_reused = executed->files_reused;
    snapshot::CommitInfo info;
    snapshot::CommitLinks links{std::move(executed->reused), files.reuse ? files.reuse->snapshot : "", link_reused};
    auto committed =
        m_snapshotter->commit(*executed->active, executed->created, m_options.source_date_epoch, &info, &links);
    if (!committed) return fail(std::move(committed).error());
    result.created = m_env->now;
    if (info.entries == 0) {
      result.identity = state.identity;  // nothing changed: the parent's result stands
    } else {
      std::string snap = committed->id;
      Digest diff = committed->diff_id;
      if (executed->link && !state.snapshot.empty()) {
        // COPY --link: the layer was made on an empty root; stack it on the parent.
        auto staged = m_store.make_temp_dir("link-");
        if (!staged) return fail(std::move(staged).error());
        fs::path tar = *staged / "layer.tar";
        (void)::chmod(staged->c_str(), 0711);  // the unpacking child runs as container root
        UniqueFd fd(::open(tar.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!fd) return fail(errno_error(fmt::format("create `{}`", tar.string())));
        layer::FdSink sink(fd.get());
        layer::WriteOptions write_options;
        write_options.clamp_mtime = m_options.source_date_epoch;
        auto written = m_snapshotter->write_layer(snap, write_options, sink);
        if (!written) return fail(std::move(written).error());
        auto stacked = m_snapshotter->unpack(state.snapshot, tar, diff);
        (void)m_store.remove_tree(*staged);
        if (!stacked) return fail(std::move(stacked).error());
        snap = *stacked;
      }
      result.identity = next_identity(state.identity, info.content);
      // Early cutoff: the same content as an earlier result → reuse that result.
      std::string result_key = "result:" + result.identity.str();
      auto earlier = m_store.get_cache(result_key);
      if (earlier && *earlier) {
        Json j = Json::parse((*earlier)->record, nullptr, false);
        std::string prev = j.is_object() ? j.value("snapshot", "") : "";
        auto rec = m_store.get_snapshot(prev);
        if (!prev.empty() && rec && *rec) {
          snap = prev;
          diff = (*rec)->diff_id;
          result.created = j.value("created", result.created);
          earlier_result = true;
        }
      }
      result.snapshot = snap;
      result.diff_id = diff;
      result.size = info.tar_size;
      store::CacheRecord rr;
      rr.key = result_key;
      rr.record = Json{{"snapshot", snap}, {"created", result.created}}.dump();
      rr.snapshots = {snap};
      if (Status s = m_store.put_cache(rr); !s) return fail(s.error());
    }
    store::CacheRecord cr;
    cr.key = key;
    Json record = {{"v", 1}, {"snapshot", result.snapshot}, {"identity", result.identity.str()},
                   {"created", result.created}, {"size", result.size}};
    if (!result.snapshot.empty()) {
      record["diff_id"] = result.diff_id.str();
      cr.snapshots = {result.snapshot};
    }
    cr.record = record.dump();
    cr.size = result.size;
    if (Status s = m_store.put_cache(cr); !s) return fail(s.error());
    report.executed = true;
  }
  // Remember these inputs to explain the next miss of this step (no write when unchanged).
  // The file records (large for a big COPY) live in their own entry, read only on a miss.
  if (before != inputs) {
    store::CacheRecord sr;
    sr.key = slot;
    sr.record = Json{{"inputs", inputs}}.dump();
    store::CacheRecord fr;
    fr.key = slot + ":files";
    // Stamps only beside the result they were copied into: a hit's result (or an earlier
    // one with the same content) was copied from the files as they were then, which may
    // have been touched since.
    fr.record = context::records_to_bytes(files.files(), !hit && !earlier_result);
    (void)m_store.transaction([&]() -> Status {
      TRY(m_store.put_cache(sr));
      return m_store.put_cache(fr);
    });
  }

  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  report.reason = reason;
  report.seconds = seconds;
  if (!result.snapshot.empty() && result.snapshot != state.snapshot) {
    report.layer = result.diff_id.str();
    report.size = result.size;
  }
  add_layer_step(state, step, result, m_env->now);
  m_progress.done(vertex, report.cached, seconds, hit ? "" : reason);
  std::lock_guard lock(m_mutex);
  if (hit) report.reason.clear();
  m_exported.push_back({stage.index, {key, result.identity.str(), result.created, result.size, {}}, state.snapshot});
  m_reports.push_back(std::move(report));
  return {};
}

// A key the local cache lacks but an imported cache has: the result is recorded without its
// layers (LazyResults); the local entry is stored once they are unpacked.
Result<std::optional<Json>> Builder::remote_hit(const std::string& key) {
  for (size_t i = 0; i < m_imports.size(); ++i) {
    const RemoteRecord* r = m_imports[i].find(key);
    if (!r) continue;
    Json record = {{"v", 1}, {"snapshot", LazyResults::snapshot_id(r->chain)}, {"identity", r->identity},
                   {"created", r->created}, {"size", r->size}};
    if (!r->chain.empty()) record["diff_id"] = r->chain.back().str();
    store::CacheRecord cr;
    cr.key = key;
    cr.size = r->size;
    cr.record = record.dump();
    TRY(m_lazy->add(i, *r, std::move(cr)));
    return std::optional<Json>(std::move(record));
  }
  return std::optional<Json>();
}

// Cache mounts from an imported cache fill directories that are still empty here, when a
// RUN step that mounts them runs.
Status Builder::restore_cache_mounts(const plan::Step& step) {
  const auto* run = std::get_if<dockerfile::RunCommand>(&step.command);
  if (!run) return {};
  std::lock_guard lock(m_mounts_mutex);
  for (auto& imp : m_imports) {
    for (const auto& m : imp.mounts()) {
      if (std::none_of(run->mounts.begin(), run->mounts.end(), [&](const dockerfile::MountSpec& mount) {
            return mount.type == dockerfile::MountType::cache && mount.id == m.id;
          }))
        continue;
      auto rec = TRY(m_store.cache_mount(m.id));
      std::error_code ec;
      if (!fs::is_empty(rec.path, ec)) continue;
      fs::path blob = TRY(imp.ensure_blob(m.diff_id));
      TRY(executor::own_for_container(rec.path, &m_env->map));
      auto applied = executor::run_in_userns(
          [&]() -> Result<std::string> {
            TRY(layer::apply_layer(blob, rec.path, layer::ApplyOptions{}));
            return std::string();
          },
          &m_env->map);
      if (!applied) return std::move(applied).error().wrap("restore cache mount `{}`", m.id);
      m_progress.message(fmt::format("restored cache mount {} from {}", m.id, imp.name()));
    }
  }
  return {};
}

Status Builder::export_caches(StageState& final_state) {
  if (m_options.cache_to.empty()) return {};
  // Each record names the layers of its result, base first.
  auto records_for = [&](bool all_stages) -> Result<std::vector<RemoteRecord>> {
    std::vector<RemoteRecord> out;
    for (const auto& e : m_exported) {
      if (!all_stages && e.stage != m_plan.target) continue;
      RemoteRecord r = e.record;
      if (auto lazy = m_lazy->chain(e.snapshot)) {
        r.chain = std::move(*lazy);
      } else if (!e.snapshot.empty()) {
        for (const auto& id : TRY(m_snapshotter->chain(e.snapshot))) {
          auto snap = TRY(m_store.get_snapshot(id));
          r.chain.insert(r.chain.begin(), snap->diff_id);
        }
      }
      out.push_back(std::move(r));
    }
    return out;
  };
  for (const auto& text : m_options.cache_to) {
    auto spec = TRY(parse_cache_spec(text, true));
    auto records = TRY(records_for(spec.max));
    if (spec.type == CacheSpec::Type::inline_) {
      final_state.config.extra[std::string(k_cache_field)] = Json::parse(cache_field_json(records, {}));
      continue;
    }
    for (const auto& r : records) TRY(m_lazy->fetch_layers(r.chain));  // remote hits' blobs travel on
    int vertex = m_progress.start(fmt::format("exporting cache to {}", text));
    auto start = Clock::now();
    CacheExportInput input;
    input.records = std::move(records);
    input.layer_source = [this](const Digest& d, layer::ByteSink& out) {
      return write_layer_from_snapshots(m_store, d, out);
    };
    input.tree_writer = [this](const fs::path& dir, layer::WriteOptions o, layer::ByteSink& out) {
      o.kind = layer::TreeKind::plain;
      return m_snapshotter->write_tree(dir, std::move(o), out);
    };
    input.insecure_registries = m_options.insecure_registries;
    if (spec.cache_mounts) {
      std::set<std::string> ids;
      for (const auto& st : m_plan.stages)
        for (const auto& step : st.steps)
          if (const auto* run = std::get_if<dockerfile::RunCommand>(&step.command))
            for (const auto& m : run->mounts)
              if (m.type == dockerfile::MountType::cache) ids.insert(m.id);
      for (const auto& rec : TRY(m_store.list_cache_mounts()))
        if (ids.count(rec.id)) input.mounts[rec.id] = rec.path;
    }
    Status s = export_cache(m_store, spec, input);
    if (!s) {
      m_progress.error(vertex, s.error().message);
      return s;
    }
    m_progress.done(vertex, false, std::chrono::duration<double>(Clock::now() - start).count(), "");
  }
  return {};
}

Status Builder::build_stage(const plan::Stage& stage) {
  StageState state;
  std::string stage_label = stage.name.empty() ? fmt::format("stage-{}", stage.index) : stage.name;
  int count = 1;
  for (const auto& s : stage.steps) count += is_file_step(s.keyword) ? 1 : 0;
  switch (stage.base.kind) {
    case plan::StageBase::Kind::scratch:
      state.config = image::ImageConfig::for_host();
      state.identity = empty_identity();
      break;
    case plan::StageBase::Kind::stage: state = TRY(wait_for(stage.base.stage)); break;
    case plan::StageBase::Kind::image: {
      int vertex = m_progress.start(fmt::format("[{} 1/{}] FROM {}", stage_label, count, stage.base_name));
      auto s = image_state(stage.base.image);
      if (!s) {
        m_progress.error(vertex, s.error().message);
        return std::move(s).error();
      }
      state = std::move(*s);
      m_progress.done(vertex, true, 0, "");
      break;
    }
  }
  start_stage_config(state, stage);
  bool no_cache = m_options.no_cache ||
                  std::find(m_options.no_cache_filter.begin(), m_options.no_cache_filter.end(),
                            stage.name.empty() ? std::to_string(stage.index) : stage.name) !=
                      m_options.no_cache_filter.end();
  int position = 1;
  for (const auto& step : stage.steps) {
    {
      std::lock_guard lock(m_mutex);
      if (m_failure) return make_error("cancelled");
    }
    if (is_file_step(step.keyword)) ++position;
    TRY(run_step(stage, step, position, count, state, no_cache));
  }
  finish_stage_config(state, stage);
  std::lock_guard lock(m_mutex);
  m_results[stage.index] = std::move(state);
  m_changed.notify_all();
  return {};
}

Result<BuildResult> Builder::run() {
  auto start = Clock::now();
  auto file = TRY(dockerfile::parse(m_options.dockerfile_text, m_options.dockerfile_path.string()));
  plan::PlanOptions plan_options;
  plan_options.target = m_options.target;
  plan_options.build_args = m_options.build_args;
  plan_options.platform = m_options.platform;
  plan_options.image_config = [this](const std::string& ref) -> std::optional<plan::ImageConfig> {
    auto img = base_image(ref);
    if (!img) return std::nullopt;
    plan::ImageConfig c;
    c.env = img->config.config.env;
    c.working_dir = img->config.config.working_dir;
    c.user = img->config.config.user;
    if (img->config.config.shell) c.shell = *img->config.config.shell;
    c.onbuild = img->config.config.on_build;
    return c;
  };
  m_plan = TRY(plan::make_plan(file, plan_options));
  for (const auto& w : m_plan.warnings) m_progress.message("WARNING: " + w);
  // A base image that could not be found or pulled is an error, not an empty config.
  for (const auto& st : m_plan.stages)
    if (st.base.kind == plan::StageBase::Kind::image && !st.base_config_known) TRY(base_image(st.base.image));

  // Step roots live in the session directory, which container root must reach.
  if (::geteuid() == 0) TRY(check_reachable(m_store.root()));
  const executor::IdMap& map = executor::host_id_map();
  if (!map.warning.empty()) m_progress.message(map.warning);
  m_snapshotter.emplace(
      m_store,
      [this] {
        std::string notice;
        auto scratch = m_store.session_dir();
        if (!scratch) return snapshot::Kind::native;  // the step then fails making its root there
        auto kind = snapshot::choose_kind(m_options.snapshotter, *scratch, &notice, m_store.root() / "overlay-probe");
        if (!notice.empty()) m_progress.message(notice);
        return kind;
      },
      &map);

  int ctx_vertex = m_progress.start("[internal] load build context");
  auto ctx_start = Clock::now();
  // The stat cache loads while the context is scanned (both take tens of ms for 20,000 files).
  auto cache = std::async(std::launch::async, [this] {
    return context::StatCache::open(context::stat_cache_path(m_store.root(), m_options.context_dir));
  });
  auto ctx = context::Context::open(m_options.context_dir, m_options.dockerfile_path);
  if (auto loaded = cache.get(); loaded) m_stat_cache.emplace(std::move(*loaded));
  if (!ctx) {
    m_progress.error(ctx_vertex, ctx.error().message);
    return std::move(ctx).error();
  }
  m_context.emplace(std::move(*ctx));
  m_progress.done(ctx_vertex, false, std::chrono::duration<double>(Clock::now() - ctx_start).count(), "");
  for (const auto& [name, value] : m_options.named_contexts) {
    if (value.starts_with("docker-image://")) continue;
    auto named = context::Context::open(value);
    if (!named) return std::move(named).error().wrap("--build-context {}", name);
    m_named.emplace(name, std::move(*named));
  }
  std::string now = m_options.source_date_epoch ? image::format_rfc3339(*m_options.source_date_epoch)
                                                : image::format_rfc3339(store::now_seconds());
  m_env.emplace(BuildEnv{m_store, m_options, m_progress, *m_snapshotter, map, &*m_context,
                         m_stat_cache ? &*m_stat_cache : nullptr, &m_stat_mutex, now});

  for (const auto& text : m_options.cache_from) {
    auto spec = TRY(parse_cache_spec(text, false));
    int vertex = m_progress.start(fmt::format("[internal] importing cache manifest from {}", text));
    auto imported = CacheImport::load(m_store, spec, m_options.insecure_registries);
    if (!imported) {
      // As buildx: an unreachable or missing cache is a warning, the build goes on.
      m_progress.error(vertex, imported.error().message);
      m_progress.message(fmt::format("WARNING: cache {} not imported: {}", text, imported.error().message));
      continue;
    }
    m_progress.done(vertex, false, 0, "");
    m_imports.push_back(std::move(*imported));
  }
  m_lazy.emplace(m_store, *m_snapshotter, m_imports);

  // Stages in parallel: each waits for the stages it needs (wait_for), at most `jobs` run.
  int jobs = m_options.jobs > 0 ? m_options.jobs : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> threads;
  std::mutex slots_mutex;
  std::condition_variable slots_cv;
  int free_slots = jobs;
  for (const auto& stage : m_plan.stages) {
    threads.emplace_back([&, &stage = stage] {
      std::vector<int> deps;
      if (stage.base.kind == plan::StageBase::Kind::stage) deps.push_back(stage.base.stage);
      for (const auto& s : stage.steps) deps.insert(deps.end(), s.deps.stages.begin(), s.deps.stages.end());
      for (int d : deps)
        if (!wait_for(d)) return;
      {
        std::unique_lock lock(slots_mutex);
        slots_cv.wait(lock, [&] { return free_slots > 0; });
        --free_slots;
      }
      Status s = build_stage(stage);
      {
        std::lock_guard lock(slots_mutex);
        ++free_slots;
      }
      slots_cv.notify_one();
      if (!s) {
        std::lock_guard lock(m_mutex);
        if (!m_failure) m_failure = s.error();  // the first failure; the others are cancellations
        m_changed.notify_all();
      }
    });
  }
  for (auto& t : threads) t.join();
  if (!m_touched.empty()) {
    const int64_t when = store::now_seconds();
    (void)m_store.transaction([&]() -> Status {
      for (const auto& k : m_touched) TRY(m_store.touch_cache(k, when));
      return {};
    });
  }
  if (m_stat_cache) (void)context::prune_stat_cache(*m_context, *m_stat_cache);
  if (m_failure) return *m_failure;

  StageState final_state = m_results.at(m_plan.target);
  TRY(m_lazy->fetch_layers(final_state.config.diff_ids));  // the image's layers from remote hits
  for (const auto& [k, v] : m_options.labels) final_state.config.config.labels[k] = v;
  TRY(export_caches(final_state));
  final_state.config.created = m_options.source_date_epoch ? now : (final_state.created.empty() ? now : final_state.created);
  std::string config_bytes = final_state.config.serialize();
  auto record = TRY(exporter::commit_image(m_store, config_bytes, final_state.layers, final_state.size, m_options.tags));

  BuildResult result;
  result.image_id = record.config;
  result.manifest = record.manifest;
  result.tags = m_options.tags;
  result.steps = std::move(m_reports);
  std::stable_sort(result.steps.begin(), result.steps.end(), [](const StepReport& a, const StepReport& b) {
    return a.stage != b.stage ? a.stage < b.stage : a.index < b.index;
  });
  for (const auto& s : result.steps) {
    ++result.total;
    if (s.cached) ++result.cached;
    if (s.executed) ++result.executed;
  }
  result.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return result;
}

}  // namespace

Result<BuildResult> run_build(store::Store& store, const BuildOptions& options, Progress& progress) {
  auto lease = TRY(store.lease());
  Builder builder(store, options, progress);
  return builder.run();
}

}  // namespace cbuild::build
