// COPY, ADD and WORKDIR: the files a step adds, hashed for its cache key in the parent
// process, then written into the step's root by a child in its own mount namespace (and,
// unprivileged, in the build user namespace), where the root filesystem is mounted.
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <set>

#include "build_internal.hpp"
#include "cbuild/context/select.hpp"
#include "cbuild/dockerfile/lex.hpp"
#include "cbuild/executor/user.hpp"
#include "cbuild/executor/userns.hpp"

namespace cbuild::build {
namespace {

constexpr std::string_view k_multi_source_error =
    "When using {} with more than one source file, the destination must be a directory and end with a /";

bool is_url(std::string_view s) { return s.starts_with("http://") || s.starts_with("https://"); }
bool is_git(std::string_view s) {
  return s.starts_with("git@") || s.ends_with(".git") || s.find(".git#") != std::string_view::npos;
}
bool dest_is_dir(std::string_view dest) {
  return dest.ends_with("/") || dest == "." || dest.ends_with("/.");
}

/// The parts of COPY and ADD the file steps need, whichever the instruction.
struct FileCommand {
  std::string keyword;
  std::vector<std::string> sources;
  std::vector<dockerfile::HeredocFile> contents;
  std::string dest, from, chown, chmod, checksum;
  std::vector<std::string> excludes;
  bool parents = false, link = false, add = false;
};

FileCommand file_command(const plan::Step& step) {
  FileCommand f;
  f.keyword = step.keyword;
  auto shared = [&](const auto& c) {  // the fields COPY and ADD have in common
    f.sources = c.sources;
    f.contents = c.contents;
    f.dest = c.dest;
    f.chown = c.chown;
    f.chmod = c.chmod;
    f.excludes = c.excludes;
    f.link = c.link;
  };
  if (const auto* c = std::get_if<dockerfile::CopyCommand>(&step.command)) {
    shared(*c);
    f.from = c->from;
    f.parents = c->parents;
  } else if (const auto* a = std::get_if<dockerfile::AddCommand>(&step.command)) {
    shared(*a);
    f.checksum = a->checksum;
    f.add = true;
  }
  return f;
}

// Heredoc file contents as the step sees them (variables expanded unless quoted).
Result<std::vector<std::pair<std::string, std::string>>> heredoc_files(const plan::Step& step,
                                                                       const FileCommand& f) {
  const dockerfile::VarMap vars = plan::step_vars(step.env, step.args);
  dockerfile::Lexer lexer({.raw_quotes = true, .raw_escapes = true});
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : f.contents) {
    std::string data = h.data;
    if (h.expand) data = TRY(lexer.process_word(data, vars));
    out.emplace_back(h.name, std::move(data));
  }
  return out;
}

Result<std::pair<uint32_t, uint32_t>> resolve_chown(std::string_view spec, const fs::path& root) {
  auto passwd = read_file(root / "etc/passwd");
  auto group = read_file(root / "etc/group");
  std::string p = passwd ? *passwd : "", g = group ? *group : "";
  auto ids = TRY(executor::resolve_user(spec, p, g));
  // "user" or "uid" alone: BuildKit uses the uid as the gid too.
  if (spec.find(':') == std::string_view::npos) return std::pair{ids.uid, ids.uid};
  return std::pair{ids.uid, ids.gid};
}

Status make_private_mounts() {
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return errno_error("make mounts private");
  return {};
}

// The writable root of a step inside the child: the overlay mounted at `at`, or the
// native snapshotter's directory.
Result<fs::path> mount_rootfs(const executor::RootfsSource& rootfs, const fs::path& at) {
  if (const auto* dir = std::get_if<executor::DirRootfs>(&rootfs)) return dir->path;
  const auto& ovl = std::get<executor::OverlayRootfs>(rootfs);
  std::string lower;
  for (const auto& l : ovl.lowerdirs) lower += (lower.empty() ? "" : ":") + l.string();
  std::string data = fmt::format("lowerdir={},upperdir={},workdir={},userxattr", lower, ovl.upperdir.string(),
                                 ovl.workdir.string());
  if (::mount("overlay", at.c_str(), "overlay", 0, data.c_str()) != 0)
    return errno_error(fmt::format("mount overlay at `{}`", at.string()));
  return at;
}

Result<context::Selection> select_in(const context::Context& ctx, const FileCommand& f,
                                     const std::vector<std::string>& sources) {
  context::SelectOptions sel;
  sel.sources = sources;
  sel.excludes = f.excludes;
  sel.parents = f.parents;
  sel.instruction = f.keyword;
  return context::select_files(ctx, sel);
}

/// `sum`, when given, is the selection's checksum: items take their data digests from it.
std::vector<CopyItem> items_of(const context::Context& ctx, const context::Selection& sel,
                               const context::ContentChecksum* sum = nullptr) {
  // Files a source names itself (or a wildcard matched) vs files found inside a directory
  // source: ADD extracts archives of the first kind only.
  std::set<std::string_view> named;
  for (const auto& m : sel.matches)
    if (m.type != context::FileType::directory) named.insert(m.path);
  std::vector<CopyItem> items;
  items.reserve(sel.files.size());
  std::string root = ctx.root().string();
  if (!root.ends_with('/')) root += '/';
  for (size_t i = 0; i < sel.files.size(); ++i) {
    const auto& file = sel.files[i];
    CopyItem item{root + file.entry->path, std::nullopt, file.dest, -1};
    item.in_directory = !named.count(file.entry->path);
    if (sum && file.entry->type == context::FileType::regular) item.digest = &sum->contents[i];
    items.push_back(std::move(item));
  }
  return items;
}

bool single_file(const context::Selection& sel, size_t source_count) {
  return source_count == 1 && sel.matches.size() == 1 && sel.matches[0].type != context::FileType::directory;
}

}  // namespace

Result<fs::path> mount_lowers_ro(const std::vector<fs::path>& lowers, const fs::path& at) {
  if (lowers.size() == 1) return lowers.front();
  std::string data = "lowerdir=";
  for (size_t i = 0; i < lowers.size(); ++i) data += (i ? ":" : "") + lowers[i].string();
  data += ",userxattr";
  if (::mount("overlay", at.c_str(), "overlay", MS_RDONLY, data.c_str()) != 0)
    return errno_error(fmt::format("mount read-only overlay at `{}`", at.string()));
  return at;
}

const executor::IdMap& file_work_map(const executor::IdMap& build_map) {
  static const executor::IdMap k_root_identity = [] {
    executor::IdMap m;
    m.uids = {{0, 0, 4294967295u}};
    m.gids = {{0, 0, 4294967295u}};
    return m;
  }();
  return ::geteuid() == 0 ? k_root_identity : build_map;
}

layer::IdMapping chown_mapping(const executor::IdMap& build_map) {
  if (::geteuid() != 0) return {};
  return {layer::IdMap{build_map.uids}, layer::IdMap{build_map.gids}};
}

Result<FileStepInputs> file_key_inputs(const BuildEnv& env, const plan::Step& step, const SourceLookup& sources,
                                       const std::function<Result<fs::path>()>& download_dir) {
  FileStepInputs out;
  out.inputs = Json::object();
  if (step.keyword == "WORKDIR") {
    out.inputs["user"] = step.user;  // the directory is created owned by USER
    return out;
  }
  FileCommand f = file_command(step);
  if (f.sources.size() + f.contents.size() > 1 && !dest_is_dir(f.dest))
    return make_error(ExitCode::bad_input, fmt::runtime(k_multi_source_error), f.keyword);
  Json heredocs = Json::array();
  for (const auto& [name, data] : TRY(heredoc_files(step, f)))
    heredocs.push_back({{"name", name}, {"content", Digest::of(data).str()}});
  if (!heredocs.empty()) out.inputs["heredocs"] = heredocs;

  std::vector<std::string> local;
  Json urls = Json::array();
  for (const auto& s : f.sources) {
    if (f.add && is_url(s)) {
      std::optional<Digest> expected;
      if (!f.checksum.empty()) expected = TRY(Digest::parse(f.checksum));
      auto got = TRY(download(s, TRY(download_dir()), expected));
      urls.push_back({{"url", s}, {"content", got.digest.str()}, {"name", got.name}});
      out.downloads.push_back(std::move(got));
    } else if (f.add && is_git(s)) {
      return make_error(ExitCode::bad_input,
                        "ADD {}: git sources are not supported by cbuild; clone the repository into the "
                        "build context (or a --build-context) and COPY it",
                        s);
    } else {
      local.push_back(s);
    }
  }
  if (!urls.empty()) out.inputs["urls"] = urls;
  if (local.empty()) return out;

  const context::Context* ctx = env.context;
  if (!f.from.empty()) {
    SourceTree src = TRY(sources(f.from));
    if (!src.context) {
      out.inputs["from"] = {{f.from, src.identity.str()}};
      return out;
    }
    ctx = src.context;
  }
  auto sel = TRY(select_in(*ctx, f, local));
  context::ChecksumOptions options;
  context::HashStats stats;
  std::unique_lock lock(*env.stat_mutex, std::defer_lock);
  if (ctx == env.context && env.stat_cache) {
    lock.lock();
    options.cache = env.stat_cache;
  }
  out.checksum = TRY(context::checksum(*ctx, sel, options, &stats));
  out.inputs["files"] = out.checksum.digest.str();
  out.selection = std::move(sel);  // its entries point into the context, which outlives the step
  return out;
}

const std::vector<context::FileRecord>& FileStepInputs::files() {
  if (!m_files) m_files = context::file_records(selection, checksum);
  return *m_files;
}

Result<Executed> execute_files(const BuildEnv& env, const plan::Step& step, const StageState& state,
                               const SourceLookup& sources, const FileStepInputs& inputs) {
  const bool workdir = step.keyword == "WORKDIR";
  FileCommand f = workdir ? FileCommand{} : file_command(step);
  Executed ex;
  ex.link = f.link;
  ex.active = TRY(env.snapshotter.prepare(f.link ? std::string() : state.snapshot));

  // Everything that needs the store or the parent's memory is prepared before the fork.
  const context::Selection* selection = nullptr;  // the files the key was computed over
  const context::Context* ctx = env.context;
  std::vector<fs::path> from_lowers;
  std::vector<std::string> local;
  for (const auto& s : f.sources)
    if (!(f.add && is_url(s))) local.push_back(s);
  if (!local.empty()) {
    bool from_tree = false;
    if (!f.from.empty()) {
      SourceTree src = TRY(sources(f.from));
      if (src.context) {
        ctx = src.context;
      } else {
        from_tree = true;
        if (!src.snapshot.empty()) from_lowers = TRY(env.snapshotter.lowerdirs(src.snapshot));
      }
    }
    if (!from_tree) selection = &inputs.selection;
  }
  auto heredocs = TRY(heredoc_files(step, f));
  std::optional<mode_t> chmod;
  if (!f.chmod.empty()) chmod = TRY(parse_chmod(f.chmod));
  fs::path scratch = TRY(env.store.make_temp_dir("copy-"));
  TRY(make_dirs(scratch / "root"));
  TRY(make_dirs(scratch / "src"));
  const executor::IdMap& map = file_work_map(env.map);
  layer::IdMapping ids = chown_mapping(env.map);
  const executor::RootfsSource rootfs = ex.active->rootfs();
  std::optional<CopyReuse> reuse;
  if (const auto* ovl = std::get_if<executor::OverlayRootfs>(&rootfs); ovl && inputs.reuse && !f.link) {
    reuse = inputs.reuse;
    reuse->upper = ovl->upperdir;
  }

  auto child = [&]() -> Result<std::string> {
    TRY(make_private_mounts());
    fs::path root = TRY(mount_rootfs(rootfs, scratch / "root"));
    if (workdir) {
      auto owner = step.user.empty() ? std::pair<uint32_t, uint32_t>{0, 0} : TRY(resolve_chown(step.user, root));
      CopyRequest req;
      req.dest = std::get<dockerfile::WorkdirCommand>(step.command).path;
      if (!req.dest.ends_with("/")) req.dest += "/";
      req.workdir = step.workdir.empty() ? "/" : step.workdir;
      req.chown = CopyOwner{owner.first, owner.second};
      req.ids = ids;
      TRY(copy_into(root, req));
      return std::string();
    }
    CopyRequest base;
    base.dest = f.dest;
    base.workdir = step.workdir.empty() ? "/" : step.workdir;
    base.chmod = chmod;
    base.ids = ids;
    if (!f.chown.empty()) {
      auto owner = TRY(resolve_chown(f.chown, root));
      base.chown = CopyOwner{owner.first, owner.second};
    }
    const size_t source_count = f.sources.size() + f.contents.size();
    CopyStats local_stats;
    if (!local.empty()) {
      CopyRequest req = base;
      req.extract_archives = f.add;
      if (selection) {
        req.items = items_of(*ctx, *selection, &inputs.checksum);
        req.single_file = single_file(*selection, source_count);
        if (reuse) req.reuse = &*reuse;
      } else {
        fs::path src_root = scratch / "empty";
        if (!from_lowers.empty()) src_root = TRY(mount_lowers_ro(from_lowers, scratch / "src"));
        else TRY(make_dirs(src_root));
        auto tree = TRY(context::Context::scan(src_root, context::PatternMatcher()));
        auto sel = TRY(select_in(tree, f, local));
        req.items = items_of(tree, sel);
        req.single_file = single_file(sel, source_count);
        req.keep_owner = true;  // a stage or image keeps its owners, as BuildKit copies them
      }
      local_stats = TRY(copy_into(root, req));
    }
    if (!inputs.downloads.empty()) {
      CopyRequest req = base;
      for (const auto& d : inputs.downloads) req.items.push_back({d.path, std::nullopt, d.name, d.mtime_sec});
      req.single_file = source_count == 1;
      TRY(copy_into(root, req));
    }
    if (!heredocs.empty()) {
      CopyRequest req = base;
      for (const auto& [name, data] : heredocs) req.items.push_back({{}, data, name, -1});
      req.single_file = source_count == 1;
      TRY(copy_into(root, req));
    }
    // The reused files are linked into the upper directory as the commit writes the layer.
    return reused_to_bytes(local_stats.reused);
  };
  auto done = executor::run_in_userns(child, &map, CLONE_NEWNS);
  (void)executor::remove_tree_mapped(scratch, &env.map);
  if (!done) return std::move(done).error();
  ex.reused = TRY(reused_from_bytes(*done));
  for (const auto& d : ex.reused) ex.files_reused += d.names.size();
  return ex;
}

}  // namespace cbuild::build
