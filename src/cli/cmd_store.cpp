// `cbuild store check` (verify the store) and the hidden testing aid `cbuild store torture`.
#include "cbuild/store/gc.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/store/torture.hpp"
#include "commands.hpp"
#include "store_open.hpp"

#include <fmt/core.h>

namespace cbuild::cli {

namespace {

struct StoreOptions {
  bool no_verify = false;
  double seconds = 5;
  std::string writer = "w";
  uint64_t seed = 0;
};

Status run_check(const Globals& globals, const StoreOptions& opts) {
  auto store = TRY(open_store_for_maintenance(globals));
  auto report = TRY(store::check(store, !opts.no_verify));
  for (const auto& note : report.notes) fmt::print("note: {}\n", note);
  for (const auto& problem : report.problems) fmt::print("problem: {}\n", problem);
  fmt::print("checked {} blobs, {} images ({} tagged), {} layer records, {} snapshots, {} cache entries: {}\n",
             report.blobs, report.images, report.tags, report.layer_records, report.snapshots,
             report.cache_entries,
             report.ok() ? "ok" : fmt::format("{} problem{}", report.problems.size(),
                                              report.problems.size() == 1 ? "" : "s"));
  if (!report.ok())
    return make_error("store `{}` is inconsistent ({} problems)", store.root().string(), report.problems.size());
  return {};
}

Status run_torture(const Globals& globals, const StoreOptions& opts) {
  auto store = TRY(open_store_for_maintenance(globals));
  store::TortureOptions options;
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(opts.seconds * 1000));
  options.writer = opts.writer;
  options.seed = opts.seed;
  auto stats = TRY(store::torture(store, options));
  fmt::print("torture {}: {} operations, {} blobs, {} tags, {} snapshots, {} cache entries, {} removals, {} prunes\n",
             opts.writer, stats.operations, stats.blobs, stats.tags, stats.snapshots, stats.cache_entries,
             stats.removals, stats.prunes);
  return {};
}

}  // namespace

void add_store_command(CLI::App& app, Globals& globals) {
  auto opts = std::make_shared<StoreOptions>();
  auto* cmd = app.add_subcommand("store", "Inspect and maintain the local store");
  cmd->require_subcommand(1);

  auto* check = cmd->add_subcommand("check", "Verify every blob, reference and snapshot; exit 1 on problems");
  check->add_flag("--no-verify", opts->no_verify, "Skip re-hashing blob contents");
  check->callback([&globals, opts] { finish(globals, run_check(globals, *opts)); });

  // Testing aid for the crash and concurrency tests; hidden from --help (empty group).
  auto* torture = cmd->add_subcommand("torture", "Write to the store in a loop (testing aid)");
  torture->group("");
  torture->add_option("--seconds", opts->seconds, "How long to run")->check(CLI::PositiveNumber);
  torture->add_option("--writer", opts->writer, "Name prefix for this writer's objects");
  torture->add_option("--seed", opts->seed, "Random seed (0: random)");
  torture->callback([&globals, opts] { finish(globals, run_torture(globals, *opts)); });
}

}  // namespace cbuild::cli
