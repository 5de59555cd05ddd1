#pragma once
// Running the tools compare drives (cbuild, docker, git, bash) as child processes.
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::compare {

struct ProcessSpec {
  std::vector<std::string> argv;
  std::filesystem::path cwd;                                ///< empty: ours
  std::vector<std::pair<std::string, std::string>> env;     ///< set in the child
  std::filesystem::path output;                             ///< stdout and stderr; empty: /dev/null
};

/// Runs `spec` to completion; the exit status (128+N for signal N). A program that
/// cannot be started exits 127, as from a shell.
Result<int> run_process(const ProcessSpec& spec);

/// Runs and returns stdout+stderr; a non-zero exit is an error carrying the output.
Result<std::string> capture(std::vector<std::string> argv, const std::filesystem::path& cwd = {});

/// The last `lines` lines of `text`.
std::string tail_lines(const std::string& text, int lines);

}  // namespace cbuild::compare
