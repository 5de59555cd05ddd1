#include "cbuild/image/media_types.hpp"

#include <utility>

namespace cbuild::image::media {
namespace {

constexpr std::pair<std::string_view, Compression> k_layer_types[] = {
    {k_oci_layer, Compression::none},
    {k_oci_layer_gzip, Compression::gzip},
    {k_oci_layer_zstd, Compression::zstd},
    {k_oci_layer_nondist_gzip, Compression::gzip},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar", Compression::none},
    {"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd", Compression::zstd},
    {k_docker_layer_gzip, Compression::gzip},
    {k_docker_layer_foreign_gzip, Compression::gzip},
    {k_docker_layer_tar, Compression::none},
};

constexpr std::pair<std::string_view, Compression> k_compression_names[] = {
    {"none", Compression::none},
    {"gzip", Compression::gzip},
    {"zstd", Compression::zstd},
};

}  // namespace

std::optional<Compression> layer_compression(std::string_view media_type) {
  for (const auto& [type, compression] : k_layer_types) {
    if (type == media_type) return compression;
  }
  return std::nullopt;
}

bool is_manifest(std::string_view media_type) {
  return media_type == k_oci_manifest || media_type == k_docker_manifest;
}

bool is_index(std::string_view media_type) {
  return media_type == k_oci_index || media_type == k_docker_manifest_list;
}

std::string_view oci_layer_type(Compression c) {
  switch (c) {
    case Compression::none:
      return k_oci_layer;
    case Compression::gzip:
      return k_oci_layer_gzip;
    case Compression::zstd:
      return k_oci_layer_zstd;
  }
  return k_oci_layer;
}

std::string_view docker_layer_type(Compression c) {
  switch (c) {
    case Compression::none:
      return k_docker_layer_tar;
    case Compression::gzip:
      return k_docker_layer_gzip;
    case Compression::zstd:
      return k_oci_layer_zstd;
  }
  return k_docker_layer_tar;
}

std::string_view compression_name(Compression c) {
  for (const auto& [name, value] : k_compression_names) {
    if (value == c) return name;
  }
  return "none";
}

std::optional<Compression> parse_compression(std::string_view name) {
  for (const auto& [n, value] : k_compression_names) {
    if (n == name) return value;
  }
  return std::nullopt;
}

}  // namespace cbuild::image::media
