// `cbuild tag SOURCE TARGET`: like `docker tag`.
#include "cbuild/export/images.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

Status run_tag(const Globals& globals, const std::string& source, const std::string& target) {
  auto ref = image::parse_tag_target(target);
  if (!ref) return std::move(ref).error().wrap("tag: invalid name `{}`", target);
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  auto image = TRY(exporter::find_image(store, source));
  return store.set_tag(ref->str(), image.record);
}

}  // namespace

void add_tag_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<std::pair<std::string, std::string>>();
  auto* cmd = app.add_subcommand("tag", "Give an image another name");
  cmd->add_option("source", args->first, "Image (name or ID)")->required();
  cmd->add_option("target", args->second, "New name (NAME[:TAG])")->required();
  cmd->callback([&globals, args] { finish(globals, run_tag(globals, args->first, args->second)); });
}

}  // namespace cbuild::cli
