#include "cbuild/context/select.hpp"

#include "cbuild/context/match.hpp"

namespace cbuild::context {

namespace {

std::string_view base_name(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

/// Path of `entry` relative to directory `base` ("." = the root).
std::string_view relative_to(std::string_view base, const Entry& entry) {
  std::string_view p = entry.path;
  return base == "." ? p : p.substr(base.size() + 1);
}

class Selector {
 public:
  Selector(const Context& ctx, const SelectOptions& options, const PatternMatcher& excludes)
      : m_ctx(ctx), m_opt(options), m_excludes(excludes) {}

  Status add_source(const std::string& source) {
    return m_opt.parents ? add_with_parents(source) : add_plain(source);
  }

  Selection take() { return std::move(m_sel); }

 private:
  Error failed(std::string message) const {
    return make_error(ExitCode::bad_input, "{} failed: {}", m_opt.instruction, message);
  }
  Error not_found(std::string_view path) const {
    return failed(fmt::format(
        "file not found in build context or excluded by .dockerignore: stat {}: file does not exist", path));
  }

  /// Cleans a source to a context-relative path, refusing one that leaves the context.
  Result<std::string> context_path(std::string_view source) const {
    std::string cleaned = clean_path(source);
    if (cleaned == ".." || cleaned.starts_with("../"))
      return failed(fmt::format("forbidden path outside the build context: {}", source));
    if (cleaned.starts_with('/')) cleaned = cleaned.size() == 1 ? "." : cleaned.substr(1);
    return cleaned;
  }

  Result<std::optional<std::string>> resolve(std::string_view path) const {
    auto r = m_ctx.resolve(path, true);
    if (!r) return failed(std::move(r).error().message);
    return r;
  }

  FileType type_at(const std::string& path) const {
    if (path == ".") return FileType::directory;
    return m_ctx.find(path)->type;
  }

  /// [begin, end) of the entries below `dir` ("." = all).
  std::pair<size_t, size_t> subtree(const std::string& dir) const {
    if (dir == ".") return {0, m_ctx.entries().size()};
    size_t i = m_ctx.index_of(*m_ctx.find(dir));
    return {i + 1, m_ctx.subtree_end(i)};
  }

  Status add_plain(const std::string& source) {
    std::string path = TRY(context_path(source));
    if (!has_wildcards(path)) {
      auto resolved = TRY(resolve(path));
      if (!resolved) return not_found(path);
      add_match(source, *resolved, std::string(base_name(path)));
      return {};
    }
    for (const auto& [match, resolved] : TRY(expand(path, true)))
      add_match(source, resolved, std::string(base_name(match->path)));
    return {};
  }

  /// Context entries matching the wildcards of `path` (fsutil's ResolveWildcards: the
  /// pattern is matched below the wildcard-free prefix, and a matched directory is not
  /// searched further), each with its resolved path. Wildcard matches that `--exclude`
  /// excludes are left out when `apply_excludes`.
  Result<std::vector<std::pair<const Entry*, std::string>>> expand(const std::string& path,
                                                                   bool apply_excludes) {
    std::vector<std::pair<const Entry*, std::string>> out;
    auto [base, pattern] = split_wildcards(path);
    auto glob = Glob::compile(pattern);
    if (!glob) return failed(std::move(glob).error().message);
    auto base_dir = TRY(resolve(base));
    if (!base_dir || type_at(*base_dir) != FileType::directory) return out;
    auto [begin, end] = subtree(*base_dir);
    for (size_t i = begin; i < end; ++i) {
      const Entry& e = m_ctx.entries()[i];
      std::string_view rel = relative_to(*base_dir, e);
      if (!glob->matches(rel)) continue;
      if (e.type == FileType::directory) i = m_ctx.subtree_end(i) - 1;
      if (apply_excludes && !m_excludes.empty() && m_excludes.matches(rel)) continue;
      auto resolved = TRY(resolve(e.path));
      if (!resolved) return not_found(e.path);
      out.emplace_back(&e, std::move(*resolved));
    }
    return out;
  }

  void add_match(const std::string& source, const std::string& resolved, std::string name) {
    FileType type = type_at(resolved);
    m_sel.matches.push_back({source, resolved, name, type});
    if (type == FileType::directory) {
      walk(resolved, nullptr);
    } else {
      m_sel.files.push_back({m_ctx.find(resolved), std::move(name)});
    }
  }

  Status add_with_parents(const std::string& source) {
    std::string parent = ".", pattern = source;
    if (size_t pivot = source.find("/./"); pivot != std::string::npos) {
      parent = source.substr(0, pivot);
      pattern = source.substr(pivot + 3);
    }
    parent = TRY(context_path(parent.empty() ? "/" : parent));
    pattern = TRY(context_path(pattern));
    auto include = PatternMatcher::create({pattern});
    if (!include) return failed(std::move(include).error().message);
    std::vector<std::string> dirs;  // the pivot directories: one, or a wildcard's matches
    if (has_wildcards(parent)) {
      for (const auto& [match, resolved] : TRY(expand(parent, false))) dirs.push_back(resolved);
    } else if (auto dir = TRY(resolve(parent))) {
      dirs.push_back(*dir);
    }
    std::string required = parent == "." ? pattern : parent + "/" + pattern;
    bool literal = !has_wildcards(parent) && !has_wildcards(pattern);
    if (literal && !TRY(resolve(required))) return not_found(required);
    for (const auto& dir : dirs) {
      if (type_at(dir) != FileType::directory) continue;
      m_sel.matches.push_back({source, dir, "", FileType::directory});
      walk(dir, &*include);
    }
    return {};
  }

  /// Selects the entries below `dir` that pass `include` (when given) and the excludes,
  /// with the directories leading to them (fsutil copies those too).
  void walk(const std::string& dir, const PatternMatcher* include) {
    struct Frame {
      std::string prefix;  // "path/" of the directory
      PatternMatcher::MatchInfo include_info, exclude_info;
      const Entry* entry;
      bool listed;
    };
    std::vector<Frame> stack;
    auto [begin, end] = subtree(dir);
    m_sel.files.reserve(m_sel.files.size() + (end - begin));
    for (size_t i = begin; i < end; ++i) {
      const Entry& e = m_ctx.entries()[i];
      while (!stack.empty() && !e.path.starts_with(stack.back().prefix)) stack.pop_back();
      std::string_view rel = relative_to(dir, e);
      static const PatternMatcher::MatchInfo k_none;
      const auto& parent_inc = stack.empty() ? k_none : stack.back().include_info;
      const auto& parent_exc = stack.empty() ? k_none : stack.back().exclude_info;
      bool is_dir = e.type == FileType::directory;
      Frame frame{{}, {}, {}, &e, false};  // the prefix only for a directory: no allocation per file
      bool selected = !include || include->match(rel, parent_inc, &frame.include_info);
      bool excluded = !m_excludes.empty() && m_excludes.match(rel, parent_exc, &frame.exclude_info);
      if (excluded && (!is_dir || !m_excludes.has_exceptions())) {
        if (is_dir) i = m_ctx.subtree_end(i) - 1;
        continue;
      }
      if (selected && !excluded) {
        for (auto& f : stack) {
          if (f.listed) continue;
          m_sel.files.push_back({f.entry, std::string(relative_to(dir, *f.entry))});
          f.listed = true;
        }
        m_sel.files.push_back({&e, std::string(rel)});
        frame.listed = true;
      }
      if (is_dir) {
        frame.prefix = e.path + "/";
        stack.push_back(std::move(frame));
      }
    }
  }

  const Context& m_ctx;
  const SelectOptions& m_opt;
  const PatternMatcher& m_excludes;
  Selection m_sel;
};

}  // namespace

Result<Selection> select_files(const Context& ctx, const SelectOptions& options) {
  auto excludes = PatternMatcher::create(options.excludes);
  if (!excludes)
    return make_error(ExitCode::bad_input, "{} failed: --exclude: {}", options.instruction,
                      excludes.error().message);
  Selector selector(ctx, options, *excludes);
  for (const auto& source : options.sources) TRY(selector.add_source(source));
  return selector.take();
}

}  // namespace cbuild::context
