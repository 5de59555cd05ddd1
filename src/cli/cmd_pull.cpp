// `cbuild pull [--insecure-registry HOST]... [--platform OS/ARCH[/VARIANT]] [--all-platforms] REF`:
// like `docker pull`.
#include <fmt/core.h>

#include "cbuild/image/reference.hpp"
#include "cbuild/registry/connection.hpp"
#include "cbuild/registry/pull.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct PullArgs {
  std::string reference;
  std::vector<std::string> insecure;
  std::string platform;
  int jobs = 3;
  bool quiet = false;
  bool all_platforms = false;
};

Result<image::Platform> parse_platform(const std::string& text) {
  image::Platform p;
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t slash = text.find('/', start);
    parts.push_back(text.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty())
    return make_error(ExitCode::usage, "pull: invalid --platform `{}` (expected OS/ARCH[/VARIANT])", text);
  p.os = parts[0];
  p.architecture = parts[1];
  if (parts.size() == 3) p.variant = parts[2];
  return p;
}

Status run_pull(const Globals& globals, const PullArgs& args) {
  image::Reference ref = TRY(image::parse_docker_ref(args.reference));
  registry::PullOptions options;
  if (!args.platform.empty()) options.platform = TRY(parse_platform(args.platform));
  options.jobs = args.jobs;
  options.all_platforms = args.all_platforms;
  if (!args.quiet) options.progress = [](const std::string& line) { fmt::print("{}\n", line); };
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  registry::Connection connection(ref.domain, args.insecure);
  auto result = registry::pull(store, connection.client(), ref, options);
  if (!result.ok()) return std::move(result).error().wrap("pull `{}`", ref.familiar_str());
  if (args.quiet) {
    fmt::print("{}\n", ref.str());
    return {};
  }
  fmt::print("Digest: {}\n", (result->index ? *result->index : result->manifest).str());
  fmt::print("Status: {} ({} blobs downloaded, {} already present)\n",
             result->blobs_downloaded ? "Downloaded newer image for " + ref.familiar_str()
                                      : "Image is up to date for " + ref.familiar_str(),
             result->blobs_downloaded, result->blobs_present);
  fmt::print("{}\n", ref.str());
  return {};
}

}  // namespace

void add_pull_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<PullArgs>();
  auto* cmd = app.add_subcommand("pull", "Pull an image from a registry");
  cmd->add_option("reference", args->reference, "NAME[:TAG|@DIGEST]")->required();
  cmd->add_option("--insecure-registry", args->insecure,
                  "Registry (HOST[:PORT]) to reach over plain HTTP (repeatable; localhost always is)");
  cmd->add_option("--platform", args->platform, "Platform to select from an index (default: this host)");
  cmd->add_option("-j,--jobs", args->jobs, "Parallel blob downloads")->check(CLI::Range(1, 16));
  cmd->add_flag("-q,--quiet", args->quiet, "Print only the image name");
  cmd->add_flag("-a,--all-platforms", args->all_platforms,
                "Keep an index with every platform's image (pushed whole by `cbuild push`)");
  cmd->callback([&globals, args] { finish(globals, run_pull(globals, *args)); });
}

}  // namespace cbuild::cli
