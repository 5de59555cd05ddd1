// `cbuild save NAME... [-o FILE] [--format docker|oci|oci-dir] [--compression gzip|zstd|none]`.
#include "cbuild/build/builder.hpp"
#include "cbuild/export/save.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct SaveArgs {
  std::vector<std::string> names;
  std::string output;
  std::string format = "docker";
  std::string compression;
};

Status run_save(const Globals& globals, const SaveArgs& args) {
  exporter::SaveOptions options;
  auto format = exporter::parse_archive_format(args.format);
  if (!format)
    return make_error(ExitCode::usage, "save: unknown --format `{}` (docker, oci, oci-dir)", args.format);
  options.format = *format;
  if (!args.compression.empty()) {
    options.compression = image::media::parse_compression(args.compression);
    if (!options.compression) {
      return make_error(ExitCode::usage, "save: unknown --compression `{}` (gzip, zstd, none)",
                        args.compression);
    }
  }
  fs::path output = args.output;
  while (output.string().size() > 1 && output.string().back() == '/')
    output = output.string().substr(0, output.string().size() - 1);
  std::error_code ec;
  // `--format oci -o DIR` with an existing directory (or a trailing slash) writes a layout directory.
  if (options.format == exporter::ArchiveFormat::oci && !args.output.empty() &&
      (args.output.back() == '/' || fs::is_directory(output, ec))) {
    options.format = exporter::ArchiveFormat::oci_dir;
  }
  if (options.format == exporter::ArchiveFormat::oci_dir && (output.empty() || output == "-")) {
    return make_error(ExitCode::usage, "save: --format oci-dir needs -o DIR");
  }
  options.output = output;
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  // Built layers exist as snapshots until an archive needs their tar.
  options.layer_source = [&store](const Digest& diff_id, layer::ByteSink& out) {
    return build::write_layer_from_snapshots(store, diff_id, out);
  };
  return exporter::save_images(store, args.names, options);
}

}  // namespace

void add_save_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<SaveArgs>();
  auto* cmd = app.add_subcommand("save", "Save images to a docker archive or an OCI layout");
  cmd->add_option("names", args->names, "Images (names or IDs)")->required();
  cmd->add_option("-o,--output", args->output, "Output file or directory (default: stdout)");
  cmd->add_option("--format", args->format, "docker (default), oci, or oci-dir");
  cmd->add_option("--compression", args->compression,
                  "Layer compression: gzip, zstd or none (default: as stored)");
  cmd->callback([&globals, args] { finish(globals, run_save(globals, *args)); });
}

}  // namespace cbuild::cli
