#pragma once
// Module-private: a layer's content digest on a second thread: SHA-256 over each entry's
// fields (mtime left out) followed, for a regular file, by the SHA-256 of its data. Two
// trees with the same names, types, modes, owners, link targets, xattrs and data have the
// same digest whatever their mtimes; a file whose data digest is known is not read for it.
#include <array>
#include <cstdint>
#include <string_view>

#include "cbuild/util/digest.hpp"
#include "pipelined_sha.hpp"

namespace cbuild::layer {

class ContentHasher {
 public:
  ContentHasher();
  ContentHasher(const ContentHasher&) = delete;
  ContentHasher& operator=(const ContentHasher&) = delete;

  /// An entry's encoded fields.
  void entry(std::string_view fields) { put(k_entry, fields); }
  /// Data of the regular file whose entry came last, in order (copied).
  void data(const void* bytes, size_t size) { put(k_data, std::string_view(static_cast<const char*>(bytes), size)); }
  /// The end of that file's data: its digest goes into the content.
  void end_data() { put(k_end, {}); }
  /// Instead of data() and end_data(): the file's data digest, known.
  void known(const std::array<uint8_t, 32>& digest) {
    put(k_known, std::string_view(reinterpret_cast<const char*>(digest.data()), digest.size()));
  }
  Digest finish();  ///< once

 private:
  static constexpr char k_entry = 'h', k_data = 'd', k_end = 'e', k_known = 'k';
  /// Records of a kind byte, a u32 length and the bytes, never across chunks (long ones are
  /// split: pieces of one kind add up to the same hash).
  void put(char kind, std::string_view bytes);
  void consume(const char* p, size_t n);

  Sha256 m_content, m_file;  // before the pipe: its thread uses them until joined
  ChunkPipe m_pipe;
};

}  // namespace cbuild::layer
