// Images, tags and layer records.
#include "cbuild/store/store.hpp"
#include "impl.hpp"

namespace cbuild::store {

namespace {

constexpr const char* k_image_columns = "i.manifest, i.config, i.media_type, i.size, i.created";

Digest digest_or_empty(const std::string& text) {
  auto d = Digest::parse(text);
  return d.ok() ? *d : Digest();
}

ImageRecord image_from(const detail::Query& q, int col) {
  return ImageRecord{digest_or_empty(q.text(col)), digest_or_empty(q.text(col + 1)), q.text(col + 2),
                     q.u64(col + 3), q.i64(col + 4)};
}

LayerRecord layer_from(const detail::Query& q) {
  // columns: blob, diff_id, compression, media_type, size
  return LayerRecord{digest_or_empty(q.text(1)), q.text(2), q.text(3), Descriptor{digest_or_empty(q.text(0)), q.u64(4)}};
}

Status require_blob(const Store& store, const Digest& digest, std::string_view what) {
  if (digest.empty()) return make_error(ExitCode::bad_input, "{}: empty digest", what);
  if (!store.has_blob(digest))
    return make_error(ExitCode::not_found, "{}: blob {} is not in the store", what, digest.str());
  return {};
}

Status insert_image(Store::Impl& impl, const ImageRecord& image) {
  auto q = TRY(impl.db.query(
      "INSERT INTO images(manifest, config, media_type, size, created) VALUES (?, ?, ?, ?, ?) "
      "ON CONFLICT(manifest) DO UPDATE SET config = excluded.config, media_type = excluded.media_type, "
      "size = excluded.size"));
  return q.bind(image.manifest.str()).bind(image.config.str()).bind(image.media_type).bind(image.size)
      .bind(image.created ? image.created : now_seconds()).run();
}

}  // namespace

Status Store::put_image(const ImageRecord& image) {
  TRY(require_blob(*this, image.manifest, "store image"));
  if (!image.config.empty()) TRY(require_blob(*this, image.config, "store image config"));
  return m_impl->write([&] { return insert_image(*m_impl, image); });
}

Result<std::optional<ImageRecord>> Store::get_image(const Digest& manifest) {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(fmt::format("SELECT {} FROM images i WHERE i.manifest = ?", k_image_columns)));
  q.bind(manifest.str());
  if (!TRY(q.step())) return std::optional<ImageRecord>();
  return std::optional<ImageRecord>(image_from(q, 0));
}

Result<std::vector<ImageRecord>> Store::list_images() {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(fmt::format("SELECT {} FROM images i ORDER BY i.created DESC, i.manifest", k_image_columns)));
  std::vector<ImageRecord> out;
  while (TRY(q.step())) out.push_back(image_from(q, 0));
  return out;
}

Result<bool> Store::remove_image(const Digest& manifest) {
  bool existed = false;
  TRY(m_impl->write([&]() -> Status {
    auto tags = TRY(m_impl->db.query("DELETE FROM tags WHERE manifest = ?"));
    TRY(tags.bind(manifest.str()).run());
    auto q = TRY(m_impl->db.query("DELETE FROM images WHERE manifest = ?"));
    TRY(q.bind(manifest.str()).run());
    existed = q.changes() > 0;
    return {};
  }));
  return existed;
}

Status Store::set_tag(std::string_view name, const ImageRecord& image) {
  if (name.empty()) return make_error(ExitCode::bad_input, "tag image: empty name");
  TRY(require_blob(*this, image.manifest, fmt::format("tag `{}`", name)));
  if (!image.config.empty()) TRY(require_blob(*this, image.config, fmt::format("tag `{}`", name)));
  return m_impl->write([&]() -> Status {
    TRY(insert_image(*m_impl, image));
    auto q = TRY(m_impl->db.query("INSERT OR REPLACE INTO tags(name, manifest, updated) VALUES (?, ?, ?)"));
    return q.bind(name).bind(image.manifest.str()).bind(now_seconds()).run();
  });
}

Result<std::optional<TagRecord>> Store::get_tag(std::string_view name) {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(fmt::format(
      "SELECT t.name, t.updated, {} FROM tags t JOIN images i ON i.manifest = t.manifest WHERE t.name = ?",
      k_image_columns)));
  q.bind(name);
  if (!TRY(q.step())) return std::optional<TagRecord>();
  return std::optional<TagRecord>(TagRecord{q.text(0), image_from(q, 2), q.i64(1)});
}

Result<std::vector<TagRecord>> Store::list_tags() {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(fmt::format(
      "SELECT t.name, t.updated, {} FROM tags t JOIN images i ON i.manifest = t.manifest ORDER BY t.name",
      k_image_columns)));
  std::vector<TagRecord> out;
  while (TRY(q.step())) out.push_back(TagRecord{q.text(0), image_from(q, 2), q.i64(1)});
  return out;
}

Result<bool> Store::remove_tag(std::string_view name) {
  bool existed = false;
  TRY(m_impl->write([&]() -> Status {
    auto q = TRY(m_impl->db.query("DELETE FROM tags WHERE name = ?"));
    TRY(q.bind(name).run());
    existed = q.changes() > 0;
    return {};
  }));
  return existed;
}

Result<std::vector<std::string>> Store::tags_of(const Digest& manifest) {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query("SELECT name FROM tags WHERE manifest = ? ORDER BY name"));
  q.bind(manifest.str());
  std::vector<std::string> out;
  while (TRY(q.step())) out.push_back(q.text(0));
  return out;
}

// ---- layer records ---------------------------------------------------------------------------

Status Store::put_layer(const LayerRecord& layer) {
  if (layer.diff_id.empty()) return make_error(ExitCode::bad_input, "store layer record: empty diffID");
  TRY(require_blob(*this, layer.blob.digest, fmt::format("store layer {}", layer.diff_id.str())));
  return m_impl->write([&]() -> Status {
    auto q = TRY(m_impl->db.query(
        "INSERT OR REPLACE INTO layers(blob, diff_id, compression, media_type, size) VALUES (?, ?, ?, ?, ?)"));
    return q.bind(layer.blob.digest.str()).bind(layer.diff_id.str()).bind(layer.compression)
        .bind(layer.media_type).bind(layer.blob.size).run();
  });
}

Result<std::optional<LayerRecord>> Store::find_layer(const Digest& diff_id, std::string_view compression) {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(
      "SELECT blob, diff_id, compression, media_type, size FROM layers WHERE diff_id = ? AND compression = ? "
      "ORDER BY blob LIMIT 1"));
  q.bind(diff_id.str()).bind(compression);
  if (!TRY(q.step())) return std::optional<LayerRecord>();
  return std::optional<LayerRecord>(layer_from(q));
}

Result<std::vector<LayerRecord>> Store::layers_of(const Digest& diff_id) {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(
      "SELECT blob, diff_id, compression, media_type, size FROM layers WHERE diff_id = ? ORDER BY compression, blob"));
  q.bind(diff_id.str());
  std::vector<LayerRecord> out;
  while (TRY(q.step())) out.push_back(layer_from(q));
  return out;
}

Result<std::optional<LayerRecord>> Store::find_layer_by_blob(const Digest& blob) {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query("SELECT blob, diff_id, compression, media_type, size FROM layers WHERE blob = ?"));
  q.bind(blob.str());
  if (!TRY(q.step())) return std::optional<LayerRecord>();
  return std::optional<LayerRecord>(layer_from(q));
}

}  // namespace cbuild::store
