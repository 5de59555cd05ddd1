#include "cbuild/image/manifest.hpp"

#include "cbuild/image/media_types.hpp"
#include "json_fields.hpp"

namespace cbuild::image {
namespace {

using detail::FieldReader;
using detail::put_nonempty;

Result<std::vector<Descriptor>> descriptor_list(const FieldReader& reader, std::string_view key) {
  std::vector<Descriptor> out;
  const Json& list = reader.raw(key);
  if (list.is_null()) return out;
  if (!list.is_array()) return reader.field_error(key, "an array of descriptors");
  for (const Json& item : list) {
    auto d = descriptor_from_json(item);
    if (!d) return std::move(d).error().wrap("`{}[{}]`", key, out.size());
    out.push_back(std::move(d).value());
  }
  return out;
}

/// Fields both documents share: schemaVersion, mediaType, artifactType, subject, annotations.
template <typename Doc>
Status read_common(const FieldReader& reader, Doc& doc) {
  int64_t version = 0;
  TRY(reader.integer("schemaVersion", version));
  if (version != 2) return reader.field_error("schemaVersion", "2");
  doc.schema_version = 2;
  TRY(reader.string("mediaType", doc.media_type));
  TRY(reader.string("artifactType", doc.artifact_type));
  TRY(reader.string_map("annotations", doc.annotations));
  if (const Json& subject = reader.raw("subject"); !subject.is_null()) {
    doc.subject = TRY(descriptor_from_json(subject));
  }
  return {};
}

template <typename Doc>
Json write_common(const Doc& doc) {
  Json out = Json::object();
  out["schemaVersion"] = doc.schema_version;
  put_nonempty(out, "mediaType", doc.media_type);
  put_nonempty(out, "artifactType", doc.artifact_type);
  if (doc.subject) out["subject"] = to_json(*doc.subject);
  put_nonempty(out, "annotations", doc.annotations);
  return out;
}

}  // namespace

Result<Manifest> Manifest::parse(std::string_view bytes) {
  Json json = TRY(detail::parse_json(bytes, "image manifest"));
  auto reader = TRY(FieldReader::open(json, "manifest"));
  Manifest m;
  TRY(read_common(reader, m));
  if (!m.media_type.empty() && !media::is_manifest(m.media_type)) {
    return make_error(ExitCode::bad_input, "`manifest.mediaType`: `{}` is not an image manifest type",
                      m.media_type);
  }
  const Json& config = reader.raw("config");
  if (config.is_null()) return reader.field_error("config", "a descriptor");
  m.config = TRY(descriptor_from_json(config));
  m.layers = TRY(descriptor_list(reader, "layers"));
  m.extra = reader.extra(
      {"schemaVersion", "mediaType", "artifactType", "config", "layers", "subject", "annotations"});
  return m;
}

std::string Manifest::serialize() const {
  Json out = write_common(*this);
  out["config"] = to_json(config);
  Json layer_list = Json::array();
  for (const Descriptor& d : layers) layer_list.push_back(to_json(d));
  out["layers"] = std::move(layer_list);
  detail::merge_extra(out, extra);
  return out.dump();
}

Result<Index> Index::parse(std::string_view bytes) {
  Json json = TRY(detail::parse_json(bytes, "image index"));
  auto reader = TRY(FieldReader::open(json, "index"));
  Index index;
  TRY(read_common(reader, index));
  if (!index.media_type.empty() && !media::is_index(index.media_type)) {
    return make_error(ExitCode::bad_input, "`index.mediaType`: `{}` is not an image index type",
                      index.media_type);
  }
  index.manifests = TRY(descriptor_list(reader, "manifests"));
  index.extra =
      reader.extra({"schemaVersion", "mediaType", "artifactType", "manifests", "subject", "annotations"});
  return index;
}

std::string Index::serialize() const {
  Json out = write_common(*this);
  Json list = Json::array();
  for (const Descriptor& d : manifests) list.push_back(to_json(d));
  out["manifests"] = std::move(list);
  detail::merge_extra(out, extra);
  return out.dump();
}

Result<std::string> sniff_media_type(std::string_view bytes) {
  Json json = TRY(detail::parse_json(bytes, "manifest"));
  if (!json.is_object()) return make_error(ExitCode::bad_input, "manifest: expected a JSON object");
  if (auto it = json.find("mediaType"); it != json.end() && it->is_string()) return it->get<std::string>();
  if (json.contains("manifests")) return std::string(media::k_oci_index);
  if (json.contains("config")) return std::string(media::k_oci_manifest);
  return std::string();
}

}  // namespace cbuild::image
