// `cbuild inspect NAME...`: a JSON array like `docker image inspect`.
#include <fmt/core.h>

#include <nlohmann/json.hpp>

#include "cbuild/export/images.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

using nlohmann::json;

json inspect_json(const exporter::LocalImage& img) {
  json raw = json::parse(img.config_bytes, nullptr, false);
  json tags = json::array(), digests = json::array();
  for (const std::string& tag : img.tags) {
    tags.push_back(exporter::familiar(tag));
    auto ref = image::parse_reference(tag);
    std::string repo_digest = (ref ? ref->familiar_name() : tag) + "@" + img.record.manifest.str();
    if (std::find(digests.begin(), digests.end(), repo_digest) == digests.end())
      digests.push_back(repo_digest);
  }
  json layers = json::array();
  for (const Digest& d : img.config.diff_ids) layers.push_back(d.str());
  std::string comment = img.config.history.empty() ? "" : img.config.history.back().comment;
  json out = {
      {"Id", img.id().str()},
      {"RepoTags", tags},
      {"RepoDigests", digests},
      {"Parent", ""},
      {"Comment", comment},
      {"Created", img.config.created},
      {"DockerVersion", raw.is_object() ? raw.value("docker_version", "") : ""},
      {"Author", img.config.author},
      {"Config", raw.is_object() && raw.contains("config") ? raw["config"] : json(nullptr)},
      {"Architecture", img.config.architecture},
      {"Os", img.config.os},
      {"Size", img.record.size},
      {"RootFS", {{"Type", "layers"}, {"Layers", layers}}},
      {"Descriptor",
       {{"mediaType", img.record.media_type},
        {"digest", img.record.manifest.str()},
        {"size", img.manifest_bytes.size()}}},
  };
  if (!img.config.variant.empty()) out["Variant"] = img.config.variant;
  return out;
}

Status run_inspect(const Globals& globals, const std::vector<std::string>& names) {
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  json out = json::array();
  Status status;
  for (const std::string& name : names) {
    auto img = exporter::find_image(store, name);
    if (!img) {  // like docker: print what was found, fail for what was not
      if (status.ok()) status = std::move(img).error();
      continue;
    }
    out.push_back(inspect_json(*img));
  }
  fmt::print("{}\n", out.dump(4));
  return status;
}

}  // namespace

void add_inspect_command(CLI::App& app, Globals& globals) {
  auto names = std::make_shared<std::vector<std::string>>();
  auto* cmd = app.add_subcommand("inspect", "Show images as JSON (like docker image inspect)");
  cmd->add_option("names", *names, "Images (names or IDs)")->required();
  cmd->callback([&globals, names] { finish(globals, run_inspect(globals, *names)); });
}

}  // namespace cbuild::cli
