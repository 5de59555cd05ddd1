#include "cbuild/image/descriptor.hpp"

#include "json_fields.hpp"

namespace cbuild::image {

using detail::FieldReader;
using detail::put_nonempty;

Platform host_platform() {
  Platform p;
  p.os = "linux";
#if defined(__x86_64__)
  p.architecture = "amd64";
#elif defined(__aarch64__)
  p.architecture = "arm64";
  p.variant = "v8";
#elif defined(__arm__)
  p.architecture = "arm";
  p.variant = "v7";
#elif defined(__i386__)
  p.architecture = "386";
#elif defined(__powerpc64__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
  p.architecture = "ppc64le";
#elif defined(__s390x__)
  p.architecture = "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  p.architecture = "riscv64";
#else
#error "unknown architecture: add its GOARCH name"
#endif
  return p;
}

Json to_json(const Platform& platform) {
  Json out = Json::object();
  out["architecture"] = platform.architecture;
  out["os"] = platform.os;
  put_nonempty(out, "os.version", platform.os_version);
  put_nonempty(out, "os.features", platform.os_features);
  put_nonempty(out, "variant", platform.variant);
  return out;
}

Result<Platform> platform_from_json(const Json& json) {
  auto reader = TRY(FieldReader::open(json, "platform"));
  Platform p;
  TRY(reader.string("architecture", p.architecture));
  TRY(reader.string("os", p.os));
  TRY(reader.string("os.version", p.os_version));
  TRY(reader.strings("os.features", p.os_features));
  TRY(reader.string("variant", p.variant));
  return p;
}

Json to_json(const Descriptor& d) {
  Json out = Json::object();
  out["mediaType"] = d.media_type;
  out["digest"] = d.digest.str();
  out["size"] = d.size;
  put_nonempty(out, "urls", d.urls);
  put_nonempty(out, "annotations", d.annotations);
  if (d.platform) out["platform"] = to_json(*d.platform);
  put_nonempty(out, "artifactType", d.artifact_type);
  detail::merge_extra(out, d.extra);
  return out;
}

Result<Descriptor> descriptor_from_json(const Json& json) {
  auto reader = TRY(FieldReader::open(json, "descriptor"));
  Descriptor d;
  std::string digest;
  TRY(reader.string("mediaType", d.media_type));
  TRY(reader.string("digest", digest));
  if (digest.empty()) return reader.field_error("digest", "a digest");
  d.digest = TRY(Digest::parse(digest));
  TRY(reader.integer("size", d.size));
  if (d.size < 0) return reader.field_error("size", "a size >= 0");
  TRY(reader.strings("urls", d.urls));
  TRY(reader.string_map("annotations", d.annotations));
  if (const Json& platform = reader.raw("platform"); !platform.is_null()) {
    d.platform = TRY(platform_from_json(platform));
  }
  TRY(reader.string("artifactType", d.artifact_type));
  d.extra = reader.extra({"mediaType", "digest", "size", "urls", "annotations", "platform", "artifactType"});
  return d;
}

}  // namespace cbuild::image
