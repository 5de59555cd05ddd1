// `cbuild history NAME [--no-trunc] [-q] [--format table|json]`: like `docker history`.
#include <nlohmann/json.hpp>

#include "cbuild/export/images.hpp"
#include "cbuild/image/time.hpp"
#include "cbuild/store/gc.hpp"
#include "commands.hpp"
#include "table.hpp"

namespace cbuild::cli {
namespace {

struct HistoryArgs {
  std::string name;
  bool no_trunc = false;
  bool quiet = false;
  std::string format = "table";
};

struct Row {
  std::string id = "<missing>";
  int64_t created = 0;
  std::string created_by;
  uint64_t size = 0;
  std::string comment;
};

/// Unpacked size of layer `i` as far as the store knows it: the image's own size for a
/// single layer, an uncompressed blob, or the snapshot; else the blob size in the manifest.
uint64_t layer_size(store::Store& store, const exporter::LocalImage& img, size_t i,
                    const std::vector<Digest>& chains) {
  if (img.config.diff_ids.size() == 1 && img.record.size > 0) return img.record.size;
  if (auto plain = store.find_layer(img.config.diff_ids[i], "none"); plain && *plain)
    return (*plain)->blob.size;
  if (auto snapshot = store.get_snapshot(chains[i].str()); snapshot && *snapshot) return (*snapshot)->size;
  return static_cast<uint64_t>(img.manifest.layers[i].size);
}

/// History newest first; non-empty entries take the layers in order.
std::vector<Row> rows_of(store::Store& store, const exporter::LocalImage& img) {
  std::vector<Row> rows;
  const std::vector<Digest> chains = store::chain_ids(img.config.diff_ids);
  size_t layer = 0;
  for (const image::HistoryEntry& h : img.config.history) {
    Row row{.created = image::parse_rfc3339(h.created).value_or(0),
            .created_by = h.created_by,
            .comment = h.comment};
    if (!h.empty_layer && layer < img.config.diff_ids.size() && layer < img.manifest.layers.size()) {
      row.size = layer_size(store, img, layer++, chains);
    }
    rows.push_back(std::move(row));
  }
  std::reverse(rows.begin(), rows.end());
  if (!rows.empty()) rows.front().id = img.id().str();
  return rows;
}

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  std::replace(text.begin(), text.end(), '\t', ' ');
  return text;
}

/// docker's stringutils.Ellipsis: at most `max` characters, the last one "…".
std::string ellipsis(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  return text.substr(0, max - 1) + "…";
}

Status run_history(const Globals& globals, const HistoryArgs& args) {
  auto store = TRY(store::Store::open(store::resolve_root(globals.root)));
  auto img = TRY(exporter::find_image(store, args.name));
  const int64_t now = store::now_seconds();
  auto id_text = [&](const std::string& id) {
    return args.no_trunc || id == "<missing>" ? id : std::string(id.substr(7, 12));
  };
  auto since = [&](int64_t t) {
    return t == 0 ? std::string("N/A") : image::human_duration(now - t) + " ago";
  };
  std::vector<Row> rows = rows_of(store, img);
  if (args.quiet) {
    for (const Row& r : rows) fmt::print("{}\n", id_text(r.id));
    return {};
  }
  if (args.format == "json") {
    for (const Row& r : rows) {
      nlohmann::json j = {{"Comment", r.comment},      {"CreatedAt", image::format_rfc3339(r.created)},
                          {"CreatedBy", r.created_by}, {"CreatedSince", since(r.created)},
                          {"ID", id_text(r.id)},       {"Size", store::format_size(r.size)}};
      fmt::print("{}\n", j.dump());
    }
    return {};
  }
  if (args.format != "table")
    return make_error(ExitCode::usage, "history: unknown --format `{}` (table, json)", args.format);
  std::vector<TableRow> table;
  for (const Row& r : rows) {
    std::string by = one_line(r.created_by);
    table.push_back({id_text(r.id), since(r.created), args.no_trunc ? by : ellipsis(by, 45),
                     store::format_size(r.size), r.comment});
  }
  print_table({"IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"}, table);
  return {};
}

}  // namespace

void add_history_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<HistoryArgs>();
  auto* cmd = app.add_subcommand("history", "Show the history of an image");
  cmd->add_option("name", args->name, "Image (name or ID)")->required();
  cmd->add_flag("--no-trunc", args->no_trunc, "Do not truncate output");
  cmd->add_flag("-q,--quiet", args->quiet, "Only image IDs");
  cmd->add_option("--format", args->format, "table (default) or json (one object per line)");
  cmd->callback([&globals, args] { finish(globals, run_history(globals, *args)); });
}

}  // namespace cbuild::cli
