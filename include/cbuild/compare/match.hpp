#pragma once
/// Step matching between cbuild's build report and a docker log: by stage, then by
/// instruction text. Docker names stages its own way (BuildKit `[build 2/4]` for a named
/// stage, `[stage-1 2/3]` for an unnamed one; the legacy builder only counts `FROM`s) and
/// shows instructions its own way (BuildKit expands `$X` in RUN, cbuild and the legacy
/// builder do not; whitespace differs), so instructions are compared after normalising
/// whitespace, with a variable reference on either side matching any text, and finally by
/// position and keyword.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/compare/docker_log.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::compare {

/// One step of cbuild's `--report` JSON (version 1, see cbuild/build/builder.hpp).
struct CbuildStep {
  int stage = 0;
  std::string stage_name;
  int index = 0;
  std::string instruction;
  bool cached = false;
  bool executed = false;
  std::string reason;  ///< why it missed; empty for hits
  double seconds = 0;
};

/// What cbuild's report says about a build.
struct CbuildReport {
  std::vector<CbuildStep> steps;
  double seconds = 0;
};

/// Reads cbuild's report JSON; only filesystem steps are kept (as docker logs show them).
Result<CbuildReport> parse_cbuild_report(std::string_view json);

/// Whitespace runs collapsed to one space, ends trimmed, keyword upper-cased.
std::string normalize_instruction(std::string_view text);

/// True when the normalised instructions are equal, or equal once every `$NAME` / `${…}`
/// on one side is allowed to stand for any text on the other.
bool instructions_match(std::string_view a, std::string_view b);

/// One row of the side-by-side comparison: a step either tool ran.
struct StepRow {
  int stage = 0;
  std::string stage_name;
  int index = 0;
  std::string instruction;  ///< cbuild's text when cbuild ran the step, else docker's
  std::optional<CbuildStep> cbuild;
  std::optional<DockerStep> docker;
};

/// Pairs the steps of both tools; rows follow cbuild's order, docker-only steps come last.
std::vector<StepRow> match_steps(const std::vector<CbuildStep>& cbuild, const std::vector<DockerStep>& docker);

}  // namespace cbuild::compare
