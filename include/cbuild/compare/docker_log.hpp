#pragma once
/// Parsers for `docker build` logs, so `cbuild compare` can tell, step by step, what docker
/// took from its cache.
///
/// BuildKit (`--progress=plain`): vertices `#N [stage i/n] INSTRUCTION` followed later by
/// `#N CACHED`, `#N DONE 0.3s` or `#N ERROR: …`; a vertex may be printed several times
/// (the last status wins). Internal vertices (`[internal] load build definition …`,
/// `exporting to image`, `load metadata …`) and `FROM` vertices are left out.
/// Legacy builder: `Step 3/7 : RUN …`, then ` ---> Using cache` for a hit; a new stage starts
/// at each `FROM`. Only filesystem steps (RUN, COPY, ADD, WORKDIR) are kept, as cbuild's
/// report lists them.
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::compare {

/// Which docker builder wrote a log.
enum class DockerBuilder { buildkit, legacy };

/// One step as docker reported it.
struct DockerStep {
  int stage = -1;          ///< stage index when known (legacy; BuildKit `stage-N`), else -1
  std::string stage_name;  ///< stage name when the log shows one (`[build 2/4]`, `FROM x AS build`)
  int index = 0;           ///< BuildKit: i of `i/n`; legacy: position among the stage's filesystem steps + 1
  std::string instruction;  ///< as the log shows it (BuildKit: expanded; legacy: as written)
  bool cached = false;
  bool failed = false;
  double seconds = 0;  ///< BuildKit `DONE 0.3s`; 0 when unknown
};

/// A parsed log.
struct DockerLog {
  DockerBuilder builder = DockerBuilder::buildkit;
  std::vector<DockerStep> steps;  ///< in stage order, then step order
  bool failed = false;            ///< a step failed or the log ends in an error
};

/// The builder that wrote `text` (`#1 [` lines: BuildKit; `Step 1/` lines: legacy).
DockerBuilder detect_builder(std::string_view text);

DockerLog parse_buildkit_log(std::string_view text);
DockerLog parse_legacy_log(std::string_view text);

/// Detects the builder and parses.
DockerLog parse_docker_log(std::string_view text);

/// True for the keywords that make a filesystem step (RUN, COPY, ADD, WORKDIR), any case.
bool is_file_step(std::string_view instruction);

}  // namespace cbuild::compare
