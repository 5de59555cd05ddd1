#pragma once
// Store internals shared by the store's source files (not a public header).
#include "cbuild/store/store.hpp"
#include "db.hpp"

#include <functional>
#include <mutex>

namespace cbuild::store {

struct Store::Impl {
  fs::path root;
  fs::path session;       ///< tmp/s-<rand>, once started (session_dir)
  fs::path session_lock;  ///< tmp/s-<rand>.lock
  FileLock session_hold;
  std::once_flag session_once;
  Status session_started;
  detail::Db db;
  std::recursive_mutex mu;  ///< guards db and depth; a transaction holds it throughout
  int depth = 0;            ///< nesting of write transactions on this connection
  TreeRemover remover;

  ~Impl();

  fs::path blobs_dir() const { return root / "blobs" / "sha256"; }
  fs::path snapshots_dir() const { return root / "snapshots"; }
  fs::path cache_mounts_dir() const { return root / "cache-mounts"; }
  fs::path tmp_dir() const { return root / "tmp"; }
  fs::path locks_dir() const { return root / "locks"; }
  fs::path gc_lock_path() const { return locks_dir() / "gc.lock"; }

  /// Run fn in a write transaction (BEGIN IMMEDIATE / SAVEPOINT when nested).
  Status write(const std::function<Status()>& fn);
  /// The session directory, started on first use.
  Result<fs::path> session_dir();
  /// A unique name in the session directory ("<prefix><random>").
  Result<fs::path> temp_name(std::string_view prefix);
  /// Remove temp sessions whose owner died (their lock file is free), and temp files a killed
  /// writer left. Returns the count of sessions.
  uint64_t clean_dead_sessions();
  /// Move a file or tree out of the way into the session dir, then remove it, so a crash
  /// never leaves a half-removed object under its real name. Missing paths are fine.
  Status discard(const fs::path& path);
};

/// Lowercase hex of random bytes.
std::string random_hex(size_t bytes);
/// Name of a snapshot's directory: the hex for "sha256:" ids, else the id if it is a plain
/// name; an error for ids that could escape snapshots/.
Result<std::string> snapshot_dir_name(std::string_view id);

/// remove_cache_mount without taking a lease (for prune, which holds the GC lock).
Result<bool> remove_cache_mount_unleased(Store::Impl& impl, std::string_view id);

}  // namespace cbuild::store
