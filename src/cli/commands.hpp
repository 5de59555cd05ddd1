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
void add_store_command(CLI::App& app, Globals& globals);
void add_du_command(CLI::App& app, Globals& globals);
void add_prune_command(CLI::App& app, Globals& globals);
void add_parse_command(CLI::App& app, Globals& globals);
void add_debug_command(CLI::App& app, Globals& globals);
void add_plan_command(CLI::App& app, Globals& globals);

void add_import_command(CLI::App& app, Globals& globals);
void add_load_command(CLI::App& app, Globals& globals);
void add_save_command(CLI::App& app, Globals& globals);
void add_images_command(CLI::App& app, Globals& globals);
void add_inspect_command(CLI::App& app, Globals& globals);
void add_tag_command(CLI::App& app, Globals& globals);
void add_rmi_command(CLI::App& app, Globals& globals);
void add_history_command(CLI::App& app, Globals& globals);
void add_pull_command(CLI::App& app, Globals& globals);
void add_push_command(CLI::App& app, Globals& globals);
void add_login_command(CLI::App& app, Globals& globals);  ///< login and logout
void add_build_command(CLI::App& app, Globals& globals);
void add_compare_command(CLI::App& app, Globals& globals);

}  // namespace cbuild::cli
