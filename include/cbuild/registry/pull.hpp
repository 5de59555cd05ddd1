#pragma once
/// `cbuild pull`: an image from a registry into the local store.
///
/// Resolves the reference (tag or digest) to a manifest; an index / manifest list is
/// resolved to the manifest for `PullOptions::platform` (see `select_platform`), or with
/// `all_platforms` kept whole, every manifest it lists pulled too. The config
/// and layer blobs missing from the store are downloaded in parallel, streamed into store
/// BlobWriters and committed only when their digest and size match the descriptor (a
/// mismatch is an error naming the blob; that blob is not stored). Then, in one transaction,
/// the layer records (diffIDs from the config), the image record and the name are stored,
/// as `cbuild load` does: a tag reference is recorded under its normalized name
/// (`127.0.0.1:5000/x:1`), a digest reference as `name@sha256:…`. Layers keep their
/// compressed blobs as pulled.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/image/descriptor.hpp"
#include "cbuild/image/reference.hpp"
#include "cbuild/registry/client.hpp"
#include "cbuild/store/store.hpp"

namespace cbuild::registry {

struct PullOptions {
  image::Platform platform = image::host_platform();
  /// An index is kept with every manifest it lists (and their blobs): the image record is
  /// the index, its ID the config of the manifest for `platform`; `push` pushes it whole.
  bool all_platforms = false;
  int jobs = 3;  ///< parallel blob downloads
  /// Progress lines ("sha256:… downloaded"), called from worker threads one at a time.
  std::function<void(const std::string&)> progress;
};

struct PullResult {
  std::string name;        ///< the name recorded in the store
  Digest manifest;         ///< of the platform manifest stored
  Digest config;           ///< the image ID
  std::optional<Digest> index;  ///< when the reference named an index
  int blobs_downloaded = 0;
  int blobs_present = 0;  ///< skipped: already in the store
  uint64_t bytes_downloaded = 0;
};

/// The manifest of `index` for `platform`: same os and architecture; a requested variant
/// must match (arm64's "v8" also matches none); without one, an entry without variant is
/// preferred. Not found → not_found error listing the platforms available.
Result<image::Descriptor> select_platform(const std::vector<image::Descriptor>& manifests,
                                          const image::Platform& platform);

/// Pulls `ref` (normalized, with tag or digest) through `client` into `store`.
Result<PullResult> pull(store::Store& store, Client& client, const image::Reference& ref,
                        const PullOptions& options = {});

/// Downloads one blob of `repository` into the store, committed only when its size and
/// digest match `blob` (nothing is stored otherwise).
Status fetch_blob(store::Store& store, Client& client, std::string_view repository, const image::Descriptor& blob);

}  // namespace cbuild::registry
