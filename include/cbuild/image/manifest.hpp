#pragma once
/// Image manifests and indexes: OCI image manifest/index v1 and docker image manifest
/// v2 schema 2 / manifest list, which share one shape (`schemaVersion` 2, a config
/// descriptor and layer descriptors; or a list of manifest descriptors). Parsing keeps
/// unknown fields in `extra`; `serialize` writes compact JSON with sorted keys. The digest
/// of a manifest is the digest of the exact bytes it was read from or written as, so
/// callers keep those bytes (store them) rather than re-serializing what they loaded.
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/image/descriptor.hpp"

namespace cbuild::image {

/// An image manifest (OCI `application/vnd.oci.image.manifest.v1+json` or docker v2s2).
struct Manifest {
  int schema_version = 2;
  std::string media_type;  ///< may be empty in OCI manifests read from elsewhere
  std::string artifact_type;
  Descriptor config;
  std::vector<Descriptor> layers;
  std::optional<Descriptor> subject;
  Annotations annotations;
  Json extra = Json::object();

  /// Parses manifest JSON; errors have ExitCode::bad_input and name the field.
  static Result<Manifest> parse(std::string_view bytes);
  std::string serialize() const;
  bool operator==(const Manifest&) const = default;
};

/// An image index (OCI) or manifest list (docker).
struct Index {
  int schema_version = 2;
  std::string media_type;
  std::string artifact_type;
  std::vector<Descriptor> manifests;
  std::optional<Descriptor> subject;
  Annotations annotations;
  Json extra = Json::object();

  static Result<Index> parse(std::string_view bytes);
  std::string serialize() const;
  bool operator==(const Index&) const = default;
};

/// Media type declared inside manifest or index JSON (`mediaType`), or inferred for OCI
/// documents without one (`manifests` → index, `config` → manifest); empty when neither.
Result<std::string> sniff_media_type(std::string_view bytes);

}  // namespace cbuild::image
