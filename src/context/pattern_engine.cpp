#include "pattern_engine.hpp"

namespace cbuild::context::detail {

char32_t decode_rune(std::string_view s, size_t pos, size_t& len) {
  constexpr char32_t k_invalid = 0xFFFD;
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  len = 1;
  if (b0 < 0x80) return b0;
  size_t need = b0 >= 0xC2 && b0 <= 0xDF   ? 1
                : b0 >= 0xE0 && b0 <= 0xEF ? 2
                : b0 >= 0xF0 && b0 <= 0xF4 ? 3
                                           : 0;
  if (need == 0 || pos + need >= s.size()) return k_invalid;
  char32_t r = b0 & (0x3F >> need);
  for (size_t i = 1; i <= need; ++i) {
    unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return k_invalid;
    r = (r << 6) | (b & 0x3F);
  }
  static constexpr char32_t k_min[] = {0, 0x80, 0x800, 0x10000};
  if (r < k_min[need] || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF)) return k_invalid;
  len = need + 1;
  return r;
}

Error bad_pattern(std::string_view pattern) {
  return make_error(ExitCode::bad_input, "syntax error in pattern `{}`", pattern);
}

namespace {

/// One class member: an optionally escaped character (Go's getEsc).
Result<char32_t> class_char(std::string_view pattern, size_t& pos) {
  if (pos >= pattern.size() || pattern[pos] == '-' || pattern[pos] == ']') return bad_pattern(pattern);
  if (pattern[pos] == '\\') {
    ++pos;
    if (pos >= pattern.size()) return bad_pattern(pattern);
  }
  size_t len = 0;
  char32_t r = decode_rune(pattern, pos, len);
  if (r == 0xFFFD && len == 1) return bad_pattern(pattern);
  pos += len;
  if (pos >= pattern.size()) return bad_pattern(pattern);  // the class never closes
  return r;
}

}  // namespace

Result<size_t> parse_class(std::string_view pattern, size_t pos, bool strict_ranges, Token& out) {
  out = Token{};
  out.kind = Token::Kind::rune_class;
  ++pos;  // '['
  if (pos < pattern.size() && pattern[pos] == '^') {
    out.negated = true;
    ++pos;
  }
  for (;;) {
    if (pos < pattern.size() && pattern[pos] == ']' && !out.ranges.empty()) return pos + 1;
    RuneRange range;
    range.lo = TRY(class_char(pattern, pos));
    range.hi = range.lo;
    if (pattern[pos] == '-') {
      ++pos;
      range.hi = TRY(class_char(pattern, pos));
    }
    if (strict_ranges && range.hi < range.lo) return bad_pattern(pattern);
    out.ranges.push_back(range);
  }
}

void append_literal(Tokens& tokens, char c) {
  if (tokens.empty() || tokens.back().kind != Token::Kind::literal) tokens.push_back(Token{});
  tokens.back().literal += c;
}

void append_token(Tokens& tokens, Token::Kind kind) {
  Token t;
  t.kind = kind;
  tokens.push_back(std::move(t));
}

namespace {

class Matcher {
 public:
  Matcher(const Tokens& tokens, std::string_view text)
      : m_tokens(tokens), m_text(text), m_failed((tokens.size() + 1) * (text.size() + 1), false) {}

  bool run(size_t ti, size_t pos) {
    if (ti == m_tokens.size()) return pos == m_text.size();
    size_t key = ti * (m_text.size() + 1) + pos;
    if (m_failed[key]) return false;
    bool ok = step(m_tokens[ti], ti, pos);
    if (!ok) m_failed[key] = true;
    return ok;
  }

 private:
  bool step(const Token& t, size_t ti, size_t pos) {
    switch (t.kind) {
      case Token::Kind::literal:
        return m_text.substr(pos).starts_with(t.literal) && run(ti + 1, pos + t.literal.size());
      case Token::Kind::star:
        for (size_t p = pos;;) {
          if (run(ti + 1, p)) return true;
          if (p == m_text.size() || m_text[p] == '/') return false;
          size_t len = 0;
          decode_rune(m_text, p, len);
          p += len;
        }
      case Token::Kind::any_rune:
      case Token::Kind::rune_class: {
        if (pos == m_text.size()) return false;
        size_t len = 0;
        char32_t r = decode_rune(m_text, pos, len);
        if (!rune_matches(t, r)) return false;
        return run(ti + 1, pos + len);
      }
      case Token::Kind::any_dirs:  // regexp `(.*/)?`
        if (run(ti + 1, pos)) return true;
        for (size_t p = pos; p < m_text.size() && m_text[p] != '\n'; ++p)
          if (m_text[p] == '/' && run(ti + 1, p + 1)) return true;
        return false;
      case Token::Kind::any_tail:  // regexp `.*` (Go's `.` stops at newlines)
        for (size_t p = pos;; ++p) {
          if (run(ti + 1, p)) return true;
          if (p == m_text.size() || m_text[p] == '\n') return false;
        }
    }
    return false;
  }

  static bool rune_matches(const Token& t, char32_t r) {
    if (t.kind == Token::Kind::any_rune) return r != '/';
    bool in = false;
    for (const auto& range : t.ranges)
      if (range.lo <= r && r <= range.hi) in = true;
    return in != t.negated;
  }

  const Tokens& m_tokens;
  std::string_view m_text;
  std::vector<bool> m_failed;
};

}  // namespace

bool match_tokens(const Tokens& tokens, std::string_view text) {
  Matcher m(tokens, text);
  return m.run(0, 0);
}

}  // namespace cbuild::context::detail
