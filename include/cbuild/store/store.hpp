#pragma once
/// The local content store: blobs, images and tags, layer records, snapshots, the build-cache
/// index and cache mounts, under one root directory.
///
/// On-disk layout, version 1 (root = `--root` / CBUILD_ROOT / default_root()):
///
///     db.sqlite (+ -wal, -shm)  metadata, SQLite in WAL mode (schema below)
///     blobs/sha256/<hex>        immutable content-addressed blobs, mode 0444; a file appears
///                               here only complete, fsynced and renamed (never half-written)
///     snapshots/<name>/         unpacked layer trees; <name> is the id's hex for "sha256:" ids
///     cache-mounts/<hash>/      RUN --mount=type=cache directories (<hash>: 32 hex of sha256(id))
///     tmp/s-<rand>/             one temp directory per open Store ("session"), made on first
///                               use; blob temp files, snapshot staging trees and trash go
///                               here (same filesystem, so renames into place are atomic)
///     tmp/s-<rand>.lock         held (flock exclusive) by the session's process while it lives;
///                               Store::open removes sessions whose lock is free (owner died)
///     overlay-probe             the snapshotter's record of a working overlay (see choose_kind)
///     locks/gc.lock             GC lock: shared by writers (leases), exclusive by prune
///     locks/<name>.lock         named locks (e.g. cache mounts with sharing=locked)
///
/// Database schema, version 1 (table `meta`: key/value with `schema_version`, `layout_version`):
///
///     images(manifest PK, config, media_type, size, created)
///     tags(name PK, manifest → images, updated)
///     layers(blob PK, diff_id, compression, media_type, size)   index on (diff_id, compression)
///     snapshots(id PK, parent, diff_id, size, created, last_used, info)
///     cache(key PK, record, size, created, last_used)
///     cache_refs(key → cache ON DELETE CASCADE, kind 'snapshot'|'blob', ref)
///     cache_mounts(id PK, dir, size, created, last_used)
///
/// Newer schema versions are added as migrations run by open() in one transaction; a store
/// with a newer schema than this binary knows is refused.
///
/// Consistency rules. Every write that spans several rows is one SQLite transaction (WAL,
/// synchronous=NORMAL: a commit is atomic under kill -9 and OS crashes; an OS crash may lose
/// the last commits, which is safe because every file a row refers to is fsynced and renamed
/// into place before the row is committed). Deletions go the other way: rows first, then
/// files. So after a crash the store may hold unreferenced files (removed by prune) but never
/// a row naming a missing blob or snapshot directory.
///
/// Concurrency. A Store may be used from several threads (one connection guarded by a
/// recursive mutex; a transaction() holds it for its whole duration) and by several processes
/// (SQLite locking with a busy timeout; BEGIN IMMEDIATE for writes). GC safety: prune() takes
/// locks/gc.lock exclusively; anyone creating objects that are not referenced yet (a blob that
/// a tag will name, a snapshot a cache record will name) holds a `lease()` from before the
/// first write until the referencing row is committed. BlobWriter holds a lease itself while
/// writing. Do not call prune() or check() while holding a lease in the same process (they
/// would wait for it until their lock timeout). Take leases before, not inside, a
/// transaction(): begin_blob/put_blob, remove_snapshot and remove_cache_mount take one, and a
/// prune waiting for the database while holding the GC lock would otherwise stall both sides
/// until SQLite's busy timeout.
#include "cbuild/store/blob.hpp"
#include "cbuild/store/lock.hpp"
#include "cbuild/store/records.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::store {

namespace fs = std::filesystem;

inline constexpr int k_layout_version = 1;
inline constexpr int k_schema_version = 2;

/// `/var/lib/cbuild` for uid 0, else `$XDG_DATA_HOME/cbuild`, else `$HOME/.local/share/cbuild`.
fs::path default_root();
/// `root` if not empty, else default_root() (for the CLI's `--root`).
fs::path resolve_root(const std::string& root);

/// Removes a directory tree. The default is util's remove_tree; the snapshotter may install
/// one that works inside the build user namespace (trees owned by subordinate ids).
using TreeRemover = std::function<Status(const fs::path&)>;

class Store {
 public:
  /// Open (creating if needed) the store at `root`: make the layout, migrate the schema,
  /// and remove temp sessions of dead processes. This Store's own session starts when first
  /// needed: a fully cached build writes nothing to tmp/.
  /// `remover` (default: util's remove_tree) is installed before that cleanup, for trees
  /// holding files of subordinate ids (see set_tree_remover).
  static Result<Store> open(const fs::path& root, TreeRemover remover = {});

  Store(Store&&) noexcept;
  Store& operator=(Store&&) noexcept;
  ~Store();

  const fs::path& root() const;
  /// This Store's private temp directory (tmp/s-<rand>/, 0711 as root so container root can
  /// reach step roots in it), made on the first call and removed when the Store closes.
  Result<fs::path> session_dir() const;
  /// A new empty directory inside session_dir() (for staging trees on the store's filesystem).
  Result<fs::path> make_temp_dir(std::string_view prefix);

  // ---- transactions, leases, locks -------------------------------------------------------

  /// Run `fn` as one atomic write transaction: BEGIN IMMEDIATE (or a SAVEPOINT when nested);
  /// committed if `fn` succeeds, rolled back if it fails. Store calls that `fn` makes from the
  /// same thread join the transaction; other threads wait. File operations are not rolled back.
  Status transaction(const std::function<Status()>& fn);
  /// A shared hold on locks/gc.lock: prune() waits until it is released. See class comment.
  Result<FileLock> lease();
  /// A named lock locks/<name>.lock; `name` may be any string (it is hashed if not a plain
  /// [A-Za-z0-9._-] name). E.g. `lock("cache-mount-" + id, exclusive)` for sharing=locked.
  Result<FileLock> lock(std::string_view name, LockMode mode,
                        std::optional<std::chrono::milliseconds> timeout = std::nullopt);

  // ---- blobs -------------------------------------------------------------------------------

  Result<BlobWriter> begin_blob();
  /// Store a whole blob (see BlobWriter::commit for `expected`).
  Result<Descriptor> put_blob(std::string_view data, const std::optional<Digest>& expected = std::nullopt);
  bool has_blob(const Digest& digest) const;
  Result<uint64_t> blob_size(const Digest& digest) const;
  /// Read and verify a whole blob. Missing → ExitCode::not_found "blob sha256:… not found";
  /// digest mismatch → the file is removed and ExitCode::not_found "blob sha256:… is corrupt
  /// (removed from the store)", so the caller re-pulls or rebuilds it.
  Result<std::string> read_blob(const Digest& digest);
  /// Stream a blob; verified when the end is read (see BlobReader).
  Result<BlobReader> open_blob(const Digest& digest);
  /// Hash a blob's file; on mismatch remove it and return the corruption error.
  Status verify_blob(const Digest& digest);
  /// Path of the blob file (it may not exist). Reading it directly is not verified.
  fs::path blob_path(const Digest& digest) const;
  /// Every blob file present (digest and size), unverified.
  Result<std::vector<Descriptor>> list_blobs() const;

  // ---- images and tags -----------------------------------------------------------------

  /// Insert or update an image record. Its manifest blob (and config blob, if given) must
  /// already be stored, else ExitCode::not_found.
  Status put_image(const ImageRecord& image);
  Result<std::optional<ImageRecord>> get_image(const Digest& manifest);
  Result<std::vector<ImageRecord>> list_images();
  /// Remove an image record and every tag that names it. Returns false if it was unknown.
  Result<bool> remove_image(const Digest& manifest);
  /// Point `name` at `image` (put_image + tag in one transaction), replacing any old target.
  Status set_tag(std::string_view name, const ImageRecord& image);
  Result<std::optional<TagRecord>> get_tag(std::string_view name);
  /// All tags, sorted by name.
  Result<std::vector<TagRecord>> list_tags();
  /// Remove a tag (the image record stays; prune removes untagged images). False if unknown.
  Result<bool> remove_tag(std::string_view name);
  Result<std::vector<std::string>> tags_of(const Digest& manifest);

  // ---- layer records -------------------------------------------------------------------

  /// Remember that `layer.blob` holds the layer `layer.diff_id` compressed with
  /// `layer.compression`. The blob must be stored. Replaces a record for the same blob.
  Status put_layer(const LayerRecord& layer);
  Result<std::optional<LayerRecord>> find_layer(const Digest& diff_id, std::string_view compression);
  Result<std::vector<LayerRecord>> layers_of(const Digest& diff_id);
  Result<std::optional<LayerRecord>> find_layer_by_blob(const Digest& blob);

  // ---- snapshots -------------------------------------------------------------------------

  /// A new empty staging directory (in the session dir) to unpack or copy a tree into.
  Result<fs::path> begin_snapshot();
  /// Move a complete staging tree to snapshots/<name> and insert its row. If a snapshot with
  /// this id exists already (built concurrently), the staging tree is discarded and the
  /// existing record returned, touched. `parent`, if set, must exist.
  Result<SnapshotRecord> commit_snapshot(const fs::path& staging, SnapshotRecord record);
  Result<std::optional<SnapshotRecord>> get_snapshot(std::string_view id);
  /// Directory of a snapshot (it may not exist).
  fs::path snapshot_path(std::string_view id) const;
  /// Set last_used (to `when`, or now when 0).
  Status touch_snapshot(std::string_view id, int64_t when = 0);
  Result<std::vector<SnapshotRecord>> list_snapshots();
  /// Remove a snapshot: refused (ExitCode::failure) while other snapshots have it as parent;
  /// cache entries that reference it are removed in the same transaction; then the directory.
  /// Takes a lease (so it waits while prune() or check() runs).
  Status remove_snapshot(std::string_view id);

  // ---- build-cache index ---------------------------------------------------------------

  /// Insert or replace a cache entry and its references (which must exist) atomically.
  Status put_cache(const CacheRecord& record);
  /// Look up an entry (does not touch it).
  Result<std::optional<CacheRecord>> get_cache(std::string_view key);
  Status touch_cache(std::string_view key, int64_t when = 0);
  /// All entries, least recently used first.
  Result<std::vector<CacheRecord>> list_cache();
  Result<bool> remove_cache(std::string_view key);

  // ---- cache mounts ----------------------------------------------------------------------

  /// The directory for cache mount `id`, created (mode 0755, empty) and recorded on first
  /// use; touches last_used. Callers serialize `sharing=locked` with lock().
  Result<CacheMountRecord> cache_mount(std::string_view id);
  Result<std::vector<CacheMountRecord>> list_cache_mounts();
  Status set_cache_mount_size(std::string_view id, uint64_t size);
  /// Remove the record, then the directory (under a lease). False if unknown.
  Result<bool> remove_cache_mount(std::string_view id);

  // ---- maintenance hooks -----------------------------------------------------------------

  void set_tree_remover(TreeRemover remover);
  /// Remove a tree with the installed remover.
  Status remove_tree(const fs::path& path) const;

  struct Impl;  ///< private; shared with the store's own source files
  Impl& impl() const { return *m_impl; }

 private:
  explicit Store(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> m_impl;
};

/// Unix time in seconds (the store's clock for created/last_used).
int64_t now_seconds();

}  // namespace cbuild::store
