#include "commands.hpp"

#include <fmt/core.h>

namespace cbuild::cli {

void add_version_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("version", "Print the cbuild version");
  cmd->callback([&globals] {
    fmt::print("cbuild 0.1.0\n");
    finish(globals, {});
  });
}

}  // namespace cbuild::cli
