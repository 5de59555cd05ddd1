#include "tar_output.hpp"

namespace cbuild::layer {

Result<std::unique_ptr<TarOutput>> TarOutput::open(Compressor* next) {
  std::unique_ptr<TarOutput> out(new TarOutput());
  out->m_next = next;
  archive* a = archive_write_new();
  if (!a) return make_error("libarchive: out of memory");
  out->m_archive = a;
  // Restricted PAX: a PAX extended header only where ustar cannot hold a field;
  // xattrs as SCHILY.xattr.* only (what Go's archive/tar, docker and containerd read).
  // No blocking: every byte goes straight to on_write, and the archive ends right after
  // the two zero blocks, as Go's tar writer does.
  if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
      archive_write_set_format_option(a, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
      archive_write_add_filter_none(a) != ARCHIVE_OK ||
      archive_write_set_bytes_per_block(a, 0) != ARCHIVE_OK ||
      archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
      archive_write_open(a, out.get(), nullptr, &TarOutput::on_write, nullptr) != ARCHIVE_OK)
    return out->archive_failure().wrap("set up tar writer");
  return out;
}

TarOutput::~TarOutput() {
  if (m_archive) archive_write_free(m_archive);
}

la_ssize_t TarOutput::on_write(archive*, void* self, const void* data, size_t size) {
  auto* out = static_cast<TarOutput*>(self);
  out->m_sha.update(data, size);
  out->m_size += size;
  if (out->m_next) {
    Status st = out->m_next->write(data, size);
    if (!st.ok()) {
      out->m_sink_status = std::move(st);
      return -1;
    }
  }
  return static_cast<la_ssize_t>(size);
}

Error TarOutput::archive_failure() {
  if (!m_sink_status.ok()) return Error(m_sink_status.error());
  const char* msg = m_archive ? archive_error_string(m_archive) : nullptr;
  return make_error("{}", msg ? msg : "libarchive error");
}

Status TarOutput::write_header(archive_entry* entry) {
  // ARCHIVE_WARN: a name not translatable to UTF-8 was written as raw bytes with
  // `hdrcharset=BINARY` (see c_locale.hpp); the entry is complete.
  int rc = archive_write_header(m_archive, entry);
  if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) return archive_failure();
  return {};
}

Status TarOutput::write_data(const void* data, size_t size) {
  auto* p = static_cast<const char*>(data);
  while (size > 0) {
    la_ssize_t n = archive_write_data(m_archive, p, size);
    if (n <= 0) return archive_failure();
    p += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Result<Digest> TarOutput::close() {
  if (archive_write_close(m_archive) != ARCHIVE_OK) return archive_failure().wrap("finish tar");
  return m_sha.finish();
}

}  // namespace cbuild::layer
