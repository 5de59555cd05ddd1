#pragma once
// Opening the store for maintenance commands (prune, du, store check): trees left by builds
// (snapshots, staged upperdirs) may hold files of subordinate ids that an unprivileged user
// can only remove from inside the build user namespace, so removal falls back to that.
#include "cbuild/executor/userns.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"
#include "commands.hpp"

namespace cbuild::cli {

inline Result<store::Store> open_store_for_maintenance(const Globals& globals) {
  return store::Store::open(store::resolve_root(globals.root), [](const std::filesystem::path& path) -> Status {
    if (cbuild::remove_tree(path).ok()) return {};
    return executor::remove_tree_mapped(path);
  });
}

}  // namespace cbuild::cli
