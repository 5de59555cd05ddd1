#include "commands.hpp"

#include <fmt/core.h>

#include <cstdlib>

namespace cbuild::cli {

void finish(Globals& globals, const Status& status) {
  if (status.ok()) {
    globals.exit_code = 0;
    return;
  }
  fmt::print(stderr, "cbuild: {}\n", status.error().message);
  globals.exit_code = static_cast<int>(status.error().code);
}

namespace {

constexpr AddCommand k_commands[] = {
    add_version_command,
    add_import_command,
    add_load_command,
    add_save_command,
    add_images_command,
    add_inspect_command,
    add_tag_command,
    add_rmi_command,
    add_history_command,
    add_pull_command,
    add_store_command,
    add_du_command,
    add_prune_command,
    add_parse_command,
    add_debug_command,
    add_plan_command,
};

}  // namespace
}  // namespace cbuild::cli

int main(int argc, char** argv) {
  using namespace cbuild::cli;
  CLI::App app{"cbuild: a daemonless, rootless Dockerfile image builder", "cbuild"};
  app.require_subcommand(1);
  Globals globals;
  if (const char* root = std::getenv("CBUILD_ROOT")) globals.root = root;
  app.add_option("--root", globals.root, "Store directory (default: /var/lib/cbuild as root, "
                                         "$XDG_DATA_HOME/cbuild otherwise; env CBUILD_ROOT)");
  app.add_flag("--debug", globals.debug, "Print debugging detail");
  for (AddCommand add : k_commands) add(app, globals);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(cbuild::ExitCode::usage);
  }
  return globals.exit_code;
}
