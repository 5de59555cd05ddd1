// prune and disk usage.
#include "cbuild/store/gc.hpp"

#include "impl.hpp"
#include "reach.hpp"

#include <sys/stat.h>

#include <unordered_set>

namespace cbuild::store {

namespace {

using detail::Inventory;
using detail::Reach;

Reach image_reach(Store& store, const Inventory& inv, bool tagged_only) {
  Reach reach;
  for (const auto& image : inv.images)
    if (!tagged_only || inv.tagged.count(image.manifest.str())) detail::mark_image(store, inv, image.manifest, reach);
  detail::close_reach(inv, reach);
  return reach;
}

// Objects (prefixed "b:" blob, "s:" snapshot) an entry keeps that images do not keep.
std::vector<std::string> cache_only_objects(const Inventory& inv, const CacheRecord& record, const Reach& images) {
  Reach reach;
  detail::mark_cache(inv, record, reach);
  detail::close_reach(inv, reach);
  std::vector<std::string> out;
  for (const auto& b : reach.blobs)
    if (!images.has_blob(b) && inv.blobs.count(b)) out.push_back("b:" + b);
  for (const auto& s : reach.snapshots)
    if (!images.has_snapshot(s) && inv.snapshots.count(s)) out.push_back("s:" + s);
  return out;
}

uint64_t object_size(const Inventory& inv, const std::string& object) {
  std::string name = object.substr(2);
  if (object[0] == 'b') return inv.blobs.at(name);
  return inv.snapshots.at(name).size;
}

// Keys of the least recently used entries to evict so that the build cache fits `keep`.
std::vector<std::string> entries_to_evict(const Inventory& inv, const Reach& images, uint64_t keep) {
  std::map<std::string, int> refcount;
  std::vector<std::vector<std::string>> objects;
  uint64_t total = 0;
  for (const auto& record : inv.cache) {
    objects.push_back(cache_only_objects(inv, record, images));
    for (const auto& o : objects.back())
      if (refcount[o]++ == 0) total += object_size(inv, o);
  }
  std::vector<std::string> evict;
  for (size_t i = 0; i < inv.cache.size() && total > keep; ++i) {  // inv.cache is LRU first
    evict.push_back(inv.cache[i].key);
    for (const auto& o : objects[i])
      if (--refcount[o] == 0) total -= object_size(inv, o);
  }
  return evict;
}

Status drop_cache_and_images(Store& store, const Inventory& inv, const std::vector<std::string>& evict,
                             bool dangling, PruneReport& report) {
  return store.transaction([&]() -> Status {
    for (const auto& key : evict)
      if (TRY(store.remove_cache(key))) ++report.cache_entries;
    if (dangling)
      for (const auto& image : inv.images)
        if (!inv.tagged.count(image.manifest.str()) && TRY(store.remove_image(image.manifest))) ++report.images;
    return {};
  });
}

// Delete the rows of unreachable layer records and snapshots (children first), in one transaction.
Status drop_rows(Store::Impl& impl, const Inventory& inv, const Reach& keep, std::vector<std::string>& dead_snapshots,
                 PruneReport& report) {
  return impl.write([&]() -> Status {
    for (const auto& layer : inv.layers) {
      if (keep.has_blob(layer.blob.digest.str())) continue;
      auto q = TRY(impl.db.query("DELETE FROM layers WHERE blob = ?"));
      TRY(q.bind(layer.blob.digest.str()).run());
      report.layer_records += static_cast<uint64_t>(q.changes());
    }
    for (const auto& [id, snap] : inv.snapshots) {
      if (keep.has_snapshot(id)) continue;
      // Entries referencing it are all evicted (else it would be kept); parents of kept
      // snapshots are kept, so no kept row loses its parent.
      auto q = TRY(impl.db.query("DELETE FROM snapshots WHERE id = ?"));
      TRY(q.bind(id).run());
      dead_snapshots.push_back(id);
      report.snapshots += 1;
      report.bytes_freed += snap.size;
    }
    return {};
  });
}

Status remove_files(Store& store, const Inventory& inv, const Reach& keep, const std::vector<std::string>& dead,
                    PruneReport& report) {
  auto& impl = store.impl();
  for (const auto& id : dead) TRY(impl.discard(store.snapshot_path(id)));
  // Snapshot directories without a row: left by a crash between rename and insert.
  std::unordered_set<std::string> known;
  for (const auto& [id, snap] : inv.snapshots)
    if (auto name = snapshot_dir_name(id); name.ok()) known.insert(*name);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(impl.snapshots_dir(), ec)) {
    if (known.count(entry.path().filename().string())) continue;
    TRY(impl.discard(entry.path()));
    ++report.orphan_dirs;
  }
  for (const auto& [digest, size] : inv.blobs) {
    if (keep.has_blob(digest)) continue;
    auto d = Digest::parse(digest);
    if (!d.ok() || ::unlink(store.blob_path(*d).c_str()) != 0) continue;
    ++report.blobs;
    report.bytes_freed += size;
  }
  return {};
}

uint64_t tree_bytes(const fs::path& root, uint64_t* entries = nullptr) {
  uint64_t total = 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (::lstat(it->path().c_str(), &st) != 0) continue;
    if (entries) ++*entries;
    if (!S_ISREG(st.st_mode) || (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second)) continue;
    total += static_cast<uint64_t>(st.st_size);
  }
  return total;
}

}  // namespace

Result<PruneReport> prune(Store& store, const PruneOptions& options) {
  auto& impl = store.impl();
  FileLock gc = TRY(FileLock::acquire(impl.gc_lock_path(), LockMode::exclusive, options.lock_timeout));
  PruneReport report;
  {
    Inventory inv = TRY(detail::load_inventory(store));
    std::vector<std::string> evict;
    if (options.all) {
      for (const auto& record : inv.cache) evict.push_back(record.key);
    } else if (options.keep_storage) {
      evict = entries_to_evict(inv, image_reach(store, inv, options.dangling_images), *options.keep_storage);
    }
    TRY(drop_cache_and_images(store, inv, evict, options.dangling_images, report));
  }
  Inventory inv = TRY(detail::load_inventory(store));
  Reach keep = image_reach(store, inv, false);
  for (const auto& record : inv.cache) detail::mark_cache(inv, record, keep);
  detail::close_reach(inv, keep);
  std::vector<std::string> dead;
  TRY(drop_rows(impl, inv, keep, dead, report));
  TRY(remove_files(store, inv, keep, dead, report));
  if (options.cache_mounts) {
    for (const auto& mount : TRY(store.list_cache_mounts())) {
      uint64_t bytes = tree_bytes(mount.path);
      if (!TRY(remove_cache_mount_unleased(impl, mount.id))) continue;
      ++report.cache_mounts;
      report.bytes_freed += bytes;
    }
  }
  impl.clean_dead_sessions();
  return report;
}

Result<std::vector<UsageEntry>> disk_usage(Store& store) {
  auto& impl = store.impl();
  Inventory inv = TRY(detail::load_inventory(store));
  Reach all_images = image_reach(store, inv, false);
  Reach tagged = image_reach(store, inv, true);
  Reach cache;
  for (const auto& record : inv.cache) detail::mark_cache(inv, record, cache);
  detail::close_reach(inv, cache);

  std::vector<UsageEntry> out;
  UsageEntry images{"images", inv.images.size(), 0, 0}, layers{"layers", 0, 0, 0};
  UsageEntry build{"build cache", inv.cache.size(), 0, 0}, loose{"unreferenced", 0, 0, 0};
  for (const auto& [digest, size] : inv.blobs) {
    if (all_images.has_blob(digest)) {
      images.bytes += size;
      if (!tagged.has_blob(digest)) images.reclaimable += size;
    } else if (cache.has_blob(digest)) {
      build.bytes += size;
    } else {
      ++loose.count;
      loose.bytes += size;
    }
  }
  for (const auto& [id, snap] : inv.snapshots) {
    if (all_images.has_snapshot(id)) {
      ++layers.count;
      layers.bytes += snap.size;
      if (!tagged.has_snapshot(id)) layers.reclaimable += snap.size;
    } else if (cache.has_snapshot(id)) {
      build.bytes += snap.size;
    } else {
      ++loose.count;
      loose.bytes += snap.size;
    }
  }
  build.reclaimable = build.bytes;
  loose.reclaimable = loose.bytes;
  UsageEntry mounts{"cache mounts", 0, 0, 0};
  for (const auto& mount : TRY(store.list_cache_mounts())) {
    ++mounts.count;
    mounts.bytes += tree_bytes(mount.path);
  }
  mounts.reclaimable = mounts.bytes;
  UsageEntry temp{"temporary", 0, 0, 0};
  temp.bytes = tree_bytes(impl.tmp_dir(), &temp.count);
  out = {images, layers, build, loose, mounts, temp};
  return out;
}

}  // namespace cbuild::store
