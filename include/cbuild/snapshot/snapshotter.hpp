#pragma once
/// Snapshots: the root filesystems of build steps and the layers they produce.
///
/// Every snapshot is one layer in overlay upperdir form (tree.hpp) in the store's
/// snapshots/<id>/, where id is the OCI chain id of the layer stack; its record's parent is
/// the snapshot below. `info` (version 1) is `{"format":"overlay-upper-v1"}`, or
/// `{"format":"overlay-upper-v1","flat":true}` for a flattened stack "flat-<chain hex>",
/// which holds the merged tree of a whole chain (files hardlinked from its layers) and stands
/// in for it when a chain is deeper than an overlay mount can take (lowerdir option length or
/// depth): chains are cut at multiples of half the limit, so one flattening serves many steps.
///
/// A snapshot may be stacked on a `base` (its record's): a COPY re-run that took most files
/// from the previous result keeps in its directory only what it copied again and the
/// directories, and shows the other files from that result's directory, stacked below it as
/// one more overlay lower directory (layer::PendingFiles::derived says which). Its layer is
/// that of the stack. A base is never stacked itself, and stays while anything stacks on it.
///
/// Two snapshotters give identical layers for the same step:
///  - overlay: lowerdirs = the parent chain, a fresh upperdir; commit = the upperdir.
///  - native: a copy of the merged parent chain; commit = its diff against a record taken
///    before the step, written in upperdir form.
/// All tree work runs inside the build user namespace (executor::run_in_userns).
#include "cbuild/executor/spec.hpp"
#include "cbuild/layer/writer.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/util/result.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::snapshot {

namespace fs = std::filesystem;

enum class Kind { overlay, native };

std::string_view kind_name(Kind kind);

/// "overlay" | "native" | "auto" → nullopt for auto.
Result<std::optional<Kind>> parse_kind(std::string_view text);

/// The snapshotter to use: `requested`, or for auto overlay when a test mount inside a user
/// namespace works under `scratch` (cached per process), else native with `notice` set to a
/// one-line explanation for the user. A working overlay is recorded in `remembered` (when
/// given) with the kernel, user and filesystem it worked on; while those stay the same, no
/// later process probes again (the probe's namespace teardown costs ~50 ms).
Kind choose_kind(std::optional<Kind> requested, const fs::path& scratch, std::string* notice,
                 const fs::path& remembered = {});

/// A step's root filesystem. Owns its scratch directory, removed (from inside the user
/// namespace when needed) on destruction; a committed upper/diff has moved into the store.
class Active {
 public:
  Active(Active&&) noexcept = default;
  Active& operator=(Active&&) noexcept = default;
  ~Active();

  const executor::RootfsSource& rootfs() const { return m_rootfs; }
  const std::string& parent() const { return m_parent; }

 private:
  friend class Snapshotter;
  Active() = default;
  executor::RootfsSource m_rootfs;
  std::string m_parent;
  fs::path m_scratch;
  std::vector<fs::path> m_lowers;
  const executor::IdMap* m_map = nullptr;
};

/// What a commit measured besides the diffID.
struct CommitInfo {
  /// The layer's content digest (layer::LayerIdentity): equal for two runs of a step that
  /// wrote the same content at different times (the builder's early cutoff compares it).
  Digest content;
  uint64_t tar_size = 0;  ///< bytes of the uncompressed layer tar
  uint64_t entries = 0;   ///< tar entries (0: the step changed nothing)
};

/// Files of a COPY re-run taken from the previous result (snapshot `previous`, in whose
/// directory the `from` directories of `dirs` lie). The commit stacks the new snapshot on
/// that result instead of linking them, where the stack shows exactly the step's files;
/// otherwise it links them into the upper directory on a second thread while it writes
/// the layer (see layer::PendingFiles). `link`, run in the commit's user namespace, makes
/// the links of the directories it is given and restores their directories' times.
struct CommitLinks {
  std::vector<layer::LinkedDir> dirs;
  std::string previous;
  std::function<Status(const std::vector<layer::LinkedDir>&)> link;
};

class Snapshotter {
 public:
  /// `map`: the build user namespace (default executor::host_id_map()). Installs a tree
  /// remover in the store that works on mapped trees.
  Snapshotter(store::Store& store, Kind kind, const executor::IdMap* map = nullptr);
  /// The same with the kind decided by `resolve` when a root is first prepared: a build
  /// whose steps all hit never probes overlayfs (nor creates its user namespace).
  Snapshotter(store::Store& store, std::function<Kind()> resolve, const executor::IdMap* map = nullptr);

  Kind kind();
  /// Depth limit before flattening (0: computed from the overlay option length).
  void set_max_lowers(size_t n) { m_max_lowers = n; }

  /// Unpack the layer tar (any compression) at `archive`, whose diffID must be `diff_id`, on
  /// top of snapshot `parent` ("" for a base layer) — once: an existing snapshot is reused.
  /// Returns the snapshot id.
  Result<std::string> unpack(const std::string& parent, const fs::path& archive,
                             const Digest& diff_id);

  /// A fresh root over snapshot `parent` ("" for an empty root).
  Result<Active> prepare(const std::string& parent);

  /// Turn what the step changed into a snapshot on top of the parent: cbuild's mount points
  /// (`created`, from ExecResult) are removed first; mtimes are clamped to `clamp_mtime` in
  /// the diffID (SOURCE_DATE_EPOCH). Returns the stored record (id = chain id).
  /// `info`, when given, receives the content digest and tar size (one more hash pass).
  /// `links` (overlay only): files linked in as the layer is written.
  Result<store::SnapshotRecord> commit(Active& active,
                                       const std::vector<executor::CreatedPath>& created,
                                       std::optional<int64_t> clamp_mtime = std::nullopt,
                                       CommitInfo* info = nullptr, const CommitLinks* links = nullptr);

  /// One directory holding the merged tree of snapshot `id` (read-only use: bind mounts
  /// from a stage): the snapshot itself for a base layer, else its flattened chain.
  Result<fs::path> merged_view(const std::string& id);

  /// The directories to stack for `id` (topmost first), flattening deep chains.
  Result<std::vector<fs::path>> lowerdirs(const std::string& id);

  /// Write the layer of snapshot `id` (a tar, compressed as `options.compression` says) to
  /// `out`, reading the tree inside the build user namespace; `options.kind` is forced to
  /// overlay_upper and `options.ids` to identity (the namespace shows container ids).
  /// Without `options.clamp_mtime`, mtimes are clamped as when the snapshot was committed.
  Result<layer::LayerDigests> write_layer(const std::string& id, layer::WriteOptions options,
                                          layer::ByteSink& out);
  /// The same for any directory of mapped files (a cache mount), written as `options.kind`.
  Result<layer::LayerDigests> write_tree(const fs::path& tree, layer::WriteOptions options,
                                         layer::ByteSink& out);

  /// Snapshot ids from `id` down to its base.
  Result<std::vector<std::string>> chain(const std::string& id);

 private:
  /// Records from `id` down to the bottom layer.
  Result<std::vector<store::SnapshotRecord>> chain_records(const std::string& id);
  /// The directories of `record`, topmost first: its own, and its base's when stacked.
  std::vector<fs::path> dirs_of(const store::SnapshotRecord& record) const;
  /// `bottom` (topmost first) merged into one directory.
  Result<fs::path> flattened(const std::vector<store::SnapshotRecord>& bottom);
  /// write_tree of a snapshot's directory, with the files its base shows when `base` is set.
  Result<layer::LayerDigests> write_dir(const fs::path& tree, const fs::path& base, layer::WriteOptions options,
                                        layer::ByteSink& out);
  Result<Active> prepare_overlay(const std::string& parent, Active active);
  Result<Active> prepare_native(const std::string& parent, Active active);
  /// `clamp_mtime`: the SOURCE_DATE_EPOCH the diffID was computed with, kept in the record
  /// so that write_layer gives the same tar.
  Result<store::SnapshotRecord> store_layer(const fs::path& tree, const std::string& parent,
                                            const Digest& diff_id, uint64_t size = 0,
                                            std::optional<int64_t> clamp_mtime = std::nullopt,
                                            const std::string& base = "");

  store::Store& m_store;
  std::optional<Kind> m_kind;
  std::function<Kind()> m_resolve;
  std::once_flag m_resolved;
  const executor::IdMap* m_map;
  size_t m_max_lowers = 0;
};

}  // namespace cbuild::snapshot
