#include "content_hasher.hpp"

#include <algorithm>
#include <cstring>

namespace cbuild::layer {

namespace {
constexpr size_t k_record_header = 5;
constexpr size_t k_piece_max = ChunkPipe::k_reserve_max - k_record_header;
}  // namespace

ContentHasher::ContentHasher() : m_pipe([this](const char* p, size_t n) { consume(p, n); }) {}

void ContentHasher::put(char kind, std::string_view bytes) {
  do {
    size_t piece = std::min(bytes.size(), k_piece_max);
    auto [buf, room] = m_pipe.reserve(k_record_header + piece);
    buf[0] = kind;
    auto len = static_cast<uint32_t>(piece);
    std::memcpy(buf + 1, &len, sizeof len);
    if (piece) std::memcpy(buf + k_record_header, bytes.data(), piece);
    m_pipe.update(buf, k_record_header + piece);
    bytes.remove_prefix(piece);
  } while (!bytes.empty());
}

void ContentHasher::consume(const char* p, size_t n) {
  const char* end = p + n;
  while (p < end) {
    char kind = p[0];
    uint32_t len = 0;
    std::memcpy(&len, p + 1, sizeof len);
    const char* bytes = p + k_record_header;
    switch (kind) {
      case k_entry:
      case k_known:
        m_content.update(bytes, len);
        break;
      case k_data:
        m_file.update(bytes, len);
        break;
      case k_end: {
        auto digest = m_file.finish().bytes();
        m_content.update(digest.data(), digest.size());
        m_file = Sha256();
        break;
      }
    }
    p = bytes + len;
  }
}

Digest ContentHasher::finish() {
  m_pipe.finish();
  return m_content.finish();
}

}  // namespace cbuild::layer
