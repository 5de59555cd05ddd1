#pragma once
/// The build plan: a parsed Dockerfile resolved into the stages and steps the builder
/// executes, after Docker's expansion rules and ARG scoping, with each step's
/// dependencies (parent step, stages and images it copies or mounts from, context paths).
/// Pure data, no I/O beyond the optional base-image config callback.
///
/// Expansion (as BuildKit): ADD COPY ENV EXPOSE FROM LABEL STOPSIGNAL USER VOLUME WORKDIR
/// ARG, plus COPY --from/--chown/--chmod/--exclude and RUN --mount values. RUN, CMD,
/// ENTRYPOINT, HEALTHCHECK, SHELL, MAINTAINER and ONBUILD keep their text: variables reach
/// them at run time through the environment (`Step::env` and `Step::args`).
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "cbuild/dockerfile/ast.hpp"
#include "cbuild/dockerfile/instructions.hpp"
#include "cbuild/dockerfile/lex.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::plan {

/// An OCI platform, e.g. linux/amd64 or linux/arm/v7.
struct Platform {
  std::string os;
  std::string arch;
  std::string variant;

  /// "os/arch[/variant]"
  std::string str() const;
  /// Parse "os/arch[/variant]" (also "arch" alone: os linux).
  static Result<Platform> parse(std::string_view text);
  friend bool operator==(const Platform&, const Platform&) = default;
};

/// The platform of this machine (uname), e.g. linux/amd64.
Platform native_platform();

/// What the plan needs from a base image's config. Known only when the image is in the
/// store; the callback may return nothing (the plan then assumes an empty config).
struct ImageConfig {
  std::vector<std::string> env;  ///< "KEY=value"
  std::string working_dir;
  std::string user;
  std::vector<std::string> shell;    ///< empty: default ["/bin/sh", "-c"]
  std::vector<std::string> onbuild;  ///< triggers to run in stages built FROM it
};
using ImageConfigLookup = std::function<std::optional<ImageConfig>(const std::string& ref)>;

struct PlanOptions {
  std::string target;                             ///< stage name; empty: the last stage
  std::map<std::string, std::string> build_args;  ///< --build-arg
  std::string platform;                           ///< empty: native; others are an error
  ImageConfigLookup image_config;                 ///< may be empty
};

/// What a stage starts from.
struct StageBase {
  enum class Kind { scratch, image, stage };
  Kind kind = Kind::scratch;
  std::string image;  ///< image reference (kind image)
  int stage = -1;     ///< earlier stage index (kind stage)
};

/// A build arg as a step sees it. Proxy args are passed but never part of cache keys or
/// history (`cache_relevant` false).
struct BuildArg {
  std::string name;
  std::string value;
  bool cache_relevant = true;
  /// Declared after the environment last set this name (by ENV or the base image): for the
  /// steps, the arg's value wins, as in BuildKit; a later ENV wins again.
  bool over_env = false;
  friend bool operator==(const BuildArg&, const BuildArg&) = default;
};

/// What a step depends on besides its parent.
struct StepDeps {
  int parent = -1;                         ///< previous step index in the stage; -1: the base
  std::vector<int> stages;                 ///< stage indexes copied or mounted from
  std::vector<std::string> images;         ///< image references copied or mounted from
  std::vector<std::string> context_paths;  ///< build-context paths read (COPY/ADD, bind mounts)
  std::vector<std::string> urls;           ///< remote ADD sources (http(s), git)
};

using EnvList = std::vector<std::pair<std::string, std::string>>;

/// One instruction after expansion, with the state it runs in.
struct Step {
  int index = 0;                   ///< position in the stage (0-based)
  int line = 0;                    ///< Dockerfile line of the instruction
  std::string keyword;             ///< "RUN", "COPY", ...
  std::string original;            ///< as written
  std::string text;                ///< after expansion, e.g. "COPY --from=build /out /app"
  dockerfile::Command command;     ///< typed, after expansion (RUN mounts resolved)
  EnvList env;                     ///< image environment before this step
  std::vector<BuildArg> args;      ///< build args in scope (with a value) before this step
  /// The stage's ARG names so far, with a value or not, in declaration order (a RUN's
  /// history lists them, as BuildKit's does).
  std::vector<std::string> declared_args;
  std::string workdir;             ///< working directory before this step
  std::string user;                ///< user before this step
  std::vector<std::string> shell;  ///< shell for shell-form commands
  StepDeps deps;
  bool from_onbuild = false;  ///< a trigger inherited from the base
};

struct Stage {
  int index = 0;     ///< position among the Dockerfile's stages (0-based)
  std::string name;  ///< `AS name` (lowercase), empty when unnamed
  int line = 0;      ///< line of its FROM
  StageBase base;
  std::string base_name;  ///< FROM argument after expansion
  Platform platform;
  bool base_config_known = true;  ///< false: image config lookup gave nothing
  std::vector<Step> steps;
  std::vector<std::string> onbuild;  ///< ONBUILD triggers this stage records in its image
  EnvList env;                       ///< final environment
  std::string workdir;               ///< final working directory
  std::string config_workdir;        ///< the image config's WorkingDir (empty: none)
  std::string user;                  ///< final user
  std::vector<std::string> shell;    ///< final shell
  std::vector<BuildArg> args;        ///< build args in scope at the end
};

struct Plan {
  std::vector<Stage> stages;  ///< only the stages the target needs, in Dockerfile order
  int target = 0;             ///< index (Stage::index) of the target stage
  Platform build_platform;
  Platform target_platform;
  std::vector<std::string> warnings;  ///< e.g. build args not consumed

  /// The stage with Stage::index == index, or nullptr when pruned.
  const Stage* stage(int index) const;
};

/// Resolve a parsed Dockerfile. Errors name FILE:LINE: unknown target, bad expansion,
/// circular stage references, duplicate stage names, non-native platforms.
Result<Plan> make_plan(const dockerfile::Dockerfile& file, const PlanOptions& options);

/// The plan as JSON (format version 1: {"version":1,"target","platform","stages":[...]}).
nlohmann::json to_json(const Plan& plan);
/// A readable listing: stages, steps after expansion, and what each step needs.
std::string to_text(const Plan& plan);

/// The predefined proxy ARGs (usable without ARG, excluded from cache keys and history).
bool is_proxy_arg(std::string_view name);

/// The variables a step sees, for expansion and in its environment: its environment and
/// build args, the environment winning where both name a variable unless the arg was
/// declared after it (BuildArg::over_env).
dockerfile::VarMap step_vars(const EnvList& env, const std::vector<BuildArg>& args);

}  // namespace cbuild::plan
