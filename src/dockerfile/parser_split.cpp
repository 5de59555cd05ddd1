// Splitting an instruction line into keyword, flags and words (BuildKit's
// split_command.go and parseWords in line_parsers.go).
#include "dockerfile/parser_internal.hpp"
#include "dockerfile/parser_unicode.hpp"

namespace cbuild::dockerfile::detail {
namespace {

constexpr std::string_view k_ascii_blanks = " \t\v\f\r";  // BuildKit's reWhitespace

// The flag scanner works on bytes: a byte is taken as the Latin-1 character of that value
// (so 0x85 and 0xA0 count as whitespace and é comes out as Ã©), exactly as upstream.
bool byte_is_space(unsigned char c) { return unicode::is_space(c); }

// BuildKit's extractBuilderFlags: the `--flag` words at the start of `line`, and the rest.
std::string extract_flags(std::string_view line, char escape, std::vector<std::string>& flags) {
  enum { in_spaces, in_word, in_quote } phase = in_spaces;
  std::string word;
  unsigned char quote = 0;
  bool blank_ok = false;
  unsigned char ch = 0;
  auto esc = static_cast<unsigned char>(escape);
  for (std::size_t pos = 0; pos <= line.size(); ++pos) {
    if (pos != line.size()) ch = static_cast<unsigned char>(line[pos]);
    if (phase == in_spaces) {
      if (pos == line.size()) break;
      if (byte_is_space(ch)) continue;
      if (ch != '-' || pos + 1 == line.size() || line[pos + 1] != '-') return std::string(line.substr(pos));
      phase = in_word;
    }
    if (pos == line.size()) {
      if (word != "--" && (blank_ok || !word.empty())) flags.push_back(word);
      break;
    }
    if (phase == in_word) {
      if (byte_is_space(ch)) {
        phase = in_spaces;
        if (word == "--") return std::string(line.substr(pos));
        if (blank_ok || !word.empty()) flags.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = in_quote;
        continue;
      }
      if (ch == esc) {
        if (pos + 1 == line.size()) continue;  // a lone escape at the end is dropped
        ch = static_cast<unsigned char>(line[++pos]);
      }
      unicode::append_utf8(word, ch);
      continue;
    }
    // in_quote
    if (ch == quote) {
      phase = in_word;
      continue;
    }
    if (ch == esc) {
      if (pos + 1 == line.size()) {
        phase = in_word;
        continue;
      }
      ch = static_cast<unsigned char>(line[++pos]);
    }
    unicode::append_utf8(word, ch);
  }
  return {};
}

}  // namespace

SplitLine split_command(std::string_view line, char escape) {
  SplitLine split;
  std::string_view trimmed = unicode::trim_space(line);
  std::size_t blank = trimmed.find_first_of(k_ascii_blanks);
  if (blank == std::string_view::npos) {
    split.keyword = std::string(trimmed);
    return split;
  }
  split.keyword = std::string(trimmed.substr(0, blank));
  std::size_t rest = trimmed.find_first_not_of(k_ascii_blanks, blank);
  if (rest == std::string_view::npos) rest = trimmed.size();
  std::string args = extract_flags(trimmed.substr(rest), escape, split.flags);
  split.args = std::string(unicode::trim_space(args));
  return split;
}

std::vector<std::string> parse_words(std::string_view text, char escape) {
  enum { in_spaces, in_word, in_quote } phase = in_spaces;
  std::vector<std::string> words;
  std::string word;
  char32_t quote = 0;
  bool blank_ok = false;
  char32_t ch = 0;
  int width = 0;
  auto append = [&](char32_t r) { unicode::append_utf8(word, r); };
  for (std::size_t pos = 0; pos <= text.size(); pos += width) {
    if (pos != text.size()) {
      unicode::Decoded d = unicode::decode(text, pos);
      ch = d.rune;
      width = d.width;
    }
    if (phase == in_spaces) {
      if (pos == text.size()) break;
      if (unicode::is_space(ch)) continue;
      phase = in_word;
    }
    if (pos == text.size()) {
      if (blank_ok || !word.empty()) words.push_back(word);
      break;
    }
    if (phase == in_word) {
      if (unicode::is_space(ch)) {
        phase = in_spaces;
        if (blank_ok || !word.empty()) words.push_back(word);
        word.clear();
        blank_ok = false;
        continue;
      }
      if (ch == '\'' || ch == '"') {
        quote = ch;
        blank_ok = true;
        phase = in_quote;
      }
      if (ch == static_cast<unsigned char>(escape)) {
        if (pos + width == text.size()) continue;  // an escape at the very end is dropped
        append(ch);
        pos += width;
        unicode::Decoded d = unicode::decode(text, pos);
        ch = d.rune;
        width = d.width;
      }
      append(ch);
      continue;
    }
    // in_quote
    if (ch == quote) phase = in_word;
    if (ch == static_cast<unsigned char>(escape) && quote != '\'') {
      if (pos + width == text.size()) {
        phase = in_word;
        continue;
      }
      pos += width;
      append(ch);
      unicode::Decoded d = unicode::decode(text, pos);
      ch = d.rune;
      width = d.width;
    }
    append(ch);
  }
  return words;
}

}  // namespace cbuild::dockerfile::detail
