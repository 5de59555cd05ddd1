// One handler per instruction: expand what Docker expands, update the stage state, and
// record what the step depends on.
#include <algorithm>
#include <charconv>

#include "plan_internal.hpp"

namespace cbuild::plan::detail {

namespace df = dockerfile;

std::vector<BuildArg> visible_args(const State& state) {
  std::vector<BuildArg> out;
  for (const ArgValue& a : state.args)
    if (a.value) out.push_back({a.name, *a.value, !is_proxy_arg(a.name), a.over_env});
  return out;
}

dockerfile::VarMap vars_of(const State& state) { return step_vars(state.env, visible_args(state)); }

Result<std::string> expand_word(Context& ctx, const State& state, std::string_view word, int line) {
  auto r = ctx.lexer.process_word(word, vars_of(state));
  if (!r) return df::source_error(ctx.file, line, r.error().message);
  return std::move(*r);
}

void set_env(EnvList& env, const std::string& key, const std::string& value) {
  for (auto& kv : env)
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  env.emplace_back(key, value);
}

std::string join_clean(std::string_view dir, std::string_view rel) {
  std::string joined =
      !rel.empty() && rel.front() == '/' ? std::string(rel) : std::string(dir) + "/" + std::string(rel);
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= joined.size()) {
    auto slash = joined.find('/', start);
    std::string part = joined.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

Result<FromRef> resolve_from(Context& ctx, int current, const std::string& from, int line) {
  int index = -1;
  auto [p, ec] = std::from_chars(from.data(), from.data() + from.size(), index);
  if (ec == std::errc() && p == from.data() + from.size()) {
    if (index < 0 || index >= current)
      return df::source_error(
          ctx.file, line,
          fmt::format("invalid from flag value {}: refers to current or future build stage", from));
    return FromRef{index, ""};
  }
  std::string name = from;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  auto it = ctx.stage_by_name.find(name);
  if (it != ctx.stage_by_name.end()) return FromRef{it->second, ""};
  return FromRef{-1, from};
}

namespace {

void add_unique(std::vector<int>& v, int x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}
void add_unique(std::vector<std::string>& v, const std::string& x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

void add_from_dep(StepDeps& deps, const FromRef& ref) {
  if (ref.stage >= 0)
    add_unique(deps.stages, ref.stage);
  else
    add_unique(deps.images, ref.image);
}

bool is_remote(std::string_view src) {
  for (std::string_view prefix : {"http://", "https://", "git://", "git@", "ssh://"})
    if (src.rfind(prefix, 0) == 0) return true;
  return false;
}

struct Handler {
  Context& ctx;
  Stage& stage;
  State& state;
  Step& step;
  int line;

  Result<std::string> word(std::string_view w) { return expand_word(ctx, state, w, line); }
  Error located(const Error& e) { return df::source_error(ctx.file, line, e.message); }

  Result<std::vector<df::KeyValue>> key_values(const std::vector<df::KeyValue>& in) {
    std::vector<df::KeyValue> out;
    for (const auto& kv : in) out.push_back({TRY(word(kv.key)), TRY(word(kv.value)), kv.no_delim});
    return out;
  }

  Status operator()(df::FromCommand&) { return located(make_error("FROM inside a stage")); }

  Status operator()(df::RunCommand& c) {
    c.mounts.clear();
    int ssh_index = 0;
    for (const std::string& flag : c.mount_flags) {
      const df::VarMap vars = vars_of(state);
      auto mount = df::parse_mount(flag, [&](std::string_view v) { return ctx.lexer.process_word(v, vars); });
      if (!mount) return located(make_error("--mount={}: {}", flag, mount.error().message));
      auto st = df::apply_mount_defaults(*mount, state.workdir, ssh_index);
      if (!st) return located(make_error("--mount={}: {}", flag, st.error().message));
      if (mount->type == df::MountType::ssh) ++ssh_index;
      bool reads_from = mount->type == df::MountType::bind || mount->type == df::MountType::cache;
      if (reads_from && !mount->from.empty()) {
        add_from_dep(step.deps, TRY(resolve_from(ctx, stage.index, mount->from, line)));
      } else if (mount->type == df::MountType::bind) {
        add_unique(step.deps.context_paths, mount->source.empty() ? std::string(".") : mount->source);
      }
      c.mounts.push_back(std::move(*mount));
    }
    return {};
  }
  Status operator()(df::CmdCommand&) { return {}; }
  Status operator()(df::EntrypointCommand&) { return {}; }
  Status operator()(df::ShellCommand& c) {
    state.shell = c.shell;
    return {};
  }
  Status operator()(df::LabelCommand& c) {
    c.labels = TRY(key_values(c.labels));
    return {};
  }
  Status operator()(df::MaintainerCommand&) { return {}; }
  Status operator()(df::ExposeCommand& c) {
    std::vector<std::string> ports;
    for (const auto& p : c.ports) {
      auto words = ctx.lexer.process_words(p, vars_of(state));
      if (!words) return located(words.error());
      for (auto& w : *words) {
        auto ok = df::exposed_ports(w);
        if (!ok) return located(ok.error());
        ports.push_back(w);
      }
    }
    c.ports = std::move(ports);
    return {};
  }
  Status operator()(df::EnvCommand& c) {
    c.env = TRY(key_values(c.env));  // every pair sees the environment before the line
    for (const auto& kv : c.env) {
      set_env(state.env, kv.key, kv.value);
      for (ArgValue& a : state.args)
        if (a.name == kv.key) a.over_env = false;  // the later ENV wins
    }
    return {};
  }
  template <typename Copy>
  Status sources(Copy& c, const std::string& from) {
    for (auto& s : c.sources) s = TRY(word(s));
    c.dest = TRY(word(c.dest));
    c.chown = TRY(word(c.chown));
    c.chmod = TRY(word(c.chmod));
    for (auto& e : c.excludes) e = TRY(word(e));
    if (!c.chmod.empty()) {
      auto ok = df::validate_chmod(c.chmod);
      if (!ok) return located(ok.error());
    }
    df::LexOptions raw = ctx.lexer.options();
    raw.raw_quotes = raw.raw_escapes = true;
    for (auto& content : c.contents) {
      if (!content.expand) continue;
      auto data = df::Lexer(raw).process_word(content.data, vars_of(state));
      if (!data) return located(data.error());
      content.data = std::move(*data);
    }
    if (!from.empty()) {
      add_from_dep(step.deps, TRY(resolve_from(ctx, stage.index, from, line)));
      return {};
    }
    for (const auto& s : c.sources) add_unique(is_remote(s) ? step.deps.urls : step.deps.context_paths, s);
    return {};
  }
  Status operator()(df::CopyCommand& c) {
    c.from = TRY(word(c.from));
    return sources(c, c.from);
  }
  Status operator()(df::AddCommand& c) {
    c.checksum = TRY(word(c.checksum));
    return sources(c, "");
  }
  Status operator()(df::VolumeCommand& c) {
    for (auto& v : c.volumes) {
      v = TRY(word(v));
      if (v.empty()) return located(make_error("VOLUME specified can not be an empty string"));
    }
    return {};
  }
  Status operator()(df::UserCommand& c) {
    c.user = TRY(word(c.user));
    state.user = c.user;
    return {};
  }
  Status operator()(df::WorkdirCommand& c) {
    c.path = join_clean(state.workdir, TRY(word(c.path)));
    state.workdir = c.path;
    state.config_workdir = c.path;
    return {};
  }
  Status operator()(df::ArgCommand& c) {
    for (auto& decl : c.args) {
      ArgValue value{decl.key, std::nullopt};
      ctx.stage_consumed[stage.index].insert(decl.key);
      auto given = ctx.options.build_args.find(decl.key);
      auto global = std::find_if(ctx.meta.begin(), ctx.meta.end(),
                                 [&](const ArgValue& a) { return a.name == decl.key; });
      if (decl.value) {
        std::string def = TRY(word(*decl.value));
        value.value = given != ctx.options.build_args.end() ? given->second : def;
      } else if (global != ctx.meta.end()) {
        value.value = global->value;  // the global value (already overridden by --build-arg)
      } else if (given != ctx.options.build_args.end()) {
        value.value = given->second;
      }
      decl.value = value.value;
      value.over_env = value.value.has_value();  // a declaration without a value sets nothing
      auto it = std::find_if(state.args.begin(), state.args.end(),
                             [&](const ArgValue& a) { return a.name == decl.key; });
      if (it != state.args.end())
        *it = std::move(value);
      else
        state.args.push_back(std::move(value));
    }
    return {};
  }
  Status operator()(df::OnbuildCommand& c) {
    stage.onbuild.push_back(c.expression);
    return {};
  }
  Status operator()(df::StopsignalCommand& c) {
    c.signal = TRY(word(c.signal));
    auto ok = df::validate_signal(c.signal);
    if (!ok) return located(ok.error());
    return {};
  }
  Status operator()(df::HealthcheckCommand&) { return {}; }
};

}  // namespace

Status dispatch(Context& ctx, Stage& stage, State& state, Step& step,
                const df::TypedInstruction& instruction) {
  step.command = instruction.command;
  Handler handler{ctx, stage, state, step, step.line};
  TRY(std::visit(handler, step.command));
  step.text = render(step.command, instruction.original);
  return {};
}

}  // namespace cbuild::plan::detail
