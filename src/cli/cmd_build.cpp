// `cbuild build [OPTIONS] PATH | -`: build an image from a Dockerfile, with the flags of
// `docker buildx build` (see man/cbuild-build.1).
#include <fcntl.h>
#include <unistd.h>

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <iterator>

#include "cbuild/build/builder.hpp"
#include "cbuild/context/context.hpp"
#include "cbuild/executor/interrupt.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/export/save.hpp"
#include "cbuild/image/reference.hpp"
#include "cbuild/layer/applier.hpp"
#include "cbuild/util/fields.hpp"
#include "commands.hpp"
#include "push_image.hpp"

namespace cbuild::cli {
namespace {

struct BuildArgs {
  std::string context;
  std::string file;
  std::vector<std::string> tags;
  std::string target;
  std::vector<std::string> build_args;
  std::vector<std::string> labels;
  bool no_cache = false;
  std::vector<std::string> no_cache_filter;
  bool pull = false;
  std::string network = "default";
  std::vector<std::string> secrets;
  std::vector<std::string> ssh;
  std::string platform;
  bool quiet = false;
  std::string iidfile;
  std::string metadata_file;
  std::string progress = "auto";
  std::vector<std::string> outputs;
  std::string report;
  std::string source_date_epoch;
  std::vector<std::string> build_contexts;
  int jobs = 0;
  std::string snapshotter = "auto";
  std::vector<std::string> insecure;
  bool push = false;
  std::vector<std::string> cache_from;
  std::vector<std::string> cache_to;
};


Result<std::map<std::string, std::string>> key_values(const std::vector<std::string>& items, std::string_view flag,
                                                      bool from_env) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    if (eq == 0) return make_error(ExitCode::usage, "{}: empty name in `{}`", flag, item);
    if (eq == std::string::npos) {
      // `--build-arg NAME` takes the value from the environment, as docker does.
      const char* v = from_env ? std::getenv(item.c_str()) : nullptr;
      if (from_env && !v) continue;
      out[item] = v ? v : "";
    } else {
      out[item.substr(0, eq)] = item.substr(eq + 1);
    }
  }
  return out;
}

Result<std::vector<build::SecretSource>> parse_secrets(const std::vector<std::string>& items) {
  std::vector<build::SecretSource> out;
  for (const auto& item : items) {
    auto f = parse_fields(item);
    build::SecretSource s;
    s.id = f["id"];
    s.file = f.count("src") ? f["src"] : f["source"];
    s.env = f["env"];
    if (s.id.empty()) return make_error(ExitCode::usage, "--secret `{}`: id= is required", item);
    if (s.file.empty() && s.env.empty()) {
      // buildx: without src/env, an environment variable named like the id, else a file.
      if (std::getenv(s.id.c_str()))
        s.env = s.id;
      else
        return make_error(ExitCode::usage, "--secret `{}`: give src=FILE or env=VAR", item);
    }
    if (!s.file.empty() && ::access(s.file.c_str(), R_OK) != 0)
      return errno_error(fmt::format("--secret {}: read `{}`", s.id, s.file.string()));
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<build::SshSource> parse_ssh(const std::vector<std::string>& items) {
  std::vector<build::SshSource> out;
  for (const auto& item : items) {
    auto eq = item.find('=');
    build::SshSource s;
    s.id = item.substr(0, eq);
    if (eq != std::string::npos) s.socket = item.substr(eq + 1);
    out.push_back(std::move(s));
  }
  return out;
}

struct Output {
  std::string type = "image";
  std::map<std::string, std::string> fields;
};

Result<std::vector<Output>> parse_outputs(const std::vector<std::string>& items) {
  std::vector<Output> out;
  for (const auto& item : items) {
    Output o;
    if (item.find('=') == std::string::npos) {
      // `-o DIR` is buildx's shorthand for type=local,dest=DIR ("-" for a tar on stdout).
      o.type = item == "-" ? "tar" : "local";
      o.fields["dest"] = item;
    } else {
      o.fields = parse_fields(item);
      o.type = o.fields.count("type") ? o.fields["type"] : "local";
    }
    static const std::set<std::string> k_types = {"image", "oci", "docker", "local", "tar"};
    if (!k_types.count(o.type))
      return make_error(ExitCode::usage, "--output `{}`: unknown type `{}` (image, oci, docker, local, tar)", item, o.type);
    if (o.type != "image" && o.fields["dest"].empty())
      return make_error(ExitCode::usage, "--output `{}`: dest= is required", item);
    out.push_back(std::move(o));
  }
  return out;
}

// type=local: the image's root filesystem as a directory; type=tar: the same as a tar.
Status export_rootfs(store::Store& store, const Digest& image_id, const fs::path& dest, bool as_tar) {
  auto img = TRY(exporter::find_image(store, image_id.str()));
  auto temp = TRY(TempDir::create("cbuild-rootfs-"));
  fs::path root = as_tar ? temp.path() / "root" : dest;
  TRY(make_dirs(root));
  for (const auto& diff : img.config.diff_ids) {
    // A stored blob is applied as it is (any compression); a built layer is written from
    // its snapshot first.
    fs::path archive = temp.path() / "layer.tar";
    if (auto stored = TRY(exporter::find_stored_layer(store, diff))) {
      archive = store.blob_path(stored->blob.digest);
    } else {
      UniqueFd fd(::open(archive.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
      if (!fd) return errno_error(fmt::format("create `{}`", archive.string()));
      layer::FdSink sink(fd.get());
      TRY(build::write_layer_from_snapshots(store, diff, sink));
    }
    TRY(layer::apply_layer(archive, root, layer::ApplyOptions{}));
  }
  if (!as_tar) return {};
  std::optional<AtomicFile> file;
  if (dest != "-") file.emplace(TRY(AtomicFile::create(dest)));
  layer::FdSink out(file ? file->fd() : STDOUT_FILENO);
  TRY(layer::write_layer(root, layer::WriteOptions{}, out));
  return file ? file->commit() : Status{};
}

Status write_outputs(store::Store& store, const build::BuildResult& result, const std::vector<Output>& outputs) {
  for (const auto& o : outputs) {
    fs::path dest = o.fields.count("dest") ? o.fields.at("dest") : "";
    if (o.type == "image") continue;
    if (o.type == "local" || o.type == "tar") {
      TRY(export_rootfs(store, result.image_id, dest, o.type == "tar"));
      continue;
    }
    exporter::SaveOptions options;
    options.format = o.type == "docker" ? exporter::ArchiveFormat::docker : exporter::ArchiveFormat::oci;
    if (o.type == "oci" && o.fields.count("tar") && o.fields.at("tar") == "false")
      options.format = exporter::ArchiveFormat::oci_dir;
    options.output = dest;
    options.layer_source = [&store](const Digest& d, layer::ByteSink& out) {
      return build::write_layer_from_snapshots(store, d, out);
    };
    std::vector<std::string> names = result.tags;
    if (names.empty()) names.push_back(result.image_id.str());
    TRY(exporter::save_images(store, names, options));
  }
  return {};
}

Status run_build(const Globals& globals, const BuildArgs& args) {
  build::BuildOptions options;
  std::optional<TempDir> stdin_context;
  std::string dockerfile_name = args.file.empty() ? "Dockerfile" : args.file;
  if (args.context == "-") {
    // A tar context on stdin (its Dockerfile inside, unless -f names another file).
    stdin_context.emplace(TRY(context::extract_tar_context(STDIN_FILENO)));
    options.context_dir = stdin_context->path();
  } else {
    options.context_dir = args.context;
    std::error_code ec;
    if (!fs::is_directory(options.context_dir, ec))
      return make_error(ExitCode::bad_input, "build context `{}` is not a directory", args.context);
  }
  if (args.file == "-") {
    options.dockerfile_text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    options.dockerfile_path = "Dockerfile";
  } else {
    fs::path path = args.file.empty() ? options.context_dir / "Dockerfile" : fs::path(args.file);
    if (args.context == "-" && !args.file.empty() && path.is_relative()) path = options.context_dir / path;
    auto text = read_file(path);
    if (!text) return std::move(text).error().wrap("read Dockerfile");
    options.dockerfile_text = std::move(*text);
    options.dockerfile_path = path;
  }
  for (const auto& t : args.tags) {
    auto ref = image::parse_tag_target(t);
    if (!ref) return std::move(ref).error().wrap("-t `{}`", t);
    options.tags.push_back(ref->str());
  }
  options.target = args.target;
  options.build_args = TRY(key_values(args.build_args, "--build-arg", true));
  options.labels = TRY(key_values(args.labels, "--label", false));
  options.no_cache = args.no_cache;
  options.no_cache_filter = args.no_cache_filter;
  options.pull = args.pull;
  if (args.network != "default" && args.network != "host" && args.network != "none")
    return make_error(ExitCode::usage, "--network `{}`: use default, host or none", args.network);
  options.network = args.network;
  options.secrets = TRY(parse_secrets(args.secrets));
  options.ssh = parse_ssh(args.ssh);
  options.named_contexts = TRY(key_values(args.build_contexts, "--build-context", false));
  options.platform = args.platform;
  std::string epoch = args.source_date_epoch;
  if (epoch.empty())
    if (const char* e = std::getenv("SOURCE_DATE_EPOCH")) epoch = e;
  if (!epoch.empty()) {
    char* end = nullptr;
    long long v = std::strtoll(epoch.c_str(), &end, 10);
    if (*end != '\0' || v < 0) return make_error(ExitCode::usage, "--source-date-epoch `{}`: not a unix time", epoch);
    options.source_date_epoch = v;
  }
  options.jobs = args.jobs;
  options.snapshotter = TRY(snapshot::parse_kind(args.snapshotter));
  options.insecure_registries = args.insecure;
  options.cache_from = args.cache_from;
  options.cache_to = args.cache_to;
  auto outputs = TRY(parse_outputs(args.outputs));

  auto mode = build::parse_progress_mode(args.quiet ? "quiet" : args.progress, stderr);
  if (!mode) return make_error(ExitCode::usage, "--progress `{}`: use auto, plain, tty, json or quiet", args.progress);
  auto progress = build::make_progress(*mode, stderr);
  executor::install_interrupt_handlers();
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  auto result = build::run_build(store, options, *progress);
  if (!result) {
    if (executor::interrupt_signal()) return make_error(ExitCode::interrupted, "build interrupted");
    return std::move(result).error();
  }
  TRY(write_outputs(store, *result, outputs));
  bool push = args.push;
  for (const auto& o : outputs)
    if (o.type == "image" && o.fields.count("push") && o.fields.at("push") == "true") push = true;
  if (push) {
    if (result->tags.empty()) return make_error(ExitCode::usage, "--push needs a name (-t REGISTRY/REPO:TAG)");
    PushSettings settings;
    settings.insecure = args.insecure;
    settings.quiet = args.quiet;
    for (const auto& tag : result->tags) TRY(push_local_image(store, tag, tag, settings));
  }
  progress->message(build::summary_line(*result));
  progress.reset();
  constexpr auto unsynced = Durability::unsynced;  // outputs for the caller, not store data
  if (!args.report.empty()) TRY(write_file_atomic(args.report, build::report_json(*result), 0644, unsynced));
  if (!args.iidfile.empty()) TRY(write_file_atomic(args.iidfile, result->image_id.str(), 0644, unsynced));
  if (!args.metadata_file.empty()) {
    nlohmann::json meta = {{"containerimage.config.digest", result->image_id.str()},
                           {"containerimage.digest", result->manifest.str()}};
    if (!result->tags.empty()) {
      std::string names;
      for (const auto& t : result->tags) names += (names.empty() ? "" : ",") + t;
      meta["image.name"] = names;
    }
    TRY(write_file_atomic(args.metadata_file, meta.dump(2) + "\n", 0644, unsynced));
  }
  if (args.quiet) fmt::print("{}\n", result->image_id.str());
  return {};
}

}  // namespace

void add_build_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<BuildArgs>();
  auto* cmd = app.add_subcommand("build", "Build an image from a Dockerfile");
  cmd->add_option("context", args->context, "Build context: a directory, or - for a tar on stdin")->required();
  cmd->add_option("-f,--file", args->file, "Dockerfile (default: PATH/Dockerfile; - reads stdin)");
  cmd->add_option("-t,--tag", args->tags, "Name and optionally a tag (repeatable)");
  cmd->add_option("--target", args->target, "Stage to build");
  cmd->add_option("--build-arg", args->build_args, "Build-time variable NAME[=VALUE] (repeatable)");
  cmd->add_option("--label", args->labels, "Image label KEY=VALUE (repeatable)");
  cmd->add_flag("--no-cache", args->no_cache, "Do not use the build cache");
  cmd->add_option("--no-cache-filter", args->no_cache_filter, "Do not use the cache for these stages");
  cmd->add_flag("--pull", args->pull, "Re-resolve base images against their registry");
  cmd->add_option("--network", args->network, "RUN network: default, host or none");
  cmd->add_option("--secret", args->secrets, "Secret for RUN --mount=type=secret: id=ID,src=FILE | id=ID,env=VAR");
  cmd->add_option("--ssh", args->ssh, "SSH agent for RUN --mount=type=ssh: default | ID=SOCKET");
  cmd->add_option("--platform", args->platform, "Target platform (native only)");
  cmd->add_flag("-q,--quiet", args->quiet, "Print only the image ID");
  cmd->add_option("--iidfile", args->iidfile, "Write the image ID to this file");
  cmd->add_option("--metadata-file", args->metadata_file, "Write build metadata (JSON) to this file");
  cmd->add_option("--progress", args->progress, "auto, plain, tty, json or quiet");
  cmd->add_option("-o,--output", args->outputs,
                  "type=image | oci,dest=FILE | docker,dest=FILE | local,dest=DIR | tar,dest=FILE (repeatable)");
  cmd->add_option("--report", args->report, "Write the per-step cache report (JSON) to this file");
  cmd->add_option("--source-date-epoch", args->source_date_epoch, "Timestamps for reproducible images (SOURCE_DATE_EPOCH)");
  cmd->add_option("--build-context", args->build_contexts, "Named context NAME=PATH|docker-image://REF (repeatable)");
  cmd->add_option("-j,--jobs", args->jobs, "Stages built in parallel (default: the number of cores)");
  cmd->add_option("--snapshotter", args->snapshotter, "overlay, native or auto");
  cmd->add_option("--insecure-registry", args->insecure, "Registry reached over plain HTTP (repeatable)");
  cmd->add_option("--cache-from", args->cache_from,
                  "Import build cache: type=registry,ref=REF | type=local,src=DIR | IMAGE (repeatable)");
  cmd->add_option("--cache-to", args->cache_to,
                  "Export build cache: type=registry,ref=REF | type=local,dest=DIR | type=inline; "
                  "mode=min|max, cache-mounts=true (repeatable)");
  cmd->add_flag("--push", args->push, "Push the image to its registry (every -t name) after the build");
  cmd->callback([&globals, args] { finish(globals, run_build(globals, *args)); });
}

}  // namespace cbuild::cli
