// Store consistency check.
#include "cbuild/store/gc.hpp"

#include "impl.hpp"
#include "reach.hpp"

#include <unordered_set>

namespace cbuild::store {

namespace {

using detail::Inventory;

void check_database(Store::Impl& impl, CheckReport& report) {
  std::lock_guard lock(impl.mu);
  auto q = impl.db.query("PRAGMA quick_check");
  if (!q.ok()) {
    report.problems.push_back(q.error().message);
    return;
  }
  while (true) {
    auto row = q->step();
    if (!row.ok() || !*row) break;
    if (q->text(0) != "ok") report.problems.push_back("database: " + q->text(0));
  }
  auto tags = impl.db.query("SELECT t.name, t.manifest FROM tags t LEFT JOIN images i ON i.manifest = t.manifest "
                            "WHERE i.manifest IS NULL");
  if (!tags.ok()) return report.problems.push_back(tags.error().message);
  while (tags->step().value_or(false))
    report.problems.push_back(fmt::format("tag `{}` names unknown image {}", tags->text(0), tags->text(1)));
}

void check_blob_files(Store& store, bool verify, CheckReport& report) {
  std::error_code ec;
  const fs::path dir = store.impl().blobs_dir();
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    auto digest = Digest::parse("sha256:" + name);
    if (!digest.ok() || !entry.is_regular_file()) {
      report.problems.push_back(fmt::format("stray file `{}` in the blob store", entry.path().string()));
      continue;
    }
    ++report.blobs;
    if (!verify) continue;
    if (auto st = store.verify_blob(*digest); !st.ok()) report.problems.push_back(st.error().message);
  }
  if (ec) report.problems.push_back(fmt::format("list `{}`: {}", dir.string(), ec.message()));
}

void check_images(Store& store, const Inventory& inv, CheckReport& report) {
  report.images = inv.images.size();
  report.tags = inv.tagged.size();
  for (const auto& image : inv.images) {
    const std::string& m = image.manifest.str();
    if (!inv.blobs.count(m)) {
      report.problems.push_back(fmt::format("image {}: manifest blob missing", m));
      continue;
    }
    if (!image.config.empty() && !inv.blobs.count(image.config.str()))
      report.problems.push_back(fmt::format("image {}: config blob {} missing", m, image.config.str()));
    auto refs = detail::image_refs(store, image.manifest);
    for (const auto& p : refs.problems) report.problems.push_back(fmt::format("image {}: {}", m, p));
    for (const auto& c : refs.configs)
      if (!inv.blobs.count(c.str())) report.problems.push_back(fmt::format("image {}: config blob {} missing", m, c.str()));
    // A layer blob may be absent when the layer is present unpacked (built locally, compressed lazily).
    std::unordered_set<std::string> unpacked_diffs;
    for (const auto& chain : refs.chains)
      for (size_t i = 0; i < chain.size(); ++i)
        if (auto it = inv.snapshots.find(chain[i].str()); it != inv.snapshots.end())
          unpacked_diffs.insert(it->second.diff_id.str());
    for (const auto& layer : refs.layers) {
      if (inv.blobs.count(layer.str())) continue;
      bool unpacked = false;
      for (const auto& rec : inv.layers)
        if (rec.blob.digest == layer && unpacked_diffs.count(rec.diff_id.str())) unpacked = true;
      if (!unpacked && refs.layers.size() == refs.diff_ids.size()) {
        size_t i = static_cast<size_t>(&layer - refs.layers.data());
        unpacked = unpacked_diffs.count(refs.diff_ids[i].str()) > 0;
      }
      if (!unpacked) report.problems.push_back(fmt::format("image {}: layer blob {} missing", m, layer.str()));
    }
    for (const auto& child : refs.missing_children)
      report.notes.push_back(fmt::format("image {}: index entry {} not stored (other platform)", m, child.str()));
  }
}

void check_rows(Store& store, const Inventory& inv, CheckReport& report) {
  report.layer_records = inv.layers.size();
  for (const auto& layer : inv.layers)
    if (!inv.blobs.count(layer.blob.digest.str()))
      report.problems.push_back(fmt::format("layer record {} ({}): blob {} missing", layer.diff_id.str(),
                                            layer.compression, layer.blob.digest.str()));
  report.snapshots = inv.snapshots.size();
  for (const auto& [id, snap] : inv.snapshots) {
    std::error_code ec;
    if (!fs::is_directory(store.snapshot_path(id), ec))
      report.problems.push_back(fmt::format("snapshot `{}`: directory `{}` missing", id, store.snapshot_path(id).string()));
    if (!snap.parent.empty() && !inv.snapshots.count(snap.parent))
      report.problems.push_back(fmt::format("snapshot `{}`: parent `{}` missing", id, snap.parent));
    if (!snap.base.empty() && !inv.snapshots.count(snap.base))
      report.problems.push_back(fmt::format("snapshot `{}`: base `{}` missing", id, snap.base));
  }
  report.cache_entries = inv.cache.size();
  for (const auto& record : inv.cache) {
    for (const auto& id : record.snapshots)
      if (!inv.snapshots.count(id))
        report.problems.push_back(fmt::format("cache entry `{}`: snapshot `{}` missing", record.key, id));
    for (const auto& blob : record.blobs)
      if (!inv.blobs.count(blob.str()))
        report.problems.push_back(fmt::format("cache entry `{}`: blob {} missing", record.key, blob.str()));
  }
  auto mounts = store.list_cache_mounts();
  if (!mounts.ok()) return report.problems.push_back(mounts.error().message);
  for (const auto& mount : *mounts) {
    std::error_code ec;
    if (!fs::is_directory(mount.path, ec))
      report.problems.push_back(fmt::format("cache mount `{}`: directory `{}` missing", mount.id, mount.path));
  }
}

void note_garbage(Store& store, const Inventory& inv, CheckReport& report) {
  std::unordered_set<std::string> known;
  for (const auto& [id, snap] : inv.snapshots)
    if (auto name = snapshot_dir_name(id); name.ok()) known.insert(*name);
  std::error_code ec;
  uint64_t orphans = 0;
  for (const auto& entry : fs::directory_iterator(store.impl().snapshots_dir(), ec))
    if (!known.count(entry.path().filename().string())) ++orphans;
  if (orphans) report.notes.push_back(fmt::format("{} snapshot directories without a record (prune removes them)", orphans));
}

}  // namespace

Result<CheckReport> check(Store& store, bool verify_digests, std::chrono::milliseconds lock_timeout) {
  FileLock gc = TRY(FileLock::acquire(store.impl().gc_lock_path(), LockMode::exclusive, lock_timeout));
  CheckReport report;
  check_database(store.impl(), report);
  check_blob_files(store, verify_digests, report);  // first: corrupt blobs are removed, then seen as missing
  Inventory inv = TRY(detail::load_inventory(store));
  check_images(store, inv, report);
  check_rows(store, inv, report);
  note_garbage(store, inv, report);
  return report;
}

}  // namespace cbuild::store
