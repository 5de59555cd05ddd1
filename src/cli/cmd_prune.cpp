// `cbuild prune`: remove unreferenced data, trim the build cache, clear cache mounts.
#include "cbuild/store/gc.hpp"
#include "commands.hpp"
#include "store_open.hpp"

#include <fmt/core.h>
#include <unistd.h>

#include <iostream>

namespace cbuild::cli {

namespace {

struct PruneFlags {
  bool all = false;
  std::string keep_storage;
  bool cache_mounts = false;
  bool force = false;
};

// Ask on a terminal, as docker does; scripts (stdin not a tty) and -f go ahead.
bool confirmed(const PruneFlags& flags) {
  if (flags.force || !::isatty(STDIN_FILENO)) return true;
  fmt::print("WARNING! This will remove unused images, {}{}.\nAre you sure you want to continue? [y/N] ",
             flags.all ? "all build cache" : flags.keep_storage.empty() ? "no build cache" : "build cache over the limit",
             flags.cache_mounts ? " and all cache mounts" : "");
  std::fflush(stdout);
  std::string answer;
  std::getline(std::cin, answer);
  return answer == "y" || answer == "Y" || answer == "yes";
}

Status run_prune(const Globals& globals, const PruneFlags& flags) {
  store::PruneOptions options;
  options.all = flags.all;
  options.cache_mounts = flags.cache_mounts;
  if (!flags.keep_storage.empty()) options.keep_storage = TRY(store::parse_size(flags.keep_storage));
  if (!confirmed(flags)) return {};
  auto store = TRY(open_store_for_maintenance(globals));
  auto r = TRY(store::prune(store, options));
  fmt::print("Deleted: {} images, {} cache entries, {} snapshots, {} blobs, {} layer records, {} cache mounts, "
             "{} orphaned directories\n",
             r.images, r.cache_entries, r.snapshots, r.blobs, r.layer_records, r.cache_mounts, r.orphan_dirs);
  fmt::print("Total reclaimed space: {}\n", store::format_size(r.bytes_freed));
  return {};
}

}  // namespace

void add_prune_command(CLI::App& app, Globals& globals) {
  auto flags = std::make_shared<PruneFlags>();
  auto* cmd = app.add_subcommand("prune", "Remove unreferenced images, layers and build cache");
  cmd->add_flag("-a,--all", flags->all, "Remove all build cache, not only unreferenced data");
  cmd->add_option("--keep-storage", flags->keep_storage, "Trim the build cache, least recently used first, to SIZE");
  cmd->add_flag("--cache-mounts", flags->cache_mounts, "Also clear RUN --mount=type=cache directories");
  cmd->add_flag("-f,--force", flags->force, "Do not prompt for confirmation");
  cmd->callback([&globals, flags] { finish(globals, run_prune(globals, *flags)); });
}

}  // namespace cbuild::cli
