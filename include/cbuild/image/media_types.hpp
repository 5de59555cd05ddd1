#pragma once
/// Media types of OCI image-spec v1.1 and docker's image manifest v2 schema 2.
#include <optional>
#include <string_view>

namespace cbuild::image::media {

// OCI image-spec
inline constexpr std::string_view k_oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view k_oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view k_oci_config = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view k_oci_layer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view k_oci_layer_gzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view k_oci_layer_zstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view k_oci_layer_nondist_gzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
inline constexpr std::string_view k_oci_layout_file = "oci-layout";
inline constexpr std::string_view k_oci_layout_version = "1.0.0";

// Docker image manifest v2 schema 2
inline constexpr std::string_view k_docker_manifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view k_docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view k_docker_config = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view k_docker_layer_gzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr std::string_view k_docker_layer_foreign_gzip =
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
/// docker save (moby ≥ 25) writes uncompressed layers with this type in its OCI layout.
inline constexpr std::string_view k_docker_layer_tar = "application/vnd.docker.image.rootfs.diff.tar";

/// Annotation holding the tag (`1.0`) or full reference of a manifest in an OCI index.
inline constexpr std::string_view k_annotation_ref_name = "org.opencontainers.image.ref.name";
/// containerd/docker: the full image name (`docker.io/library/busybox:latest`).
inline constexpr std::string_view k_annotation_image_name = "io.containerd.image.name";

/// How a layer blob is compressed.
enum class Compression { none, gzip, zstd };

/// Compression named by a layer media type (OCI or docker); nullopt when it is no layer type.
std::optional<Compression> layer_compression(std::string_view media_type);
/// True for the manifest types (OCI manifest, docker v2s2).
bool is_manifest(std::string_view media_type);
/// True for the index types (OCI index, docker manifest list).
bool is_index(std::string_view media_type);
/// The OCI layer media type for a compression.
std::string_view oci_layer_type(Compression c);
/// The docker layer media type for a compression (docker has no zstd type: the OCI one).
std::string_view docker_layer_type(Compression c);
/// "gzip", "zstd", "none" and back.
std::string_view compression_name(Compression c);
std::optional<Compression> parse_compression(std::string_view name);

}  // namespace cbuild::image::media
