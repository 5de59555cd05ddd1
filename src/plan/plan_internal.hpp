#pragma once
// Shared state of one make_plan run (module-private).
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "cbuild/dockerfile/lex.hpp"
#include "cbuild/plan/plan.hpp"

namespace cbuild::plan::detail {

/// A declared ARG: unset when declared without default and not given.
struct ArgValue {
  std::string name;
  std::optional<std::string> value;
  bool over_env = false;  ///< see BuildArg::over_env
};

/// What a stage has accumulated so far (the state the next step runs in).
struct State {
  EnvList env;
  std::string workdir = "/";
  /// The image config's WorkingDir: the base image's (empty when it sets none, as BuildKit
  /// keeps it), "/" from scratch, else the last WORKDIR's.
  std::string config_workdir = "/";
  std::string user;
  std::vector<std::string> shell{"/bin/sh", "-c"};
  std::vector<ArgValue> args;
};

/// A stage as written: its FROM and its commands.
struct StageSource {
  int index = 0;
  std::string name;
  const dockerfile::TypedInstruction* from = nullptr;
  std::vector<const dockerfile::TypedInstruction*> commands;
};

/// A `--from` / `from=` reference resolved.
struct FromRef {
  int stage = -1;     ///< >= 0: a stage
  std::string image;  ///< otherwise an image reference
};

struct Context {
  const dockerfile::Dockerfile& file;
  const PlanOptions& options;
  dockerfile::Lexer lexer;
  std::vector<StageSource> stages;
  std::map<std::string, int> stage_by_name;
  std::vector<ArgValue> meta;           ///< global scope: platform args, then ARGs before the first FROM
  std::set<std::string> consumed_args;  ///< declared by global ARGs
  std::map<int, std::set<std::string>> stage_consumed;  ///< declared by ARGs of each stage
  Platform build_platform;
  Platform target_platform;
};

/// The build args with a value, as steps see them.
std::vector<BuildArg> visible_args(const State& state);
/// Variables an expansion sees (step_vars of the state's environment and args).
dockerfile::VarMap vars_of(const State& state);
/// Expand one word in `state`; errors located at `line`.
Result<std::string> expand_word(Context& ctx, const State& state, std::string_view word, int line);
/// Resolve a `--from` value (already expanded) seen in stage `current`.
Result<FromRef> resolve_from(Context& ctx, int current, const std::string& from, int line);
/// Set KEY=value in an ordered environment (replacing in place).
void set_env(EnvList& env, const std::string& key, const std::string& value);
/// path.Join-like: `rel` against `dir`, cleaned.
std::string join_clean(std::string_view dir, std::string_view rel);

/// Apply one typed instruction: fills `step` (expanded command, text, deps) and updates
/// the stage state. The step's env/args/workdir are taken before calling.
Status dispatch(Context& ctx, Stage& stage, State& state, Step& step,
                const dockerfile::TypedInstruction& instruction);

/// The instruction as shown after expansion.
std::string render(const dockerfile::Command& command, const std::string& original);

}  // namespace cbuild::plan::detail
