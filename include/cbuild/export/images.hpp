#pragma once
/// Images in the local store, as the CLI and the exporters see them: lookup by name or ID,
/// reading manifest and config, committing a new image (config + manifest blobs, layer
/// records, image record and tags in one transaction), and removing names and images.
///
/// Image ID = config digest (as docker). Several image records (manifests) may share one
/// config, e.g. the same image loaded from a docker archive (uncompressed layers) and from
/// an OCI layout (gzip layers); `images` shows each tag once.
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/image/config.hpp"
#include "cbuild/image/manifest.hpp"
#include "cbuild/image/reference.hpp"
#include "cbuild/store/store.hpp"

namespace cbuild::exporter {

/// An image read from the store. Manifest and config bytes are the stored ones. A record
/// may name an index (`pull --all-platforms`): the manifest is then the index entry whose
/// config is the record's, and `index_bytes` holds the index.
struct LocalImage {
  store::ImageRecord record;
  std::string index_bytes;  ///< empty unless the record names an index
  Digest manifest_digest;
  std::string manifest_media_type;
  std::string manifest_bytes;
  image::Manifest manifest;
  std::string config_bytes;
  image::ImageConfig config;
  std::vector<std::string> tags;  ///< full names ("docker.io/library/busybox:latest"), sorted

  const Digest& id() const { return record.config; }
};

/// Reads manifest and config of an image record (verified blobs) and its tags.
Result<LocalImage> read_image(store::Store& store, const store::ImageRecord& record);

/// Finds an image as docker does: `sha256:<id>` or a 64-hex ID, a name (`busybox`,
/// `user/app:1`; default tag latest), `name@sha256:<manifest>`, or a unique ID prefix.
/// Missing → ExitCode::not_found "no such image: `text`"; an ambiguous prefix → bad_input.
Result<LocalImage> find_image(store::Store& store, std::string_view text);

/// Every image record whose ID (config digest) is `id`.
Result<std::vector<store::ImageRecord>> records_with_id(store::Store& store, const Digest& id);

/// A layer of a new image: the descriptor the manifest gets, and the layer record to
/// remember (when the descriptor names a stored blob).
struct NewLayer {
  image::Descriptor descriptor;
  std::optional<store::LayerRecord> record;
};

/// Stores `config_bytes` and an OCI manifest over `layers`, records the layers, the image
/// (size = `size`, the uncompressed bytes of its layers) and points every name in `tags`
/// (normalized full references) at it, all rows in one transaction.
Result<store::ImageRecord> commit_image(store::Store& store, std::string_view config_bytes,
                                        const std::vector<NewLayer>& layers, uint64_t size,
                                        const std::vector<std::string>& tags);

/// Same for a manifest given as bytes (loaded images keep theirs byte-exact).
Result<store::ImageRecord> commit_manifest(store::Store& store, std::string_view manifest_bytes,
                                           std::string_view media_type, std::string_view config_bytes,
                                           const std::vector<store::LayerRecord>& layers, uint64_t size,
                                           const std::vector<std::string>& tags);

/// The OCI manifest cbuild writes for a config and layers (compact JSON).
std::string make_manifest(std::string_view config_bytes, const std::vector<image::Descriptor>& layers);

/// `docker rmi` for one argument: a name untags (and deletes the image when it was the last
/// name); an ID deletes the image, refused when it has several names unless `force`.
/// Returns the lines docker prints ("Untagged: busybox:latest", "Deleted: sha256:…").
Result<std::vector<std::string>> remove_image(store::Store& store, std::string_view text, bool force);

/// Short forms for display.
std::string short_id(const Digest& digest);  ///< 12 hex characters
std::string familiar(std::string_view full_name);

}  // namespace cbuild::exporter
