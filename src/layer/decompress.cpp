#include "decompress.hpp"

#include "cbuild/util/archive_read.hpp"

namespace cbuild::layer {

DecompressedSource::~DecompressedSource() {
  if (m_outer) archive_read_free(m_outer);
}

Status DecompressedSource::open(int fd) {
  m_outer = archive_read_new();
  if (!m_outer) return make_error("libarchive: out of memory");
  TRY(enable_decompression(m_outer));
  archive_read_support_format_raw(m_outer);
  archive_entry* raw = nullptr;
  if (archive_read_open_fd(m_outer, fd, 1 << 20) != ARCHIVE_OK ||
      archive_read_next_header(m_outer, &raw) != ARCHIVE_OK) {
    const char* msg = archive_error_string(m_outer);
    return make_error(ExitCode::bad_input,
                      "cannot read a layer (tar, optionally gzip, zstd, bzip2 "
                      "or xz compressed): {}",
                      msg ? msg : "empty input");
  }
  return {};
}

la_ssize_t DecompressedSource::read(archive*, void* self, const void** buffer) {
  auto* src = static_cast<DecompressedSource*>(self);
  size_t size = 0;
  la_int64_t offset = 0;
  int rc = archive_read_data_block(src->m_outer, buffer, &size, &offset);
  if (rc == ARCHIVE_EOF) return 0;
  if (rc != ARCHIVE_OK) {
    src->m_error = src->failure();
    return -1;
  }
  src->m_sha.update(*buffer, size);
  src->m_size += size;
  return static_cast<la_ssize_t>(size);
}

Result<Digest> DecompressedSource::finish() {
  const void* buffer = nullptr;
  while (la_ssize_t n = read(nullptr, this, &buffer)) {
    if (n < 0) return m_error.error();
  }
  return m_sha.finish();
}

std::optional<Compression> DecompressedSource::compression() const {
  switch (archive_filter_code(m_outer, 0)) {
    case ARCHIVE_FILTER_NONE:
      return Compression::none;
    case ARCHIVE_FILTER_GZIP:
      return Compression::gzip;
    case ARCHIVE_FILTER_ZSTD:
      return Compression::zstd;
    default:
      return std::nullopt;
  }
}

Error DecompressedSource::failure() const {
  const char* msg = archive_error_string(m_outer);
  const char* filter = archive_filter_name(m_outer, 0);
  return make_error(ExitCode::bad_input, "decompress ({}): {}", filter ? filter : "?",
                    msg ? msg : "unknown error");
}

}  // namespace cbuild::layer
