#pragma once
/// `cbuild compare`: builds one context with cbuild and with docker across a sequence of
/// states and pairs their steps (match.hpp), so cache hit rates and build times can be
/// compared side by side.
///
/// States come from one of:
/// - a git range `A..B`: the repository holding CONTEXT is cloned into a temporary
///   directory; commit A is the first state, then each commit of `git rev-list A..B`,
///   oldest first, is checked out in that same clone (only changed files are rewritten);
/// - an edit script (format version 1): the context is copied into a temporary directory,
///   built as it is (state `base`), then each section
///       --- state NAME
///       shell commands…
///   is run with `bash -e` in the copy (its working directory; $COMPARE_STATE holds NAME)
///   and the result built. Edits accumulate: each section starts from the previous state.
///   Lines before the first section are ignored (comments);
/// - neither: one state, the context as it is.
#include <filesystem>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/compare/docker_log.hpp"
#include "cbuild/compare/match.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::compare {

namespace fs = std::filesystem;

/// One section of an edit script.
struct EditState {
  std::string name;
  std::string commands;  ///< shell text run in the context copy
};

/// Parses an edit script (format above); an empty name or no section is an error.
Result<std::vector<EditState>> parse_edit_script(std::string_view text);

struct CompareOptions {
  fs::path context;
  std::string dockerfile;               ///< -f, empty: CONTEXT/Dockerfile
  std::string target;                   ///< --target
  std::vector<std::string> build_args;  ///< --build-arg K=V, passed to both tools
  fs::path edits;                       ///< --edits SCRIPT
  std::string git_range;                ///< --git-range A..B
  DockerBuilder builder = DockerBuilder::buildkit;
  std::vector<fs::path> docker_logs;  ///< --docker-log: recorded logs, one per state, docker not run
  std::string docker = "docker";      ///< the docker client
  std::string cbuild;                 ///< the cbuild executable
  std::string root;                   ///< cbuild's --root, empty: its default
  std::string tag = "cbuild-compare:latest";
};

/// One tool's outcome in one state.
struct ToolRun {
  bool ok = true;
  double seconds = 0;  ///< wall time of the build (for a recorded log: the sum of its steps)
  std::string error;   ///< why the build failed, with the end of its log
};

struct StateResult {
  std::string name;
  ToolRun cbuild, docker;
  std::vector<StepRow> rows;
};

struct Comparison {
  DockerBuilder builder = DockerBuilder::buildkit;
  bool recorded = false;  ///< docker steps came from --docker-log files
  std::vector<StateResult> states;
};

/// Fails with a message saying how to start a daemon when `docker` is missing or no
/// daemon answers (DOCKER_HOST or the default socket).
Status check_docker(const std::string& docker);

/// Builds every state with both tools. Progress lines ("state 2/6 `edit-1`: cbuild…") go
/// to `progress`. A failing build is recorded in its state; the sequence goes on.
Result<Comparison> run_comparison(const CompareOptions& options, std::ostream& progress);

/// Hit and time totals of one tool over all states.
struct ToolTotals {
  int steps = 0, hits = 0;
  double seconds = 0;
  double hit_rate() const { return steps ? static_cast<double>(hits) / steps : 0; }
};
ToolTotals cbuild_totals(const Comparison& c);
ToolTotals docker_totals(const Comparison& c);

/// Per state, step by step: `STEP  CBUILD  DOCKER  CBUILD MISS REASON`, then the totals.
std::string render_table(const Comparison& c);

/// The same data as JSON (version 1): {"version":1,"docker_builder":"buildkit"|"legacy",
/// "docker_recorded":bool,"states":[{"name","cbuild":{ok,seconds,error,steps,hits},
/// "docker":{…},"steps":[{stage,stage_name,index,instruction,"cbuild":{cached,reason,
/// seconds}|null,"docker":{cached,instruction,seconds}|null}]}],
/// "totals":{"cbuild":{steps,hits,hit_rate,seconds},"docker":{…}}}.
std::string render_json(const Comparison& c);

}  // namespace cbuild::compare
