#include "dockerfile/parser_unicode.hpp"

#include <algorithm>

namespace cbuild::dockerfile::unicode {
namespace {

bool in_ranges(const tables::CodeRange* ranges, std::size_t size, char32_t r) {
  const tables::CodeRange* end = ranges + size;
  const tables::CodeRange* it =
      std::upper_bound(ranges, end, r, [](char32_t v, const tables::CodeRange& cr) { return v < cr.lo; });
  return it != ranges && r <= (it - 1)->hi;
}

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

}  // namespace

Decoded decode(std::string_view s, std::size_t pos) {
  if (pos >= s.size()) return {k_replacement, 0};
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(s[pos + i]); };
  unsigned char c0 = byte(0);
  if (c0 < 0x80) return {c0, 1};
  const Decoded invalid{k_replacement, 1};
  std::size_t left = s.size() - pos;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    if (left < 2 || !is_continuation(byte(1))) return invalid;
    return {static_cast<char32_t>(((c0 & 0x1F) << 6) | (byte(1) & 0x3F)), 2};
  }
  if (c0 >= 0xE0 && c0 <= 0xEF) {
    if (left < 3) return invalid;
    unsigned char c1 = byte(1);
    // Second-byte bounds reject overlong forms (E0) and surrogates (ED), as Go does.
    unsigned char lo = c0 == 0xE0 ? 0xA0 : 0x80, hi = c0 == 0xED ? 0x9F : 0xBF;
    if (c1 < lo || c1 > hi || !is_continuation(byte(2))) return invalid;
    return {static_cast<char32_t>(((c0 & 0x0F) << 12) | ((c1 & 0x3F) << 6) | (byte(2) & 0x3F)), 3};
  }
  if (c0 >= 0xF0 && c0 <= 0xF4) {
    if (left < 4) return invalid;
    unsigned char c1 = byte(1);
    unsigned char lo = c0 == 0xF0 ? 0x90 : 0x80, hi = c0 == 0xF4 ? 0x8F : 0xBF;
    if (c1 < lo || c1 > hi || !is_continuation(byte(2)) || !is_continuation(byte(3))) return invalid;
    return {static_cast<char32_t>(((c0 & 0x07) << 18) | ((c1 & 0x3F) << 12) | ((byte(2) & 0x3F) << 6) |
                                  (byte(3) & 0x3F)),
            4};
  }
  return invalid;
}

void append_utf8(std::string& out, char32_t r) {
  if ((r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF) r = k_replacement;
  if (r < 0x80) {
    out += static_cast<char>(r);
  } else if (r < 0x800) {
    out += static_cast<char>(0xC0 | (r >> 6));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else if (r < 0x10000) {
    out += static_cast<char>(0xE0 | (r >> 12));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (r >> 18));
    out += static_cast<char>(0x80 | ((r >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((r >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (r & 0x3F));
  }
}

bool is_space(char32_t r) {
  switch (r) {
    case '\t': case '\n': case '\v': case '\f': case '\r': case ' ': case 0x85: case 0xA0:
    case 0x1680: case 0x2028: case 0x2029: case 0x202F: case 0x205F: case 0x3000:
      return true;
    default:
      return r >= 0x2000 && r <= 0x200A;
  }
}

bool is_print(char32_t r) {
  if (r < 0x80) return r >= 0x20 && r < 0x7F;
  return in_ranges(tables::k_print, tables::k_print_size, r);
}

bool is_letter(char32_t r) {
  if (r < 0x80) return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
  return in_ranges(tables::k_letter, tables::k_letter_size, r);
}

bool is_digit(char32_t r) {
  if (r < 0x80) return r >= '0' && r <= '9';
  return in_ranges(tables::k_digit, tables::k_digit_size, r);
}

char32_t to_lower(char32_t r) {
  if (r < 0x80) return (r >= 'A' && r <= 'Z') ? r + ('a' - 'A') : r;
  const tables::CaseMapping* end = tables::k_lower + tables::k_lower_size;
  const tables::CaseMapping* it = std::lower_bound(
      tables::k_lower, end, r, [](const tables::CaseMapping& m, char32_t v) { return m.from < v; });
  return (it != end && it->from == r) ? it->to : r;
}

std::string to_lower(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) {
    Decoded d = decode(s, pos);
    append_utf8(out, to_lower(d.rune));
    pos += d.width;
  }
  return out;
}

std::string_view trim_left_space(std::string_view s) {
  std::size_t pos = 0;
  while (pos < s.size()) {
    Decoded d = decode(s, pos);
    if (!is_space(d.rune)) break;
    pos += d.width;
  }
  return s.substr(pos);
}

std::string_view trim_right_space(std::string_view s) {
  // Walk forward so that multi-byte spaces are recognised; remember where the last
  // non-space rune ended.
  std::size_t end = 0;
  for (std::size_t pos = 0; pos < s.size();) {
    Decoded d = decode(s, pos);
    pos += d.width;
    if (!is_space(d.rune) || (d.rune == k_replacement && d.width == 1)) end = pos;
  }
  return s.substr(0, end);
}

std::string_view trim_space(std::string_view s) { return trim_right_space(trim_left_space(s)); }

std::string sanitize_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t pos = 0; pos < s.size();) {
    Decoded d = decode(s, pos);
    if (d.rune == k_replacement && d.width == 1) {
      append_utf8(out, k_replacement);
    } else {
      out.append(s.substr(pos, d.width));
    }
    pos += d.width;
  }
  return out;
}

}  // namespace cbuild::dockerfile::unicode
