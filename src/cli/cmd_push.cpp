// `cbuild push [--insecure-registry HOST]... NAME[:TAG] [DEST]`: like `docker push`; with
// DEST, the local image NAME is pushed as DEST.
#include <fmt/core.h>

#include "cbuild/build/builder.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/export/save.hpp"
#include "cbuild/registry/connection.hpp"
#include "cbuild/registry/push.hpp"
#include "commands.hpp"
#include "push_image.hpp"

namespace cbuild::cli {
namespace {

struct PushArgs {
  std::string source;
  std::string destination;
  PushSettings settings;
};

/// Repositories of the same registry that the image is also named in (blob mount sources).
std::vector<std::string> mount_sources(const exporter::LocalImage& img, const image::Reference& dest) {
  std::vector<std::string> out;
  for (const std::string& tag : img.tags) {
    auto ref = image::parse_docker_ref(tag);
    if (ref.ok() && ref->domain == dest.domain && ref->path != dest.path) out.push_back(ref->path);
  }
  return out;
}

/// A gzip blob for a layer missing from the store (made once, remembered as a layer record).
registry::EnsureBlob gzip_layers(store::Store& store) {
  return [&store](const registry::PushLayer& layer) -> Result<image::Descriptor> {
    auto record = TRY(exporter::ensure_layer_blob(
        store, layer.diff_id, image::media::Compression::gzip,
        [&store](const Digest& diff_id, layer::ByteSink& out) {
          return build::write_layer_from_snapshots(store, diff_id, out);
        }));
    image::Descriptor d;
    d.media_type = record.media_type;
    d.digest = record.blob.digest;
    d.size = static_cast<int64_t>(record.blob.size);
    return d;
  };
}

/// An image kept as an index (`pull --all-platforms`): the index and each manifest it lists.
Result<registry::PushIndex> index_to_push(store::Store& store, const exporter::LocalImage& img) {
  registry::PushIndex index{img.index_bytes, img.record.media_type, {}};
  for (const image::Descriptor& d : TRY(image::Index::parse(img.index_bytes)).manifests) {
    if (!store.has_blob(d.digest))
      return make_error(ExitCode::not_found, "index {}: manifest {} is not in the store", img.record.manifest.str(),
                        d.digest.str());
    std::string bytes = TRY(store.read_blob(d.digest));
    auto manifest = TRY(image::Manifest::parse(bytes));
    std::string config = TRY(store.read_blob(manifest.config.digest));
    index.manifests.push_back({std::move(bytes), d.media_type, std::move(config), gzip_layers(store)});
  }
  return index;
}

}  // namespace

Status push_local_image(store::Store& store, const std::string& source, const std::string& target,
                        const PushSettings& args) {
  auto dest = image::parse_docker_ref(target);
  if (!dest.ok()) return std::move(dest).error().wrap("push: invalid name `{}`", target);
  exporter::LocalImage img = TRY(exporter::find_image(store, source));

  registry::PushImage push_image{img.manifest_bytes, img.manifest_media_type, img.config_bytes,
                                 gzip_layers(store)};
  registry::PushOptions options;
  options.jobs = args.jobs;
  options.chunk_size = args.chunk_size;
  options.mount_from = mount_sources(img, *dest);
  options.record_name = dest->has_digest() ? std::string() : dest->str();
  if (!args.quiet) options.progress = [](const std::string& line) { fmt::print("{}\n", line); };
  registry::Connection connection(dest->domain, args.insecure);
  if (!args.quiet) fmt::print("The push refers to repository [{}]\n", dest->familiar_name());
  std::fflush(stdout);
  auto result = [&]() -> Result<registry::PushResult> {
    if (img.index_bytes.empty()) return registry::push(store, connection.client(), *dest, push_image, options);
    return registry::push_index(store, connection.client(), *dest, TRY(index_to_push(store, img)), options);
  }();
  if (!result.ok()) return std::move(result).error().wrap("push `{}`", dest->familiar_str());
  if (args.quiet) {
    fmt::print("{}@{}\n", dest->familiar_name(), result->manifest.str());
    return {};
  }
  fmt::print("{}: digest: {} size: {}\n", dest->has_digest() ? dest->digest : dest->tag,
             result->manifest.str(), result->manifest_size);
  fmt::print("Pushed {} blobs ({} bytes), {} already present, {} mounted\n", result->blobs_pushed,
             result->bytes_pushed, result->blobs_existing, result->blobs_mounted);
  return {};
}

namespace {

Status run_push(const Globals& globals, const PushArgs& args) {
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  return push_local_image(store, args.source, args.destination.empty() ? args.source : args.destination,
                          args.settings);
}

}  // namespace

void add_push_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<PushArgs>();
  auto* cmd = app.add_subcommand("push", "Push an image to a registry");
  cmd->add_option("name", args->source, "Local image, NAME[:TAG] (also the destination unless DEST is given)")
      ->required();
  cmd->add_option("destination", args->destination, "Push as this name (REGISTRY/REPO[:TAG])");
  cmd->add_option("--insecure-registry", args->settings.insecure,
                  "Registry (HOST[:PORT]) to reach over plain HTTP (repeatable; localhost always is)");
  cmd->add_option("-j,--jobs", args->settings.jobs, "Parallel blob uploads")->check(CLI::Range(1, 16));
  cmd->add_option("--chunk-size", args->settings.chunk_size,
                  "Upload blobs larger than this many bytes in chunks of this size (default 64 MiB)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  cmd->add_flag("-q,--quiet", args->settings.quiet, "Print only NAME@DIGEST");
  cmd->callback([&globals, args] { finish(globals, run_push(globals, *args)); });
}

}  // namespace cbuild::cli
