#pragma once
/// `cbuild save`: images from the store to a docker archive or an OCI image layout.
///
/// Output (entries sorted, mtime 0, owner 0:0, PAX tar):
///   oci-layout, index.json, blobs/sha256/<hex>   always (an OCI image layout); index.json
///       has one manifest entry per name, annotated `io.containerd.image.name` (full name)
///       and `org.opencontainers.image.ref.name` (the tag, as skopeo/umoci `DIR:tag` expect)
///   manifest.json, repositories                   format docker: docker's archive index
///       (Config, RepoTags, Layers as paths into blobs/), as docker ≥ 25 writes it; read by
///       every `docker load` since 1.10 and by skopeo's docker-archive transport.
/// Layers: without `compression`, each layer blob the manifest names is written as stored
/// (the manifest keeps its digest). When a blob is missing or another compression is asked,
/// the layer is compressed from any stored blob of the same diffID (or from `layer_source`),
/// stored, and remembered as a layer record, so it is never compressed twice; the archive
/// then gets a new OCI manifest. Docker archives take gzip or plain layers (zstd is
/// recompressed to gzip unless asked for explicitly).
/// The output is written to a temporary file or directory beside the target and renamed
/// into place only when complete.
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/image/media_types.hpp"
#include "cbuild/layer/sink.hpp"
#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::exporter {

enum class ArchiveFormat {
  docker,   ///< tar: OCI layout + manifest.json + repositories
  oci,      ///< tar: OCI layout
  oci_dir,  ///< directory: OCI layout
};

/// Writes the uncompressed tar of the layer `diff_id` to the sink (e.g. from a snapshot).
using LayerSource = std::function<Status(const Digest& diff_id, layer::ByteSink& out)>;

struct SaveOptions {
  ArchiveFormat format = ArchiveFormat::docker;
  std::optional<image::media::Compression> compression;  ///< nullopt: keep stored blobs
  fs::path output;                                       ///< "-" or empty: stdout (tar formats only)
  LayerSource layer_source;                              ///< for layers without any stored blob; may be empty
};

/// Saves the images named by `names` (names or IDs; an ID saves the image without names).
Status save_images(store::Store& store, const std::vector<std::string>& names, const SaveOptions& options);

/// Parses "docker", "oci", "oci-dir".
std::optional<ArchiveFormat> parse_archive_format(std::string_view text);

/// A blob with the layer `diff_id` compressed as `compression`: the recorded one, or a new
/// one made from any stored blob of that diffID (or `source`), stored and recorded.
Result<store::LayerRecord> ensure_layer_blob(store::Store& store, const Digest& diff_id,
                                             image::media::Compression compression,
                                             const LayerSource& source);

/// A stored blob holding the layer `diff_id` in any compression, nullopt when none is stored.
Result<std::optional<store::LayerRecord>> find_stored_layer(store::Store& store, const Digest& diff_id);

/// A ByteSink writing into a store blob (commit the writer when the producer is done).
class BlobSink final : public layer::ByteSink {
 public:
  explicit BlobSink(store::BlobWriter& writer) : m_writer(writer) {}
  using layer::ByteSink::write;
  Status write(const void* data, size_t size) override { return m_writer.write(data, size); }

 private:
  store::BlobWriter& m_writer;
};

}  // namespace cbuild::exporter
