// `cbuild load [-i FILE]`: like `docker load` (docker archive or OCI layout/archive).
#include <fmt/core.h>
#include <unistd.h>

#include "cbuild/export/images.hpp"
#include "cbuild/export/load.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct LoadArgs {
  std::string input = "-";
  bool quiet = false;
};

Status run_load(const Globals& globals, const LoadArgs& args) {
  if (args.input == "-" && ::isatty(STDIN_FILENO)) {
    return make_error(ExitCode::usage, "load: requested load from stdin, but stdin is empty (use -i FILE)");
  }
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  auto loaded = TRY(exporter::load_archive(store, args.input));
  if (args.quiet) return {};
  for (const exporter::LoadedImage& image : loaded) {
    if (image.tags.empty()) fmt::print("Loaded image ID: {}\n", image.id.str());
    for (const std::string& tag : image.tags) fmt::print("Loaded image: {}\n", exporter::familiar(tag));
  }
  return {};
}

}  // namespace

void add_load_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<LoadArgs>();
  auto* cmd =
      app.add_subcommand("load", "Load images from a docker archive or an OCI layout (tar or directory)");
  cmd->add_option("-i,--input", args->input, "Archive file or OCI layout directory (default: stdin)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print nothing");
  cmd->callback([&globals, args] { finish(globals, run_load(globals, *args)); });
}

}  // namespace cbuild::cli
