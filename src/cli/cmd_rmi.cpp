// `cbuild rmi NAME... [-f]`: like `docker rmi` (blobs are freed by `cbuild prune`).
#include <fmt/core.h>

#include "cbuild/export/images.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct RmiArgs {
  std::vector<std::string> names;
  bool force = false;
};

Status run_rmi(const Globals& globals, const RmiArgs& args) {
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  Status first_error;
  for (const std::string& name : args.names) {
    auto lines = exporter::remove_image(store, name, args.force);
    if (!lines && args.names.size() == 1) return std::move(lines).error();
    if (!lines) {  // like docker: report each failure, go on, fail at the end
      fmt::print(stderr, "cbuild: {}\n", lines.error().message);
      if (first_error.ok()) first_error = std::move(lines).error();
      continue;
    }
    for (const std::string& line : *lines) fmt::print("{}\n", line);
  }
  if (!first_error.ok() && args.names.size() > 1) {
    return Error{"some images could not be removed", first_error.error().code};
  }
  return first_error;
}

}  // namespace

void add_rmi_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<RmiArgs>();
  auto* cmd = app.add_subcommand("rmi", "Remove images (untag; the last name removes the image)");
  cmd->add_option("names", args->names, "Images (names or IDs)")->required();
  cmd->add_flag("-f,--force", args->force, "Remove an image ID with several names");
  cmd->callback([&globals, args] { finish(globals, run_rmi(globals, *args)); });
}

}  // namespace cbuild::cli
