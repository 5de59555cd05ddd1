#pragma once
// Subcommand registry. Each subcommand lives in cmd_<name>.cpp and exposes one
// `add_<name>_command` function; main.cpp lists them in a table.
#include "cbuild/util/result.hpp"

#include <CLI/CLI.hpp>

#include <string>

namespace cbuild::cli {

/// Options shared by every subcommand.
struct Globals {
  std::string root;        ///< --root / CBUILD_ROOT (empty: the default for this user)
  bool debug = false;      ///< --debug
  int exit_code = 0;       ///< set by the subcommand that ran
};

/// Print a failed status as `cbuild: <message>` and record its exit code.
void finish(Globals& globals, const Status& status);

using AddCommand = void (*)(CLI::App& app, Globals& globals);

void add_version_command(CLI::App& app, Globals& globals);

}  // namespace cbuild::cli
