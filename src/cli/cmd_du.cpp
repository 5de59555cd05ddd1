// `cbuild du`: store usage by kind.
#include "cbuild/store/gc.hpp"
#include "commands.hpp"
#include "store_open.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

namespace cbuild::cli {

namespace {

Status run_du(const Globals& globals, const std::string& format) {
  auto store = TRY(open_store_for_maintenance(globals));
  auto usage = TRY(store::disk_usage(store));
  if (format == "json") {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& u : usage)
      out.push_back({{"type", u.kind}, {"count", u.count}, {"size", u.bytes}, {"reclaimable", u.reclaimable}});
    fmt::print("{}\n", out.dump(2));
    return {};
  }
  fmt::print("{:<14} {:>7} {:>10} {:>12}\n", "TYPE", "COUNT", "SIZE", "RECLAIMABLE");
  uint64_t total = 0, reclaimable = 0;
  for (const auto& u : usage) {
    fmt::print("{:<14} {:>7} {:>10} {:>12}\n", u.kind, u.count, store::format_size(u.bytes),
               store::format_size(u.reclaimable));
    total += u.bytes;
    reclaimable += u.reclaimable;
  }
  fmt::print("{:<14} {:>7} {:>10} {:>12}\n", "total", "", store::format_size(total), store::format_size(reclaimable));
  return {};
}

}  // namespace

void add_du_command(CLI::App& app, Globals& globals) {
  auto format = std::make_shared<std::string>("table");
  auto* cmd = app.add_subcommand("du", "Show store disk usage by kind");
  cmd->add_option("--format", *format, "Output format")->check(CLI::IsMember({"table", "json"}));
  cmd->callback([&globals, format] { finish(globals, run_du(globals, *format)); });
}

}  // namespace cbuild::cli
