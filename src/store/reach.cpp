#include "reach.hpp"

#include "impl.hpp"

#include <nlohmann/json.hpp>

namespace cbuild::store::detail {

namespace {

using nlohmann::json;

std::optional<Digest> digest_field(const json& object) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find("digest");
  if (it == object.end() || !it->is_string()) return std::nullopt;
  auto d = Digest::parse(it->get<std::string>());
  return d.ok() ? std::optional<Digest>(*d) : std::nullopt;
}

Result<json> read_json(Store& store, const Digest& digest) {
  auto text = TRY(store.read_blob(digest));
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    return make_error(ExitCode::bad_input, "parse blob {}: {}", digest.str(), e.what());
  }
}

void add_config(Store& store, const Digest& config, ImageRefs& refs) {
  refs.configs.push_back(config);
  auto doc = read_json(store, config);
  if (!doc.ok()) {
    refs.problems.push_back(doc.error().message);
    return;
  }
  std::vector<Digest> diffs;
  const json& ids = (*doc)["rootfs"]["diff_ids"];
  if (ids.is_array())
    for (const auto& id : ids)
      if (id.is_string())
        if (auto d = Digest::parse(id.get<std::string>()); d.ok()) diffs.push_back(*d);
  refs.diff_ids.insert(refs.diff_ids.end(), diffs.begin(), diffs.end());
  refs.chains.push_back(chain_ids(diffs));
}

void add_manifest(Store& store, const Digest& manifest, ImageRefs& refs, int depth) {
  refs.manifests.push_back(manifest);
  auto doc = read_json(store, manifest);
  if (!doc.ok()) {
    refs.problems.push_back(doc.error().message);
    return;
  }
  if (auto it = doc->find("manifests"); it != doc->end() && it->is_array() && depth < 8) {
    for (const auto& child : *it) {
      auto d = digest_field(child);
      if (!d) continue;
      if (store.has_blob(*d)) add_manifest(store, *d, refs, depth + 1);
      else refs.missing_children.push_back(*d);
    }
  }
  if (auto it = doc->find("config"); it != doc->end())
    if (auto d = digest_field(*it)) add_config(store, *d, refs);
  if (auto it = doc->find("layers"); it != doc->end() && it->is_array())
    for (const auto& layer : *it)
      if (auto d = digest_field(layer)) refs.layers.push_back(*d);
}

}  // namespace

uint64_t Reach::bytes(const Inventory& inv) const {
  uint64_t total = 0;
  for (const auto& b : blobs)
    if (auto it = inv.blobs.find(b); it != inv.blobs.end()) total += it->second;
  for (const auto& s : snapshots)
    if (auto it = inv.snapshots.find(s); it != inv.snapshots.end()) total += it->second.size;
  return total;
}

Result<Inventory> load_inventory(Store& store) {
  Inventory inv;
  inv.images = TRY(store.list_images());
  for (const auto& tag : TRY(store.list_tags())) inv.tagged.insert(tag.image.manifest.str());
  for (auto& snap : TRY(store.list_snapshots())) inv.snapshots.emplace(snap.id, std::move(snap));
  inv.cache = TRY(store.list_cache());
  {
    auto& impl = store.impl();
    std::lock_guard lock(impl.mu);
    auto q = TRY(impl.db.query("SELECT blob, diff_id, compression, media_type, size FROM layers ORDER BY blob"));
    while (TRY(q.step())) {
      auto blob = Digest::parse(q.text(0));
      auto diff = Digest::parse(q.text(1));
      if (blob.ok() && diff.ok()) inv.layers.push_back(LayerRecord{*diff, q.text(2), q.text(3), {*blob, q.u64(4)}});
    }
  }
  for (const auto& blob : TRY(store.list_blobs())) inv.blobs.emplace(blob.digest.str(), blob.size);
  return inv;
}

ImageRefs image_refs(Store& store, const Digest& manifest) {
  ImageRefs refs;
  add_manifest(store, manifest, refs, 0);
  return refs;
}

void mark_image(Store& store, const Inventory& inv, const Digest& manifest, Reach& reach) {
  ImageRefs refs = image_refs(store, manifest);
  for (const auto* list : {&refs.manifests, &refs.configs, &refs.layers})
    for (const auto& d : *list) reach.blobs.insert(d.str());
  for (const auto& d : refs.diff_ids) reach.diff_ids.insert(d.str());
  for (const auto& chain : refs.chains)
    for (const auto& id : chain)
      if (inv.snapshots.count(id.str())) reach.snapshots.insert(id.str());
}

void mark_cache(const Inventory& inv, const CacheRecord& record, Reach& reach) {
  for (const auto& id : record.snapshots)
    if (inv.snapshots.count(id)) reach.snapshots.insert(id);
  for (const auto& blob : record.blobs) reach.blobs.insert(blob.str());
}

void close_reach(const Inventory& inv, Reach& reach) {
  std::vector<std::string> todo(reach.snapshots.begin(), reach.snapshots.end());
  while (!todo.empty()) {
    auto it = inv.snapshots.find(todo.back());
    todo.pop_back();
    if (it == inv.snapshots.end()) continue;
    reach.diff_ids.insert(it->second.diff_id.str());
    for (const std::string* next : {&it->second.parent, &it->second.base})
      if (!next->empty() && reach.snapshots.insert(*next).second) todo.push_back(*next);
  }
  for (const auto& layer : inv.layers)
    if (reach.diff_ids.count(layer.diff_id.str())) reach.blobs.insert(layer.blob.digest.str());
}

}  // namespace cbuild::store::detail
