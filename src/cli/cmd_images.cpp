// `cbuild images [REPOSITORY[:TAG]] [-q] [--no-trunc] [--format table|json]`: like `docker images`.
#include <nlohmann/json.hpp>
#include <set>

#include "cbuild/export/images.hpp"
#include "cbuild/image/time.hpp"
#include "cbuild/store/gc.hpp"
#include "commands.hpp"
#include "table.hpp"

namespace cbuild::cli {
namespace {

struct ImagesArgs {
  std::string filter;
  bool quiet = false;
  bool no_trunc = false;
  std::string format = "table";
};

/// One line of the listing: a name of an image, or an untagged image.
struct Line {
  std::string repository = "<none>";
  std::string tag = "<none>";
  Digest id;
  Digest manifest;
  int64_t created = 0;
  uint64_t size = 0;
};

Result<std::vector<Line>> collect(store::Store& store) {
  std::vector<Line> lines;
  std::set<Digest> named;
  auto created_of = [&](const store::ImageRecord& r) -> int64_t {
    auto blob = store.read_blob(r.config);
    if (!blob) return 0;
    auto config = image::ImageConfig::parse(*blob);
    if (!config) return 0;
    return image::parse_rfc3339(config->created).value_or(0);
  };
  for (const store::TagRecord& tag : TRY(store.list_tags())) {
    Line line{.id = tag.image.config,
              .manifest = tag.image.manifest,
              .created = created_of(tag.image),
              .size = tag.image.size};
    if (auto ref = image::parse_reference(tag.name)) {
      line.repository = ref->familiar_name();
      line.tag = ref->tag.empty() ? "<none>" : ref->tag;
    } else {
      line.repository = tag.name;
    }
    named.insert(tag.image.config);
    lines.push_back(std::move(line));
  }
  std::set<Digest> dangling;
  for (const store::ImageRecord& r : TRY(store.list_images())) {
    if (r.config.empty() || named.count(r.config) || !dangling.insert(r.config).second) continue;
    lines.push_back(Line{.id = r.config, .manifest = r.manifest, .created = created_of(r), .size = r.size});
  }
  std::stable_sort(lines.begin(), lines.end(),
                   [](const Line& a, const Line& b) { return a.created > b.created; });
  return lines;
}

bool matches(const Line& line, const std::string& filter) {
  if (filter.empty()) return true;
  auto ref = image::parse_normalized(filter);
  if (!ref) return false;
  return line.repository == ref->familiar_name() && (!ref->has_tag() || line.tag == ref->tag);
}

Status run_images(const Globals& globals, const ImagesArgs& args) {
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  std::vector<Line> lines;
  for (Line& line : TRY(collect(store))) {
    if (matches(line, args.filter)) lines.push_back(std::move(line));
  }
  const int64_t now = store::now_seconds();
  auto id_text = [&](const Digest& id) { return args.no_trunc ? id.str() : exporter::short_id(id); };
  auto since = [&](int64_t created) {
    return created == 0 ? std::string("N/A") : image::human_duration(now - created) + " ago";
  };
  if (args.quiet) {
    std::set<Digest> seen;
    for (const Line& line : lines) {
      if (seen.insert(line.id).second) fmt::print("{}\n", id_text(line.id));
    }
    return {};
  }
  if (args.format == "json") {
    for (const Line& line : lines) {
      nlohmann::json row = {{"Containers", "N/A"},
                            {"CreatedAt", image::format_go_time(line.created)},
                            {"CreatedSince", since(line.created)},
                            {"Digest", line.manifest.str()},
                            {"ID", id_text(line.id)},
                            {"Repository", line.repository},
                            {"SharedSize", "N/A"},
                            {"Size", store::format_size(line.size)},
                            {"Tag", line.tag},
                            {"UniqueSize", "N/A"},
                            {"VirtualSize", store::format_size(line.size)}};
      fmt::print("{}\n", row.dump());
    }
    return {};
  }
  if (args.format != "table")
    return make_error(ExitCode::usage, "images: unknown --format `{}` (table, json)", args.format);
  std::vector<TableRow> rows;
  for (const Line& line : lines) {
    rows.push_back(
        {line.repository, line.tag, id_text(line.id), since(line.created), store::format_size(line.size)});
  }
  print_table({"REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE"}, rows);
  return {};
}

}  // namespace

void add_images_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<ImagesArgs>();
  auto* cmd = app.add_subcommand("images", "List images");
  cmd->add_option("repository", args->filter, "Only this REPOSITORY[:TAG]");
  cmd->add_flag("-q,--quiet", args->quiet, "Only image IDs");
  cmd->add_flag("--no-trunc", args->no_trunc, "Full image IDs");
  cmd->add_option("--format", args->format, "table (default) or json (one object per line)");
  cmd->callback([&globals, args] { finish(globals, run_images(globals, *args)); });
}

}  // namespace cbuild::cli
