// `cbuild import ROOTFS.tar[.gz] [NAME[:TAG]]`: like `docker import`.
#include <fmt/core.h>

#include "cbuild/export/import.hpp"
#include "cbuild/image/reference.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct ImportArgs {
  std::string source;
  std::string name;
  std::string message;
  std::vector<std::string> env;
};

Status run_import(const Globals& globals, const ImportArgs& args) {
  exporter::ImportOptions options;
  options.message = args.message;
  options.env = args.env;
  if (!args.name.empty()) {
    auto ref = image::parse_tag_target(args.name);
    if (!ref) return std::move(ref).error().wrap("import: invalid name `{}`", args.name);
    options.tags.push_back(ref->str());
  }
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  auto result = TRY(exporter::import_rootfs(store, args.source, options));
  fmt::print("{}\n", result.id.str());
  return {};
}

}  // namespace

void add_import_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<ImportArgs>();
  auto* cmd =
      app.add_subcommand("import", "Create an image from a root filesystem tarball (like docker import)");
  cmd->add_option("file", args->source, "Tarball (tar, tar.gz, tar.zst), or - for stdin")->required();
  cmd->add_option("name", args->name, "Name to tag the image with (NAME[:TAG])");
  cmd->add_option("-m,--message", args->message, "History comment (default: \"Imported from FILE\")");
  cmd->add_option("--env", args->env, "Set an environment variable in the config (KEY=value)");
  cmd->callback([&globals, args] { finish(globals, run_import(globals, *args)); });
}

}  // namespace cbuild::cli
