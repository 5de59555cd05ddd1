#include "cbuild/export/save.hpp"

#include <map>
#include <set>

#include "archive_output.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/image/manifest.hpp"

namespace cbuild::exporter {
namespace {

namespace media = image::media;
using image::Json;

/// One image as it goes into the archive.
struct SavedImage {
  LocalImage image;
  std::optional<image::Reference> name;  ///< nullopt when saved by ID
  std::string manifest_bytes;            ///< the stored one, or a new one over new blobs
  Digest manifest_digest;
  std::string manifest_media_type;
  std::vector<image::Descriptor> layers;
};

std::string blob_path(const Digest& d) { return "blobs/sha256/" + std::string(d.hex()); }

bool docker_reads(media::Compression c) { return c != media::Compression::zstd; }

/// Picks the layer blobs: the stored ones when they fit, else lazily compressed ones.
Status plan_layers(store::Store& store, SavedImage& saved, const SaveOptions& options) {
  const LocalImage& img = saved.image;
  if (img.manifest.layers.size() != img.config.diff_ids.size()) {
    return make_error("image {}: manifest has {} layers, config {} diff_ids", short_id(img.id()),
                      img.manifest.layers.size(), img.config.diff_ids.size());
  }
  bool changed = false;
  for (size_t i = 0; i < img.manifest.layers.size(); ++i) {
    const image::Descriptor& stored = img.manifest.layers[i];
    auto stored_compression = media::layer_compression(stored.media_type);
    bool fits =
        stored_compression && store.has_blob(stored.digest) &&
        (options.compression ? *options.compression == *stored_compression
                             : options.format != ArchiveFormat::docker || docker_reads(*stored_compression));
    if (fits) {
      saved.layers.push_back(stored);
      continue;
    }
    media::Compression want = options.compression.value_or(media::Compression::gzip);
    store::LayerRecord record =
        TRY(ensure_layer_blob(store, img.config.diff_ids[i], want, options.layer_source));
    image::Descriptor d;
    d.media_type = media::oci_layer_type(want);
    d.digest = record.blob.digest;
    d.size = static_cast<int64_t>(record.blob.size);
    saved.layers.push_back(d);
    changed = true;
  }
  if (changed) {
    saved.manifest_bytes = make_manifest(img.config_bytes, saved.layers);
    saved.manifest_media_type = media::k_oci_manifest;
  } else {
    saved.manifest_bytes = img.manifest_bytes;
    saved.manifest_media_type = img.manifest_media_type;
  }
  saved.manifest_digest = Digest::of(saved.manifest_bytes);
  return {};
}

Result<SavedImage> resolve(store::Store& store, std::string_view text) {
  SavedImage saved{TRY(find_image(store, text)), std::nullopt, {}, {}, {}, {}};
  auto ref = image::parse_normalized(text);
  // A name that resolved through the tag table names the image; an ID or ID prefix does not.
  if (ref && !ref->has_digest()) {
    if (!ref->has_tag()) ref->tag = image::k_default_tag;
    auto tag = TRY(store.get_tag(ref->str()));
    if (tag && tag->image.config == saved.image.id()) saved.name = *ref;
  }
  return saved;
}

std::string index_json(const std::vector<SavedImage>& images) {
  image::Index index;
  index.media_type = media::k_oci_index;
  for (const SavedImage& s : images) {
    image::Descriptor d;
    d.media_type = s.manifest_media_type;
    d.digest = s.manifest_digest;
    d.size = static_cast<int64_t>(s.manifest_bytes.size());
    if (s.name) {
      d.annotations[std::string(media::k_annotation_image_name)] = s.name->str();
      d.annotations[std::string(media::k_annotation_ref_name)] = s.name->tag;
    }
    index.manifests.push_back(std::move(d));
  }
  return index.serialize();
}

/// docker's manifest.json and repositories, one entry per image (its names merged).
std::pair<std::string, std::string> docker_index(const std::vector<SavedImage>& images) {
  Json manifest = Json::array();
  Json repositories = Json::object();
  std::map<Digest, size_t> entry_of;  // config digest → position in manifest
  for (const SavedImage& s : images) {
    auto [it, fresh] = entry_of.emplace(s.image.id(), manifest.size());
    if (fresh) {
      Json layers = Json::array();
      for (const image::Descriptor& d : s.layers) layers.push_back(blob_path(d.digest));
      manifest.push_back(
          {{"Config", blob_path(s.image.id())}, {"RepoTags", Json::array()}, {"Layers", layers}});
    }
    if (!s.name) continue;
    manifest[it->second]["RepoTags"].push_back(s.name->familiar_str());
    repositories[s.name->familiar_name()][s.name->tag] = std::string(s.image.id().hex());
  }
  for (Json& entry : manifest) {
    if (entry["RepoTags"].empty()) entry["RepoTags"] = nullptr;
  }
  return {manifest.dump(), repositories.dump()};
}

Status write_archive(store::Store& store, const std::vector<SavedImage>& images, const SaveOptions& options) {
  auto out = options.format == ArchiveFormat::oci_dir ? TRY(detail::ArchiveOutput::directory(options.output))
                                                      : TRY(detail::ArchiveOutput::tar(options.output));
  std::map<Digest, uint64_t> blobs;             // stored blobs, sorted by digest
  std::map<Digest, std::string> new_manifests;  // manifests not in the store
  for (const SavedImage& s : images) {
    for (const image::Descriptor& d : s.layers) blobs[d.digest] = static_cast<uint64_t>(d.size);
    blobs[s.image.id()] = s.image.config_bytes.size();
    if (store.has_blob(s.manifest_digest)) {
      blobs[s.manifest_digest] = s.manifest_bytes.size();
    } else {
      new_manifests[s.manifest_digest] = s.manifest_bytes;
    }
  }
  TRY(out->add_dir("blobs"));
  TRY(out->add_dir("blobs/sha256"));
  // Merge both sets in digest order so the archive's order depends only on its content.
  std::set<Digest> all;
  for (const auto& [d, size] : blobs) all.insert(d);
  for (const auto& [d, bytes] : new_manifests) all.insert(d);
  for (const Digest& d : all) {
    if (auto it = new_manifests.find(d); it != new_manifests.end()) {
      TRY(out->add_file(blob_path(d), it->second));
    } else {
      TRY(out->add_blob(blob_path(d), store, d, blobs[d]));
    }
  }
  TRY(out->add_file("index.json", index_json(images)));
  if (options.format == ArchiveFormat::docker) {
    auto [manifest, repositories] = docker_index(images);
    TRY(out->add_file("manifest.json", manifest));
  }
  TRY(out->add_file(media::k_oci_layout_file, R"({"imageLayoutVersion":"1.0.0"})"));
  if (options.format == ArchiveFormat::docker)
    TRY(out->add_file("repositories", docker_index(images).second));
  return out->commit();
}

}  // namespace

std::optional<ArchiveFormat> parse_archive_format(std::string_view text) {
  static constexpr std::pair<std::string_view, ArchiveFormat> k_formats[] = {
      {"docker", ArchiveFormat::docker},   {"docker-archive", ArchiveFormat::docker},
      {"oci", ArchiveFormat::oci},         {"oci-archive", ArchiveFormat::oci},
      {"oci-dir", ArchiveFormat::oci_dir},
  };
  for (const auto& [name, format] : k_formats) {
    if (name == text) return format;
  }
  return std::nullopt;
}

Status save_images(store::Store& store, const std::vector<std::string>& names, const SaveOptions& options) {
  if (names.empty()) return make_error(ExitCode::usage, "save: no image given");
  std::vector<SavedImage> images;
  for (const std::string& name : names) {
    SavedImage saved = TRY(resolve(store, name));
    TRY(plan_layers(store, saved, options));
    images.push_back(std::move(saved));
  }
  return write_archive(store, images, options);
}

}  // namespace cbuild::exporter
