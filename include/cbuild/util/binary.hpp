#pragma once
/// Little-endian binary encoding for cbuild's own compact formats (file records, lists a
/// child process hands back, hash inputs): unsigned integers, and byte strings after their
/// u32 length.
#include <concepts>
#include <cstdint>
#include <string>
#include <string_view>

#include "cbuild/util/result.hpp"

namespace cbuild::binary {

template <std::unsigned_integral T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  for (size_t i = 0; i < sizeof(T); ++i) bytes[i] = static_cast<char>((static_cast<uint64_t>(value) >> (8 * i)) & 0xff);
  out.append(bytes, sizeof(T));
}

inline void put_text(std::string& out, std::string_view text) {
  put(out, static_cast<uint32_t>(text.size()));
  out.append(text);
}

/// Reads what put() and put_text() wrote; running past the end is an error naming `what`.
class Reader {
 public:
  Reader(std::string_view data, std::string_view what) : m_data(data), m_what(what) {}
  bool done() const { return m_data.empty(); }
  size_t left() const { return m_data.size(); }

  template <std::unsigned_integral T>
  Result<T> get() {
    std::string_view b = TRY(bytes(sizeof(T)));
    uint64_t v = 0;
    for (size_t i = 0; i < sizeof(T); ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(b[i])) << (8 * i);
    return static_cast<T>(v);
  }
  Result<std::string_view> text() { return bytes(TRY(get<uint32_t>())); }
  Result<std::string_view> bytes(size_t n) {
    if (m_data.size() < n) return make_error(ExitCode::bad_input, "{}: truncated", m_what);
    std::string_view s = m_data.substr(0, n);
    m_data.remove_prefix(n);
    return s;
  }

 private:
  std::string_view m_data;
  std::string_view m_what;
};

}  // namespace cbuild::binary
