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

constexpr AddCommand k_commands[] = {
    add_version_command,
    add_build_command,
    add_compare_command,
    add_import_command,
    add_load_command,
    add_save_command,
    add_images_command,
    add_inspect_command,
    add_tag_command,
    add_rmi_command,
    add_history_command,
    add_pull_command,
    add_push_command,
    add_login_command,
    add_store_command,
    add_du_command,
    add_prune_command,
    add_parse_command,
    add_debug_command,
    add_plan_command,
};

// `cbuild -f Dockerfile .` means `cbuild build -f Dockerfile .`, as users type docker build
// commands: when the first argument after the global options is not a subcommand, `build`
// is inserted there.
std::vector<std::string> with_default_command(int argc, char** argv, const CLI::App& app) {
  std::vector<std::string> args(argv + 1, argv + argc);
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
  for (AddCommand add : k_commands) add(app, globals);
  try {
    std::vector<std::string> args = with_default_command(argc, argv, app);
    std::reverse(args.begin(), args.end());  // CLI11 takes them last first
    app.parse(args);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : static_cast<int>(cbuild::ExitCode::usage);
  }
  return globals.exit_code;
}
