#pragma once
/// OCI content descriptors and platforms (image-spec descriptor.md, image-index.md).
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::image {

using Json = nlohmann::json;
using Annotations = std::map<std::string, std::string>;

/// The platform of a manifest in an index.
struct Platform {
  std::string architecture;  ///< "amd64"
  std::string os;            ///< "linux"
  std::string os_version;    ///< "os.version"
  std::vector<std::string> os_features;
  std::string variant;  ///< "v8" for arm64

  bool operator==(const Platform&) const = default;
};

/// A reference to content: media type, digest and size, plus optional metadata. Fields
/// cbuild does not know (e.g. `data`) are kept in `extra` and written back.
struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::vector<std::string> urls;
  Annotations annotations;
  std::optional<Platform> platform;
  std::string artifact_type;
  Json extra = Json::object();

  bool operator==(const Descriptor&) const = default;
};

/// The platform cbuild runs on (GOARCH-style architecture name, "linux").
Platform host_platform();

Json to_json(const Platform& platform);
Result<Platform> platform_from_json(const Json& json);
Json to_json(const Descriptor& descriptor);
/// Errors name the offending field; digests must be sha256.
Result<Descriptor> descriptor_from_json(const Json& json);

}  // namespace cbuild::image
