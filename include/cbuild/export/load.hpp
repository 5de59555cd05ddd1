#pragma once
/// `cbuild load`: images from a docker archive or an OCI image layout into the store.
///
/// Accepted inputs (a tar, compressed or not, from a file or stdin; or a directory):
///  - OCI image layout: `oci-layout`, `index.json`, `blobs/sha256/<hex>`. Manifests and
///    configs are kept byte-exact (same digests). Names come from the manifest annotations
///    `io.containerd.image.name` (full name) or `org.opencontainers.image.ref.name` when it
///    is a full reference (a bare tag names nothing); a nested index is resolved to the
///    manifest for this host's platform.
///  - docker archive (`docker save`): `manifest.json` with Config, RepoTags and Layers
///    (layer files plain tar, gzip or zstd; symlinked duplicates allowed). The config is
///    kept byte-exact (same image ID); cbuild writes an OCI manifest over the layer files
///    as they are. docker ≥ 25 writes both forms; the OCI layout is then used, with the
///    RepoTags of manifest.json.
/// Every blob is verified: files under blobs/ against their names, descriptors' digests and
/// sizes, and every layer's diffID against the config's rootfs.diff_ids. Any error leaves
/// the store unchanged and names the archive and the entry.
#include <string>
#include <vector>

#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::exporter {

struct LoadedImage {
  Digest id;                      ///< config digest
  Digest manifest;                ///< manifest digest
  std::vector<std::string> tags;  ///< full names
};

/// Loads every image of `input` ("-" = stdin).
Result<std::vector<LoadedImage>> load_archive(store::Store& store, const fs::path& input);

}  // namespace cbuild::exporter
