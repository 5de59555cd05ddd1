#include "cbuild/export/images.hpp"

#include <algorithm>
#include <set>

#include "cbuild/image/media_types.hpp"

namespace cbuild::exporter {
namespace {

namespace media = image::media;

bool is_hex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Error no_such_image(std::string_view text) {
  return make_error(ExitCode::not_found, "no such image: `{}`", text);
}

/// `sha256:<64 hex>` or 64 hex → a digest.
std::optional<Digest> as_full_id(std::string_view text) {
  if (text.starts_with("sha256:")) text.remove_prefix(7);
  if (!image::is_full_identifier(text)) return std::nullopt;
  auto d = Digest::parse("sha256:" + std::string(text));
  return d ? std::optional<Digest>(*d) : std::nullopt;
}

Result<std::optional<store::ImageRecord>> find_by_id_prefix(store::Store& store, std::string_view text) {
  if (text.starts_with("sha256:")) text.remove_prefix(7);
  if (!is_hex(text)) return std::optional<store::ImageRecord>();
  auto images = TRY(store.list_images());
  std::optional<store::ImageRecord> found;
  for (const store::ImageRecord& r : images) {
    if (r.config.empty() || !r.config.hex().starts_with(text)) continue;
    if (found && found->config != r.config) {
      return make_error(ExitCode::bad_input, "image ID prefix `{}` is ambiguous", text);
    }
    if (!found) found = r;
  }
  return found;
}

Result<std::optional<store::ImageRecord>> find_record(store::Store& store, std::string_view text) {
  if (auto id = as_full_id(text)) {
    auto records = TRY(records_with_id(store, *id));
    if (!records.empty()) return std::optional(records.front());
    return store.get_image(*id);  // a manifest digest works too
  }
  if (auto ref = image::parse_normalized(text); ref.ok()) {
    if (ref->has_digest()) {
      auto digest = TRY(Digest::parse(ref->digest));
      return store.get_image(digest);
    }
    if (!ref->has_tag()) ref->tag = image::k_default_tag;
    auto tag = TRY(store.get_tag(ref->str()));
    if (tag) return std::optional(tag->image);
  }
  return find_by_id_prefix(store, text);
}

std::string manifest_type_or_oci(const std::string& media_type) {
  return media_type.empty() ? std::string(media::k_oci_manifest) : media_type;
}

/// An index record: its entry whose manifest names the record's config.
Status select_from_index(store::Store& store, LocalImage& out) {
  out.index_bytes = TRY(store.read_blob(out.record.manifest));
  auto index = image::Index::parse(out.index_bytes);
  if (!index) return std::move(index).error().wrap("read index {}", out.record.manifest.str());
  for (const image::Descriptor& d : index->manifests) {
    if (!store.has_blob(d.digest)) continue;
    auto child = image::Manifest::parse(TRY(store.read_blob(d.digest)));
    if (!child || child->config.digest != out.record.config) continue;
    out.manifest_digest = d.digest;
    out.manifest_media_type = manifest_type_or_oci(d.media_type);
    return {};
  }
  return make_error(ExitCode::bad_input, "index {}: no stored manifest has the config {}", out.record.manifest.str(),
                    out.record.config.str());
}

Status remove_records(store::Store& store, const std::vector<store::ImageRecord>& records,
                      std::vector<std::string>& lines) {
  for (const store::ImageRecord& r : records) TRY(store.remove_image(r.manifest));
  lines.push_back("Deleted: " + (records.empty() ? std::string() : records.front().config.str()));
  return {};
}

Result<std::vector<std::string>> tags_with_id(store::Store& store, const Digest& id) {
  std::set<std::string> names;
  for (const store::ImageRecord& r : TRY(records_with_id(store, id))) {
    for (std::string& t : TRY(store.tags_of(r.manifest))) names.insert(std::move(t));
  }
  return std::vector<std::string>(names.begin(), names.end());
}

}  // namespace

std::string short_id(const Digest& digest) { return std::string(digest.hex().substr(0, 12)); }

std::string familiar(std::string_view full_name) {
  auto ref = image::parse_reference(full_name);
  return ref ? ref->familiar_str() : std::string(full_name);
}

Result<LocalImage> read_image(store::Store& store, const store::ImageRecord& record) {
  LocalImage out;
  out.record = record;
  out.manifest_digest = record.manifest;
  out.manifest_media_type = manifest_type_or_oci(record.media_type);
  if (media::is_index(record.media_type)) TRY(select_from_index(store, out));
  out.manifest_bytes = TRY(store.read_blob(out.manifest_digest));
  auto manifest = image::Manifest::parse(out.manifest_bytes);
  if (!manifest) return std::move(manifest).error().wrap("read manifest {}", out.manifest_digest.str());
  out.manifest = std::move(manifest).value();
  out.config_bytes = TRY(store.read_blob(out.manifest.config.digest));
  auto config = image::ImageConfig::parse(out.config_bytes);
  if (!config) return std::move(config).error().wrap("read config {}", out.manifest.config.digest.str());
  out.config = std::move(config).value();
  out.tags = TRY(store.tags_of(record.manifest));
  std::sort(out.tags.begin(), out.tags.end());
  return out;
}

Result<LocalImage> find_image(store::Store& store, std::string_view text) {
  auto record = TRY(find_record(store, text));
  if (!record) return no_such_image(text);
  return read_image(store, *record);
}

Result<std::vector<store::ImageRecord>> records_with_id(store::Store& store, const Digest& id) {
  std::vector<store::ImageRecord> out;
  for (store::ImageRecord& r : TRY(store.list_images())) {
    if (r.config == id) out.push_back(std::move(r));
  }
  return out;
}

std::string make_manifest(std::string_view config_bytes, const std::vector<image::Descriptor>& layers) {
  image::Manifest m;
  m.media_type = media::k_oci_manifest;
  m.config.media_type = media::k_oci_config;
  m.config.digest = Digest::of(config_bytes);
  m.config.size = static_cast<int64_t>(config_bytes.size());
  m.layers = layers;
  return m.serialize();
}

Result<store::ImageRecord> commit_manifest(store::Store& store, std::string_view manifest_bytes,
                                           std::string_view media_type, std::string_view config_bytes,
                                           const std::vector<store::LayerRecord>& layers, uint64_t size,
                                           const std::vector<std::string>& tags) {
  auto lease = TRY(store.lease());
  store::Descriptor config = TRY(store.put_blob(config_bytes));
  store::Descriptor manifest = TRY(store.put_blob(manifest_bytes));
  store::ImageRecord record{manifest.digest, config.digest, std::string(media_type), size,
                            store::now_seconds()};
  if (auto existing = TRY(store.get_image(manifest.digest))) {  // a rebuild: write only what changed
    bool tagged = true;
    for (const std::string& tag : tags) {
      auto current = TRY(store.get_tag(tag));
      tagged = tagged && current && current->image.manifest == manifest.digest;
    }
    if (tagged) return *existing;
  }
  TRY(store.transaction([&]() -> Status {
    for (const store::LayerRecord& layer : layers) TRY(store.put_layer(layer));
    TRY(store.put_image(record));
    for (const std::string& tag : tags) TRY(store.set_tag(tag, record));
    return {};
  }));
  return record;
}

Result<store::ImageRecord> commit_image(store::Store& store, std::string_view config_bytes,
                                        const std::vector<NewLayer>& layers, uint64_t size,
                                        const std::vector<std::string>& tags) {
  std::vector<image::Descriptor> descriptors;
  std::vector<store::LayerRecord> records;
  for (const NewLayer& layer : layers) {
    descriptors.push_back(layer.descriptor);
    if (layer.record) records.push_back(*layer.record);
  }
  return commit_manifest(store, make_manifest(config_bytes, descriptors), media::k_oci_manifest, config_bytes,
                         records, size, tags);
}

Result<std::vector<std::string>> remove_image(store::Store& store, std::string_view text, bool force) {
  std::vector<std::string> lines;
  // A name: untag it; the image goes with its last name.
  if (auto ref = image::parse_normalized(text); ref.ok() && !ref->has_digest()) {
    if (!ref->has_tag()) ref->tag = image::k_default_tag;
    if (auto tag = TRY(store.get_tag(ref->str()))) {
      const Digest id = tag->image.config;
      TRY(store.remove_tag(tag->name));
      lines.push_back("Untagged: " + ref->familiar_str());
      if (TRY(tags_with_id(store, id)).empty())
        TRY(remove_records(store, TRY(records_with_id(store, id)), lines));
      return lines;
    }
  }
  // An ID (or name@digest): delete the image and all its names.
  auto record = TRY(find_record(store, text));
  if (!record) return no_such_image(text);
  const Digest id = record->config;
  auto names = TRY(tags_with_id(store, id));
  if (names.size() > 1 && !force) {
    return make_error(
        ExitCode::failure,
        "conflict: unable to delete {} (must be forced) - image is referenced in multiple repositories",
        short_id(id));
  }
  for (const std::string& name : names) {
    TRY(store.remove_tag(name));
    lines.push_back("Untagged: " + familiar(name));
  }
  TRY(remove_records(store, TRY(records_with_id(store, id)), lines));
  return lines;
}

}  // namespace cbuild::exporter
