#include "cbuild/export/load.hpp"

#include <set>

#include "archive_input.hpp"
#include "cbuild/export/images.hpp"
#include "cbuild/image/media_types.hpp"

namespace cbuild::exporter {
namespace {

namespace media = image::media;
using detail::ArchiveContents;
using detail::PendingFile;

/// A validated image, ready to be committed.
struct Planned {
  std::optional<std::string> manifest_bytes;  ///< OCI input: kept byte-exact
  std::string media_type;
  PendingFile* config = nullptr;
  std::string config_bytes;
  std::vector<std::pair<PendingFile*, store::LayerRecord>> layers;
  uint64_t size = 0;
  std::vector<std::string> tags;
};

std::string blob_path(const Digest& d) { return "blobs/sha256/" + std::string(d.hex()); }

Error bad(ArchiveContents& in, std::string_view what) {
  return make_error(ExitCode::bad_input, "load `{}`: {}", in.label(), what);
}

/// A file under blobs/<alg>/<hex> must hash to its name.
Status check_named_blob(ArchiveContents& in, const PendingFile& file) {
  std::string_view name = file.name;
  if (!name.starts_with("blobs/sha256/")) return {};
  std::string expected = "sha256:" + std::string(name.substr(13));
  if (file.digest.str() != expected) {
    return bad(in, fmt::format("digest mismatch for `{}`: content is {}", file.name, file.digest.str()));
  }
  return {};
}

Result<PendingFile*> blob_for(ArchiveContents& in, const image::Descriptor& d) {
  PendingFile* file = in.find(blob_path(d.digest));
  if (!file) return bad(in, fmt::format("missing blob `{}` ({})", blob_path(d.digest), d.media_type));
  TRY(check_named_blob(in, *file));
  if (d.size != static_cast<int64_t>(file->size)) {
    return bad(in, fmt::format("size mismatch for `{}`: descriptor says {}, file has {}", file->name, d.size,
                               file->size));
  }
  return file;
}

/// Checks the layer files against the config's diff_ids and records them.
Status plan_layers(ArchiveContents& in, Planned& plan, const image::ImageConfig& config,
                   const std::vector<std::pair<PendingFile*, std::string>>& files) {
  if (files.size() != config.diff_ids.size()) {
    return bad(in, fmt::format("image has {} layers but its config lists {} diff_ids", files.size(),
                               config.diff_ids.size()));
  }
  for (size_t i = 0; i < files.size(); ++i) {
    auto [file, media_type] = files[i];
    if (!file->layer.ok())
      return bad(in, fmt::format("layer `{}`: {}", file->name, file->layer.error().message));
    const Decompressed& layer = file->layer.value();
    if (layer.diff_id != config.diff_ids[i]) {
      return bad(in, fmt::format("layer `{}`: diffID mismatch: config says {}, content is {}", file->name,
                                 config.diff_ids[i].str(), layer.diff_id.str()));
    }
    if (media_type.empty()) media_type = media::oci_layer_type(layer.compression);
    store::LayerRecord record{layer.diff_id,
                              std::string(media::compression_name(layer.compression)),
                              media_type,
                              {file->digest, file->size}};
    plan.layers.emplace_back(file, std::move(record));
    plan.size += layer.size;
  }
  return {};
}

Status read_config(ArchiveContents& in, Planned& plan, PendingFile* file, image::ImageConfig& config) {
  if (!file->content) return bad(in, fmt::format("config `{}` is too large", file->name));
  plan.config = file;
  plan.config_bytes = *file->content;
  auto parsed = image::ImageConfig::parse(plan.config_bytes);
  if (!parsed) return bad(in, fmt::format("config `{}`: {}", file->name, parsed.error().message));
  config = std::move(parsed).value();
  return {};
}

Result<std::string> normalized_tag(ArchiveContents& in, std::string_view name) {
  auto ref = image::parse_tag_target(name);
  if (!ref) return bad(in, fmt::format("invalid image name `{}`: {}", name, ref.error().message));
  return ref->str();
}

// ---- docker archive ------------------------------------------------------------------------

struct DockerEntry {
  std::string config;
  std::vector<std::string> repo_tags;
  std::vector<std::string> layers;
};

Result<std::vector<DockerEntry>> read_docker_manifest(ArchiveContents& in) {
  std::string_view text = TRY(in.text("manifest.json"));
  auto json = image::Json::parse(text.begin(), text.end(), nullptr, false);
  std::vector<DockerEntry> out;
  if (!json.is_array()) return bad(in, "manifest.json: expected a JSON array");
  for (const auto& item : json) {
    DockerEntry e;
    if (!item.is_object() || !item.contains("Config") || !item["Config"].is_string()) {
      return bad(in, "manifest.json: every entry needs a Config path");
    }
    e.config = item["Config"].get<std::string>();
    for (const char* key : {"RepoTags", "Layers"}) {
      if (!item.contains(key) || item[key].is_null()) continue;
      if (!item[key].is_array()) return bad(in, fmt::format("manifest.json: {} must be an array", key));
      for (const auto& s : item[key]) {
        if (!s.is_string()) return bad(in, fmt::format("manifest.json: {} must hold strings", key));
        (std::string_view(key) == "Layers" ? e.layers : e.repo_tags).push_back(s.get<std::string>());
      }
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<Planned> plan_docker_entry(ArchiveContents& in, const DockerEntry& entry) {
  Planned plan;
  image::ImageConfig config;
  PendingFile* config_file = TRY(in.require(entry.config));
  TRY(check_named_blob(in, *config_file));
  TRY(read_config(in, plan, config_file, config));
  std::vector<std::pair<PendingFile*, std::string>> files;
  for (const std::string& path : entry.layers) {
    PendingFile* file = TRY(in.require(path));
    TRY(check_named_blob(in, *file));
    files.emplace_back(file, std::string());
  }
  TRY(plan_layers(in, plan, config, files));
  for (const std::string& tag : entry.repo_tags) plan.tags.push_back(TRY(normalized_tag(in, tag)));
  plan.media_type = media::k_oci_manifest;
  return plan;
}

// ---- OCI layout ----------------------------------------------------------------------------

Result<image::Descriptor> pick_platform(ArchiveContents& in, const image::Descriptor& index_desc) {
  PendingFile* file = TRY(blob_for(in, index_desc));
  if (!file->content) return bad(in, fmt::format("index `{}` is too large", file->name));
  auto index = image::Index::parse(*file->content);
  if (!index) return bad(in, fmt::format("index `{}`: {}", file->name, index.error().message));
  image::Platform host = image::host_platform();
  for (const image::Descriptor& d : index->manifests) {
    if (!d.platform || (d.platform->architecture == host.architecture && d.platform->os == host.os)) {
      if (in.find(blob_path(d.digest))) return d;
    }
  }
  return bad(in, fmt::format("index `{}` has no manifest for {}/{} in the archive", file->name, host.os,
                             host.architecture));
}

Result<Planned> plan_oci_manifest(ArchiveContents& in, image::Descriptor desc) {
  for (int depth = 0; media::is_index(desc.media_type); ++depth) {
    if (depth > 4) return bad(in, "indexes nested too deeply");
    desc = TRY(pick_platform(in, desc));
  }
  Planned plan;
  PendingFile* file = TRY(blob_for(in, desc));
  if (!file->content) return bad(in, fmt::format("manifest `{}` is too large", file->name));
  plan.manifest_bytes = *file->content;
  auto manifest = image::Manifest::parse(*plan.manifest_bytes);
  if (!manifest) return bad(in, fmt::format("manifest `{}`: {}", file->name, manifest.error().message));
  plan.media_type = !manifest->media_type.empty() ? manifest->media_type
                    : !desc.media_type.empty()    ? desc.media_type
                                                  : std::string(media::k_oci_manifest);
  image::ImageConfig config;
  TRY(read_config(in, plan, TRY(blob_for(in, manifest->config)), config));
  std::vector<std::pair<PendingFile*, std::string>> files;
  for (const image::Descriptor& layer : manifest->layers) {
    if (!media::layer_compression(layer.media_type)) {
      return bad(in,
                 fmt::format("layer {}: unsupported media type `{}`", layer.digest.str(), layer.media_type));
    }
    files.emplace_back(TRY(blob_for(in, layer)), layer.media_type);
  }
  TRY(plan_layers(in, plan, config, files));
  return plan;
}

/// The name an index entry gives its manifest, if any.
std::optional<std::string> oci_name(const image::Descriptor& d) {
  for (std::string_view key : {media::k_annotation_image_name, media::k_annotation_ref_name}) {
    auto it = d.annotations.find(std::string(key));
    if (it == d.annotations.end()) continue;
    bool bare_tag = it->second.find_first_of("/:") == std::string::npos;
    if (bare_tag) continue;  // a tag without a repository names nothing
    if (auto ref = image::parse_tag_target(it->second)) return ref->str();
  }
  return std::nullopt;
}

Result<std::vector<Planned>> plan_oci(ArchiveContents& in) {
  std::string_view text = TRY(in.text("index.json"));
  auto index = image::Index::parse(text);
  if (!index) return bad(in, fmt::format("index.json: {}", index.error().message));
  // docker ≥ 25 also writes manifest.json: its RepoTags name the images by config path.
  std::map<Digest, std::vector<std::string>> docker_tags;
  if (in.find("manifest.json")) {
    for (const DockerEntry& e : TRY(read_docker_manifest(in))) {
      if (PendingFile* f = in.find(*detail::clean_name(e.config))) {
        for (const std::string& tag : e.repo_tags)
          docker_tags[f->digest].push_back(TRY(normalized_tag(in, tag)));
      }
    }
  }
  std::vector<Planned> plans;
  for (const image::Descriptor& d : index->manifests) {
    Planned plan = TRY(plan_oci_manifest(in, d));
    if (auto name = oci_name(d)) plan.tags.push_back(*name);
    for (const std::string& tag : docker_tags[plan.config->digest]) plan.tags.push_back(tag);
    plans.push_back(std::move(plan));
  }
  return plans;
}

// ---- commit --------------------------------------------------------------------------------

Result<LoadedImage> commit(store::Store& store, ArchiveContents& in, Planned& plan) {
  std::set<std::string> unique(plan.tags.begin(), plan.tags.end());
  std::vector<std::string> tags(unique.begin(), unique.end());
  std::vector<store::LayerRecord> records;
  std::vector<NewLayer> layers;
  for (auto& [file, record] : plan.layers) {
    TRY(in.commit(*file));
    records.push_back(record);
    image::Descriptor d;
    d.media_type = record.media_type;
    d.digest = record.blob.digest;
    d.size = static_cast<int64_t>(record.blob.size);
    layers.push_back({d, record});
  }
  TRY(in.commit(*plan.config));
  store::ImageRecord image = plan.manifest_bytes
                                 ? TRY(commit_manifest(store, *plan.manifest_bytes, plan.media_type,
                                                       plan.config_bytes, records, plan.size, tags))
                                 : TRY(commit_image(store, plan.config_bytes, layers, plan.size, tags));
  return LoadedImage{image.config, image.manifest, tags};
}

}  // namespace

Result<std::vector<LoadedImage>> load_archive(store::Store& store, const fs::path& input) {
  auto in = TRY(ArchiveContents::read(store, input));
  std::vector<Planned> plans;
  if (in.find("index.json")) {
    plans = TRY(plan_oci(in));
  } else if (in.find("manifest.json")) {
    for (const DockerEntry& e : TRY(read_docker_manifest(in))) plans.push_back(TRY(plan_docker_entry(in, e)));
  } else {
    return bad(in, "neither an OCI layout (index.json) nor a docker archive (manifest.json)");
  }
  if (plans.empty()) return bad(in, "the archive holds no image");
  std::vector<LoadedImage> loaded;
  for (Planned& plan : plans) loaded.push_back(TRY(commit(store, in, plan)));
  return loaded;
}

}  // namespace cbuild::exporter
