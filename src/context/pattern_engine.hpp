#pragma once
/// Module-private: the token form shared by Go `filepath.Match` globs and .dockerignore
/// patterns, and the matcher that runs it. A pattern is compiled once into tokens; matching
/// is a memoised backtracking search (paths are short, so this stays cheap).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::context::detail {

struct RuneRange {
  char32_t lo = 0, hi = 0;
};

struct Token {
  enum class Kind : uint8_t {
    literal,     ///< exact bytes
    star,        ///< any run of characters except '/'
    any_rune,    ///< one character except '/'
    rune_class,  ///< `[...]`: one character in (or, negated, not in) the ranges
    any_dirs,    ///< `**/` in ignore patterns: empty, or anything ending in '/'
    any_tail,    ///< trailing `**` in ignore patterns: anything
  };
  Kind kind = Kind::literal;
  std::string literal;
  bool negated = false;
  std::vector<RuneRange> ranges;
};

using Tokens = std::vector<Token>;

/// Decodes one UTF-8 character at `s[pos]`; `len` receives its byte length (1 for an
/// invalid byte, which decodes to U+FFFD as Go does).
char32_t decode_rune(std::string_view s, size_t pos, size_t& len);

/// Parses a character class whose '[' is at `pattern[pos]`, with Go `filepath.Match` rules
/// (`^` negates, `a-z` ranges, `\` escapes; `]` or `-` may not start a range). Returns the
/// index just past the closing ']'. `strict_ranges` also rejects reversed ranges (`[z-a]`),
/// which Go's regexp package refuses when it compiles ignore patterns.
Result<size_t> parse_class(std::string_view pattern, size_t pos, bool strict_ranges, Token& out);

/// Appends one literal byte, merging with a preceding literal token.
void append_literal(Tokens& tokens, char c);
void append_token(Tokens& tokens, Token::Kind kind);

/// True when `tokens` match the whole of `text`.
bool match_tokens(const Tokens& tokens, std::string_view text);

/// The error every malformed pattern gives (Go's `filepath.ErrBadPattern`).
Error bad_pattern(std::string_view pattern);

}  // namespace cbuild::context::detail
