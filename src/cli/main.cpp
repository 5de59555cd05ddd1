#include "commands.hpp"

#include <fmt/core.h>
#include <malloc.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

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

/// A command and the subcommands `add` sets up: its own, and `also` (login adds logout).
struct Command {
  const char* name;
  AddCommand add;
  const char* also = nullptr;
  bool runs(std::string_view arg) const { return arg == name || (also && arg == also); }
};

constexpr Command k_commands[] = {
    {"version", add_version_command},
    {"build", add_build_command},
    {"compare", add_compare_command},
    {"import", add_import_command},
    {"load", add_load_command},
    {"save", add_save_command},
    {"images", add_images_command},
    {"inspect", add_inspect_command},
    {"tag", add_tag_command},
    {"rmi", add_rmi_command},
    {"history", add_history_command},
    {"pull", add_pull_command},
    {"push", add_push_command},
    {"login", add_login_command, "logout"},
    {"store", add_store_command},
    {"du", add_du_command},
    {"prune", add_prune_command},
    {"parse", add_parse_command},
    {"debug", add_debug_command},
    {"plan", add_plan_command},
};

/// The arguments after the global options (--root, --debug) start at the returned index.
size_t command_index(const std::vector<std::string>& args) {
  size_t i = 0;
  while (i < args.size()) {
    if (args[i] == "--root") {
      i += 2;
    } else if (args[i].starts_with("--root=") || args[i] == "--debug") {
      ++i;
    } else {
      break;
    }
  }
  return i;
}

/// Sets up the commands of `app`: only the one `args` run (their options cost more than
/// parsing them), `build` when the first argument names none (with_default_command), all
/// for the command list.
void add_commands(CLI::App& app, Globals& globals, const std::vector<std::string>& args) {
  size_t i = command_index(args);
  if (i >= args.size() || args[i] == "-h" || args[i] == "--help") {
    for (const Command& c : k_commands) c.add(app, globals);
    return;
  }
  for (const Command& c : k_commands)
    if (c.runs(args[i])) return c.add(app, globals);
  add_build_command(app, globals);
}

// `cbuild -f Dockerfile .` means `cbuild build -f Dockerfile .`, as users type docker build
// commands: when the first argument after the global options is not a subcommand, `build`
// is inserted there.
std::vector<std::string> with_default_command(std::vector<std::string> args, const CLI::App& app) {
  size_t i = command_index(args);
  if (i >= args.size() || args[i] == "-h" || args[i] == "--help") return args;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; }))
    if (sub->get_name() == args[i]) return args;
  args.insert(args.begin() + static_cast<long>(i), "build");
  return args;
}

}  // namespace
}  // namespace cbuild::cli

namespace {

/// cbuild is a short-lived process: memory it frees is better kept for its next allocations
/// than returned to the kernel and faulted in again (in a VM a fresh page costs ~2 us). Blocks
/// up to 32 MiB (glibc's limit for this) come from the heap instead of their own mmap, and the
/// heap is not trimmed: a cached build of 20,000 files then reuses the memory of the scan's
/// per-directory lists for its selection and checksum.
void tune_malloc() {
  ::mallopt(M_MMAP_THRESHOLD, 32 << 20);
  ::mallopt(M_TRIM_THRESHOLD, 256 << 20);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cbuild::cli;
  tune_malloc();
  CLI::App app{"cbuild: a daemonless, rootless Dockerfile image builder", "cbuild"};
  app.require_subcommand(1);
  Globals globals;
  if (const char* root = std::getenv("CBUILD_ROOT")) globals.root = root;
  app.add_option("--root", globals.root, "Store directory (default: /var/lib/cbuild as root, "
                                         "$XDG_DATA_HOME/cbuild otherwise; env CBUILD_ROOT)");
  app.add_flag("--debug", globals.debug, "Print debugging detail");
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    add_commands(app, globals, args);
    args = with_default_command(std::move(args), app);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(cbuild::ExitCode::usage);
  }
  return globals.exit_code;
}
