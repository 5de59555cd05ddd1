// make_plan: split the file into global ARGs and stages, evaluate the global scope, run
// each stage's instructions through dispatch(), then keep what the target needs.
#include "cbuild/plan/plan.hpp"

#include <sys/utsname.h>

#include <algorithm>
#include <array>
#include <set>

#include "cbuild/dockerfile/parser.hpp"
#include "plan_internal.hpp"

namespace cbuild::plan {
namespace {

using detail::ArgValue;
using detail::Context;
using detail::StageSource;
using detail::State;
using detail::visible_args;
using dockerfile::TypedInstruction;

constexpr std::string_view k_default_path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

constexpr std::array<std::string_view, 10> k_proxy_args = {
    "HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
    "ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy"};

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

struct MachineArch {
  std::string_view machine;
  std::string_view arch;
  std::string_view variant;
};
constexpr std::array<MachineArch, 9> k_machines = {{{"x86_64", "amd64", ""},
                                                    {"amd64", "amd64", ""},
                                                    {"aarch64", "arm64", ""},
                                                    {"arm64", "arm64", ""},
                                                    {"armv7l", "arm", "v7"},
                                                    {"armv6l", "arm", "v6"},
                                                    {"i686", "386", ""},
                                                    {"i386", "386", ""},
                                                    {"ppc64le", "ppc64le", ""}}};

// Split into global ARGs and stages; stage names must be unique.
Result<std::vector<const TypedInstruction*>> split_stages(Context& ctx,
                                                          const std::vector<TypedInstruction>& all) {
  std::vector<const TypedInstruction*> meta;
  for (const TypedInstruction& ins : all) {
    if (const auto* from = std::get_if<dockerfile::FromCommand>(&ins.command)) {
      StageSource src;
      src.index = static_cast<int>(ctx.stages.size());
      src.name = from->stage_name;
      src.from = &ins;
      if (!src.name.empty()) {
        if (ctx.stage_by_name.count(src.name))
          return dockerfile::source_error(ctx.file, ins.start_line,
                                          fmt::format("duplicate stage name \"{}\"", src.name));
        ctx.stage_by_name[src.name] = src.index;
      }
      ctx.stages.push_back(std::move(src));
    } else if (ctx.stages.empty()) {
      if (!std::holds_alternative<dockerfile::ArgCommand>(ins.command))
        return dockerfile::source_error(ctx.file, ins.start_line, "no build stage in current context");
      meta.push_back(&ins);
    } else {
      ctx.stages.back().commands.push_back(&ins);
    }
  }
  if (ctx.stages.empty())
    return make_error(ExitCode::bad_input, "{}: no FROM instruction: nothing to build", ctx.file.path);
  return meta;
}

void add_platform_args(Context& ctx) {
  auto add = [&](std::string name, std::string value) {
    ctx.meta.push_back({std::move(name), std::move(value)});
  };
  const Platform& b = ctx.build_platform;
  const Platform& t = ctx.target_platform;
  add("BUILDPLATFORM", b.str());
  add("BUILDOS", b.os);
  add("BUILDARCH", b.arch);
  add("BUILDVARIANT", b.variant);
  add("TARGETPLATFORM", t.str());
  add("TARGETOS", t.os);
  add("TARGETARCH", t.arch);
  add("TARGETVARIANT", t.variant);
}

void set_arg(std::vector<ArgValue>& args, ArgValue value) {
  for (ArgValue& a : args)
    if (a.name == value.name) {
      a = std::move(value);
      return;
    }
  args.push_back(std::move(value));
}

// Global ARGs: `--build-arg` overrides the default; defaults see earlier global ARGs.
Status eval_meta_args(Context& ctx, const std::vector<const TypedInstruction*>& meta) {
  for (const TypedInstruction* ins : meta) {
    for (const auto& decl : std::get<dockerfile::ArgCommand>(ins->command).args) {
      ArgValue value{decl.key, std::nullopt};
      auto given = ctx.options.build_args.find(decl.key);
      ctx.consumed_args.insert(decl.key);
      if (given != ctx.options.build_args.end()) {
        value.value = given->second;
      } else if (decl.value) {
        State scope;
        scope.env.clear();
        scope.args = ctx.meta;
        value.value = TRY(detail::expand_word(ctx, scope, *decl.value, ins->start_line));
      } else {
        auto prev = std::find_if(ctx.meta.begin(), ctx.meta.end(),
                                 [&](const ArgValue& a) { return a.name == decl.key; });
        if (prev != ctx.meta.end()) value.value = prev->value;
      }
      set_arg(ctx.meta, std::move(value));
    }
  }
  return {};
}

// The base image's config as the lookup knows it, else an empty config.
State image_state(const Context& ctx, const std::string& ref, bool& known,
                  std::vector<std::string>& triggers) {
  State state;
  known = true;
  std::optional<ImageConfig> config;
  if (ctx.options.image_config) config = ctx.options.image_config(ref);
  if (!config) {
    known = false;
    return state;
  }
  for (const std::string& kv : config->env) {
    auto eq = kv.find('=');
    detail::set_env(state.env, kv.substr(0, eq), eq == std::string::npos ? "" : kv.substr(eq + 1));
  }
  if (!config->working_dir.empty()) state.workdir = config->working_dir;
  state.config_workdir = config->working_dir;
  state.user = config->user;
  if (!config->shell.empty()) state.shell = config->shell;
  triggers = config->onbuild;
  return state;
}

// FROM: expand the base name and platform with the global scope, pick the base.
Result<State> start_stage(Context& ctx, const StageSource& src, const std::vector<Stage>& done,
                          const std::vector<State>& finals, Stage& stage,
                          std::vector<std::string>& triggers) {
  const auto& from = std::get<dockerfile::FromCommand>(src.from->command);
  const int line = src.from->start_line;
  State global;
  global.env.clear();
  global.args = ctx.meta;
  stage.index = src.index;
  stage.name = src.name;
  stage.line = line;
  stage.base_name = TRY(detail::expand_word(ctx, global, from.base, line));
  if (stage.base_name.empty())
    return dockerfile::source_error(ctx.file, line,
                                    fmt::format("base name ({}) should not be blank", from.base));
  stage.platform = ctx.target_platform;
  if (!from.platform.empty()) {
    std::string text = TRY(detail::expand_word(ctx, global, from.platform, line));
    auto platform = Platform::parse(text);
    if (!platform) return dockerfile::source_error(ctx.file, line, platform.error().message);
    if (platform->os != ctx.build_platform.os || platform->arch != ctx.build_platform.arch)
      return dockerfile::source_error(
          ctx.file, line,
          fmt::format("platform {} is not supported: cbuild builds for the native platform {} only",
                      platform->str(), ctx.build_platform.str()));
    stage.platform = *platform;
  }
  auto named = ctx.stage_by_name.find(lower(stage.base_name));
  if (named != ctx.stage_by_name.end() && named->second < src.index) {
    stage.base = {StageBase::Kind::stage, "", named->second};
    triggers = done[named->second].onbuild;
    return finals[named->second];
  }
  State state;
  if (lower(stage.base_name) == "scratch") {
    stage.base = {StageBase::Kind::scratch, "", -1};
  } else {
    stage.base = {StageBase::Kind::image, stage.base_name, -1};
    state = image_state(ctx, stage.base_name, stage.base_config_known, triggers);
  }
  if (std::none_of(state.env.begin(), state.env.end(), [](const auto& kv) { return kv.first == "PATH"; }))
    detail::set_env(state.env, "PATH", std::string(k_default_path));
  return state;
}

// Proxy build args reach every RUN without being declared (and never its cache key).
void add_proxy_args(const Context& ctx, std::vector<BuildArg>& args) {
  for (auto name : k_proxy_args) {
    auto given = ctx.options.build_args.find(std::string(name));
    if (given == ctx.options.build_args.end()) continue;
    if (std::none_of(args.begin(), args.end(), [&](const BuildArg& a) { return a.name == name; }))
      args.push_back({std::string(name), given->second, false});
  }
}

Status run_steps(Context& ctx, Stage& stage, State& state,
                 const std::vector<std::pair<const TypedInstruction*, bool>>& instructions) {
  for (const auto& [ins, from_onbuild] : instructions) {
    Step step;
    step.index = static_cast<int>(stage.steps.size());
    step.line = from_onbuild ? stage.line : ins->start_line;
    step.keyword = ins->keyword;
    step.original = ins->original;
    step.env = state.env;
    step.args = visible_args(state);
    for (const ArgValue& a : state.args) step.declared_args.push_back(a.name);
    if (std::holds_alternative<dockerfile::RunCommand>(ins->command)) add_proxy_args(ctx, step.args);
    step.workdir = state.workdir;
    step.user = state.user;
    step.shell = state.shell;
    step.deps.parent = step.index - 1;
    step.from_onbuild = from_onbuild;
    TRY(detail::dispatch(ctx, stage, state, step, *ins));
    stage.steps.push_back(std::move(step));
  }
  return {};
}

// Triggers inherited from the base, parsed as instructions of their own.
Result<std::vector<TypedInstruction>> parse_triggers(const Context& ctx,
                                                     const std::vector<std::string>& triggers, int line) {
  std::vector<TypedInstruction> out;
  for (const std::string& trigger : triggers) {
    auto file = dockerfile::parse(trigger, ctx.file.path + " (ONBUILD trigger)");
    if (!file) return dockerfile::source_error(ctx.file, line, "ONBUILD trigger: " + file.error().message);
    auto typed = dockerfile::parse_instructions(*file);
    if (!typed) return dockerfile::source_error(ctx.file, line, "ONBUILD trigger: " + typed.error().message);
    for (auto& t : *typed) out.push_back(std::move(t));
  }
  return out;
}

Result<Stage> build_stage(Context& ctx, const StageSource& src, const std::vector<Stage>& done,
                          const std::vector<State>& finals, State& state) {
  Stage stage;
  std::vector<std::string> triggers;
  state = TRY(start_stage(ctx, src, done, finals, stage, triggers));
  auto trigger_instructions = TRY(parse_triggers(ctx, triggers, stage.line));
  std::vector<std::pair<const TypedInstruction*, bool>> list;
  for (const auto& t : trigger_instructions) list.emplace_back(&t, true);
  for (const auto* c : src.commands) list.emplace_back(c, false);
  TRY(run_steps(ctx, stage, state, list));
  stage.env = state.env;
  stage.workdir = state.workdir;
  stage.config_workdir = state.config_workdir;
  stage.user = state.user;
  stage.shell = state.shell;
  stage.args = visible_args(state);
  return stage;
}

Result<int> find_target(const Context& ctx) {
  if (ctx.options.target.empty()) return static_cast<int>(ctx.stages.size()) - 1;
  auto it = ctx.stage_by_name.find(lower(ctx.options.target));
  if (it == ctx.stage_by_name.end())
    return make_error(ExitCode::bad_input, "{}: target stage \"{}\" could not be found", ctx.file.path,
                      ctx.options.target);
  return it->second;
}

std::vector<int> stage_edges(const Stage& stage) {
  std::vector<int> out;
  if (stage.base.kind == StageBase::Kind::stage) out.push_back(stage.base.stage);
  for (const Step& step : stage.steps)
    out.insert(out.end(), step.deps.stages.begin(), step.deps.stages.end());
  return out;
}

// Depth-first walk from the target: marks needed stages, reports the first error of a
// needed stage, and detects cycles (COPY --from a later stage that depends back).
struct Walk {
  const Context& ctx;
  const std::vector<std::optional<Stage>>& stages;
  const std::vector<std::optional<Error>>& errors;
  std::vector<int> color;  // 0 new, 1 on the path, 2 done
  Status visit(int i) {
    if (color[i] == 2) return {};
    if (color[i] == 1) {
      const StageSource& src = ctx.stages[i];
      std::string name = src.name.empty() ? fmt::format("{}", i) : src.name;
      return dockerfile::source_error(ctx.file, src.from->start_line,
                                      fmt::format("circular dependency detected on stage: {}", name));
    }
    if (errors[i]) return *errors[i];
    color[i] = 1;
    for (int next : stage_edges(*stages[i])) TRY(visit(next));
    color[i] = 2;
    return {};
  }
};

void warn_unused_args(const Context& ctx, Plan& plan) {
  // Only ARGs of the stages the target needs consume build args, as in BuildKit.
  std::set<std::string> consumed = ctx.consumed_args;
  for (const Stage& stage : plan.stages) {
    auto it = ctx.stage_consumed.find(stage.index);
    if (it != ctx.stage_consumed.end()) consumed.insert(it->second.begin(), it->second.end());
  }
  std::vector<std::string> unused;
  for (const auto& [name, value] : ctx.options.build_args)
    if (!consumed.count(name) && !is_proxy_arg(name)) unused.push_back(name);
  if (unused.empty()) return;
  std::string list;
  for (const auto& n : unused) list += (list.empty() ? "" : " ") + n;
  plan.warnings.push_back(fmt::format("[Warning] One or more build-args [{}] were not consumed", list));
}

}  // namespace

bool is_proxy_arg(std::string_view name) {
  return std::find(k_proxy_args.begin(), k_proxy_args.end(), name) != k_proxy_args.end();
}

dockerfile::VarMap step_vars(const EnvList& env, const std::vector<BuildArg>& args) {
  dockerfile::VarMap vars;
  for (const auto& [k, v] : env) vars[k] = v;
  for (const BuildArg& a : args)
    if (a.over_env || !vars.count(a.name)) vars[a.name] = a.value;
  return vars;
}

std::string Platform::str() const {
  return variant.empty() ? os + "/" + arch : os + "/" + arch + "/" + variant;
}

Result<Platform> Platform::parse(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    auto slash = text.find('/', start);
    parts.emplace_back(lower(text.substr(start, slash - start)));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  bool empty_part = std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); });
  if (parts.size() > 3 || empty_part)
    return make_error(ExitCode::bad_input, "invalid platform \"{}\": expected os/arch[/variant]", text);
  if (parts.size() == 1) return Platform{"linux", parts[0], ""};
  return Platform{parts[0], parts[1], parts.size() == 3 ? parts[2] : ""};
}

Platform native_platform() {
  struct utsname u {};
  std::string machine = uname(&u) == 0 ? u.machine : "x86_64";
  for (const auto& m : k_machines)
    if (m.machine == machine) return Platform{"linux", std::string(m.arch), std::string(m.variant)};
  return Platform{"linux", machine, ""};
}

const Stage* Plan::stage(int index) const {
  for (const Stage& s : stages)
    if (s.index == index) return &s;
  return nullptr;
}

Result<Plan> make_plan(const dockerfile::Dockerfile& file, const PlanOptions& options) {
  auto typed = TRY(dockerfile::parse_instructions(file));
  dockerfile::LexOptions lex;
  lex.escape = file.directives.escape;
  Context ctx{file, options, dockerfile::Lexer(lex), {}, {}, {}, {}, {}, native_platform(), {}};
  ctx.target_platform = ctx.build_platform;
  if (!options.platform.empty()) {
    auto p = TRY(Platform::parse(options.platform));
    if (p.os != ctx.build_platform.os || p.arch != ctx.build_platform.arch)
      return make_error(ExitCode::usage,
                        "platform {} is not supported: cbuild builds for the native platform {} only",
                        p.str(), ctx.build_platform.str());
    ctx.target_platform = p;
  }
  auto meta = TRY(split_stages(ctx, typed));
  add_platform_args(ctx);
  TRY(eval_meta_args(ctx, meta));
  const int target = TRY(find_target(ctx));

  // Every stage is resolved (a later stage may be named by --from); errors only count for
  // the stages the target needs.
  const size_t n = ctx.stages.size();
  std::vector<Stage> done;
  std::vector<State> finals;
  std::vector<std::optional<Stage>> stages(n);
  std::vector<std::optional<Error>> errors(n);
  for (size_t i = 0; i < n; ++i) {
    State state;
    auto stage = build_stage(ctx, ctx.stages[i], done, finals, state);
    if (stage)
      stages[i] = *stage;
    else
      errors[i] = stage.error();
    done.push_back(stage ? std::move(*stage) : Stage{});
    finals.push_back(std::move(state));
  }
  // A stage whose base failed inherits the failure.
  for (size_t i = 0; i < n; ++i)
    if (stages[i] && stages[i]->base.kind == StageBase::Kind::stage && errors[stages[i]->base.stage])
      errors[i] = errors[stages[i]->base.stage];

  Walk walk{ctx, stages, errors, std::vector<int>(n, 0)};
  TRY(walk.visit(target));
  Plan plan;
  plan.target = target;
  plan.build_platform = ctx.build_platform;
  plan.target_platform = ctx.target_platform;
  for (size_t i = 0; i < n; ++i)
    if (walk.color[i] == 2) plan.stages.push_back(std::move(*stages[i]));
  warn_unused_args(ctx, plan);
  return plan;
}

}  // namespace cbuild::plan
