// Parser directives (`# syntax=`, `# escape=`, `# check=`) and line continuations,
// as BuildKit's directives.go and parser.go read them.
#include "dockerfile/parser_internal.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <algorithm>
#include <array>

namespace cbuild::dockerfile::detail {
namespace {

constexpr std::array<std::string_view, 3> k_directive_keys = {"syntax", "escape", "check"};

// `\s` of Go's regexp (RE2): no vertical tab.
bool is_regex_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }
bool is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_alnum(char c) { return is_alpha(c) || (c >= '0' && c <= '9'); }

// Match `^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$` as Go's regexp does (leftmost-first).
std::optional<Directive> match_directive(std::string_view text) {
  if (text.empty() || !is_alpha(text[0])) return std::nullopt;
  std::size_t pos = 1;
  while (pos < text.size() && is_alnum(text[pos])) ++pos;
  Directive directive{std::string(text.substr(0, pos)), {}};
  while (pos < text.size() && is_regex_space(text[pos])) ++pos;
  if (pos == text.size() || text[pos] != '=') return std::nullopt;
  std::string_view rest = text.substr(pos + 1);
  std::size_t begin = 0;
  while (begin < rest.size() && is_regex_space(rest[begin])) ++begin;
  if (begin == rest.size()) {
    // Only blanks after '=': the greedy `\s*` gives one back so `(.+?)` holds the last one.
    if (rest.empty()) return std::nullopt;
    directive.value = std::string(rest.substr(rest.size() - 1));
    return directive;
  }
  std::size_t end = rest.size();
  while (end > begin && is_regex_space(rest[end - 1])) --end;
  directive.value = std::string(rest.substr(begin, end - begin));
  return directive;
}

}  // namespace

Result<std::optional<Directive>> DirectiveParser::parse_line(std::string_view line) {
  if (m_done) return std::optional<Directive>{};
  if (line.empty() || line[0] != '#') {
    m_done = true;
    return std::optional<Directive>{};
  }
  std::optional<Directive> directive = match_directive(unicode::trim_left_space(line.substr(1)));
  if (directive) directive->key = unicode::to_lower(directive->key);
  bool known = directive && std::find(k_directive_keys.begin(), k_directive_keys.end(), directive->key) !=
                                k_directive_keys.end();
  if (!known) {
    m_done = true;
    return std::optional<Directive>{};
  }
  if (!m_seen.insert(directive->key).second) {
    return make_error(ExitCode::bad_input, "only one {} parser directive can be used", directive->key);
  }
  return directive;
}

std::string_view trim_continuation(std::string_view line, char escape, bool& continues) {
  // BuildKit: `([^E])E[ \t]*$|^E[ \t]*$` replaced by the captured character.
  std::size_t end = line.size();
  while (end > 0 && (line[end - 1] == ' ' || line[end - 1] == '\t')) --end;
  continues = false;
  if (end == 0 || line[end - 1] != escape) return line;
  std::size_t at = end - 1;
  if (at > 0 && line[at - 1] == escape) return line;
  continues = true;
  return line.substr(0, at);
}

}  // namespace cbuild::dockerfile::detail
