// Lazy layer compression for save/push: a layer blob in the wanted compression, made at
// most once per (diffID, compression) and remembered in the store's layer records.
#include <vector>

#include "cbuild/export/decompress.hpp"
#include "cbuild/export/save.hpp"
#include "cbuild/layer/compression.hpp"

namespace cbuild::exporter {
namespace {

namespace media = image::media;

layer::Compression to_layer(media::Compression c) {
  switch (c) {
    case media::Compression::none:
      return layer::Compression::none;
    case media::Compression::gzip:
      return layer::Compression::gzip;
    case media::Compression::zstd:
      return layer::Compression::zstd;
  }
  return layer::Compression::none;
}

/// Streams a stored blob through `decompressor`; the blob is verified at its end.
Status pump_blob(store::Store& store, const Digest& blob, Decompressor& decompressor) {
  auto reader = TRY(store.open_blob(blob));
  std::vector<char> buf(1 << 20);
  for (;;) {
    size_t n = TRY(reader.read(buf.data(), buf.size()));
    if (n == 0) return {};
    TRY(decompressor.write(buf.data(), n));
  }
}

}  // namespace

Result<std::optional<store::LayerRecord>> find_stored_layer(store::Store& store, const Digest& diff_id) {
  for (const store::LayerRecord& rec : TRY(store.layers_of(diff_id)))
    if (store.has_blob(rec.blob.digest)) return std::optional<store::LayerRecord>(rec);
  return std::optional<store::LayerRecord>();
}

Result<store::LayerRecord> ensure_layer_blob(store::Store& store, const Digest& diff_id,
                                             media::Compression compression, const LayerSource& source) {
  const std::string name(media::compression_name(compression));
  if (auto found = TRY(store.find_layer(diff_id, name)); found && store.has_blob(found->blob.digest))
    return *found;

  auto lease = TRY(store.lease());
  auto writer = TRY(store.begin_blob());
  BlobSink sink(writer);
  auto compressor = TRY(layer::Compressor::create({to_layer(compression), 0, 0}, sink));
  Decompressor decompressor(compressor.get());
  bool produced = false;
  if (auto from = TRY(find_stored_layer(store, diff_id))) {
    TRY(pump_blob(store, from->blob.digest, decompressor));
    produced = true;
  }
  if (!produced && store.has_blob(diff_id)) {  // an uncompressed tar stored under its diffID
    TRY(pump_blob(store, diff_id, decompressor));
    produced = true;
  }
  if (!produced && source) {
    TRY(source(diff_id, decompressor));
    produced = true;
  }
  if (!produced) {
    return make_error(ExitCode::not_found, "layer {} has no stored blob to export (rebuild the image)",
                      diff_id.str());
  }
  Decompressed tar = TRY(decompressor.finish());
  if (tar.diff_id != diff_id) {
    return make_error("layer {}: stored data has diffID {}", diff_id.str(), tar.diff_id.str());
  }
  layer::CompressedBlob blob = TRY(compressor->finish());
  store::Descriptor stored = TRY(writer.commit(blob.digest));
  store::LayerRecord record{diff_id, name, std::string(media::oci_layer_type(compression)), stored};
  TRY(store.put_layer(record));
  return record;
}

}  // namespace cbuild::exporter
