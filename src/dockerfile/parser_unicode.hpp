#pragma once
// Module-private: the few Unicode rules of the Go standard library that BuildKit's parser
// depends on, so that cbuild splits and dumps Dockerfiles exactly as BuildKit does.
//   decode()       utf8.DecodeRune: an invalid byte decodes as U+FFFD with width 1
//   is_space()     unicode.IsSpace
//   is_print()     strconv.IsPrint: categories L, M, N, P, S and U+0020
//   is_letter()    unicode.IsLetter (L*), is_digit(): unicode.IsDigit (Nd)
//   to_lower()     unicode.ToLower (simple mapping), strings.ToLower on whole strings
// Tables come from UnicodeData.txt 15.0 (parser_unicode_tables.cpp, generated).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace cbuild::dockerfile::unicode {

constexpr char32_t k_replacement = 0xFFFD;

struct Decoded {
  char32_t rune;  ///< k_replacement for an invalid byte
  int width;      ///< bytes consumed, 1 for an invalid byte, 0 at end of input
};

/// Decode one rune at `pos` like Go's utf8.DecodeRuneInString.
Decoded decode(std::string_view s, std::size_t pos);
/// Append the UTF-8 encoding of `r` (surrogates and out-of-range values as U+FFFD).
void append_utf8(std::string& out, char32_t r);

bool is_space(char32_t r);
bool is_print(char32_t r);
bool is_letter(char32_t r);
bool is_digit(char32_t r);
char32_t to_lower(char32_t r);

/// Go's strings.ToLower: lowercases each rune; invalid bytes become U+FFFD.
std::string to_lower(std::string_view s);
/// Go's strings.TrimSpace / TrimLeftFunc(unicode.IsSpace) / TrimRightFunc.
std::string_view trim_space(std::string_view s);
std::string_view trim_left_space(std::string_view s);
std::string_view trim_right_space(std::string_view s);

/// Replace every byte that is not part of valid UTF-8 with U+FFFD (what Go's JSON decoder
/// does inside strings).
std::string sanitize_utf8(std::string_view s);

namespace tables {
struct CodeRange {
  char32_t lo, hi;
};
struct CaseMapping {
  char32_t from, to;
};
extern const CodeRange k_print[];
extern const std::size_t k_print_size;
extern const CodeRange k_letter[];
extern const std::size_t k_letter_size;
extern const CodeRange k_digit[];
extern const std::size_t k_digit_size;
extern const CaseMapping k_lower[];
extern const std::size_t k_lower_size;
}  // namespace tables

}  // namespace cbuild::dockerfile::unicode
