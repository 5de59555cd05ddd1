#pragma once
/// `cbuild push`: an image of the local store to a registry (OCI distribution spec v1.1).
///
/// Blobs (config and layers) are uploaded by a few worker threads; the manifest is PUT last,
/// with its media type as Content-Type. For each blob:
///  1. `HEAD /v2/<name>/blobs/<digest>`: present → skipped ("Layer already exists").
///  2. With a `PushOptions::mount_from` repository: `POST /v2/<name>/blobs/uploads/
///     ?mount=<digest>&from=<repo>`; 201 → mounted, nothing uploaded; 202 → the registry
///     could not mount and opened an upload session, used below.
///  3. Otherwise `POST /v2/<name>/blobs/uploads/` opens a session (202, Location).
///  4. Blobs up to `chunk_size` bytes: one `PUT <location>?digest=<d>` with the whole blob
///     (monolithic). Larger blobs: `PATCH <location>` per chunk with `Content-Range:
///     <first>-<last>` (each answer's Location is the next URL), then `PUT ...?digest=<d>`.
///     A 416 answer to a chunk (the registry kept part of a retried chunk) resumes from the
///     offset `GET <location>` reports in its `Range` (up to 3 times per blob).
/// Blob bodies are streamed from the store's blob files. Requests are retried by the Client
/// (429/5xx/timeouts, with backoff); 401/403/404 give errors naming registry and repository.
///
/// Layers whose blob is not in the store (a built layer that exists only as a snapshot) are
/// produced by `PushImage::ensure_blob` (the exporter's `ensure_layer_blob` in the CLI), in
/// the workers. When a layer's descriptor changes that way, the manifest is rewritten as an
/// OCI manifest over the new descriptors (docker media types mapped to OCI ones); otherwise
/// the stored manifest bytes are pushed unchanged, so the pushed digest equals the local one.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/image/descriptor.hpp"
#include "cbuild/image/reference.hpp"
#include "cbuild/registry/client.hpp"
#include "cbuild/store/store.hpp"

namespace cbuild::registry {

/// A layer of the image to push, in manifest order.
struct PushLayer {
  Digest diff_id;                ///< from the config's rootfs.diff_ids
  image::Descriptor descriptor;  ///< as the manifest names it (its blob may not be stored)
};

/// Makes a stored blob for `layer` (whose descriptor's blob is missing from the store) and
/// returns its descriptor. Called from worker threads, possibly concurrently.
using EnsureBlob = std::function<Result<image::Descriptor>(const PushLayer& layer)>;

/// The image to push, as stored: manifest bytes (an image manifest, not an index) and config.
struct PushImage {
  std::string manifest_bytes;
  std::string manifest_media_type;
  std::string config_bytes;
  EnsureBlob ensure_blob;  ///< may be empty when every blob is stored
};

struct PushOptions {
  int jobs = 3;                       ///< parallel blob uploads
  uint64_t chunk_size = 64ull << 20;  ///< blobs larger than this go up in PATCH chunks of this size
  /// Repositories on the same registry that may hold the blobs (e.g. where the image was
  /// pulled from): a missing blob is mounted from the first one.
  std::vector<std::string> mount_from;
  /// When the manifest was rewritten, store it and point this local name at it (the image ID
  /// does not change); empty: store nothing.
  std::string record_name;
  /// Progress lines as docker prints them ("<12 hex>: Pushed", "…: Layer already exists",
  /// "…: Mounted from team/app"), called from worker threads one at a time.
  std::function<void(const std::string&)> progress;
};

struct PushResult {
  Digest manifest;             ///< digest of the manifest pushed
  uint64_t manifest_size = 0;  ///< its length in bytes
  std::string manifest_bytes;
  std::string media_type;
  bool manifest_rewritten = false;
  int blobs_pushed = 0;
  int blobs_existing = 0;  ///< already in the repository (HEAD)
  int blobs_mounted = 0;   ///< mounted from another repository
  uint64_t bytes_pushed = 0;
};

/// The layers of a manifest paired with the config's diffIDs (bad_input when the counts differ).
Result<std::vector<PushLayer>> push_layers(std::string_view manifest_bytes, std::string_view config_bytes);

/// Pushes `image` from `store` through `client` to `ref` (normalized; its tag, or its digest
/// which must then be the digest of the manifest pushed).
Result<PushResult> push(store::Store& store, Client& client, const image::Reference& ref,
                        const PushImage& image, const PushOptions& options = {});

/// An index to push whole: its bytes and media type, and each manifest it lists, in order.
struct PushIndex {
  std::string bytes;
  std::string media_type;
  std::vector<PushImage> manifests;
};

/// Pushes every manifest of `index` by digest (each as `push` does; one that would have to
/// be rewritten is an error, as the index names it by digest), then the index bytes
/// unchanged as `ref`, so the pushed index has the local digest. The result counts the
/// blobs of all manifests and describes the index.
Result<PushResult> push_index(store::Store& store, Client& client, const image::Reference& ref,
                              const PushIndex& index, const PushOptions& options = {});

}  // namespace cbuild::registry
