#include "cbuild/context/ignore.hpp"

#include <cerrno>

#include "cbuild/context/match.hpp"
#include "cbuild/util/fs.hpp"
#include "pattern_engine.hpp"

namespace cbuild::context {

namespace detail {

/// How a pattern is tested, as patternmatcher decides when it compiles one.
enum class MatchKind : uint8_t { exact, prefix, suffix, tokens };

struct IgnorePattern {
  std::string text;  ///< cleaned, without the leading '!'
  bool exception = false;
  MatchKind kind = MatchKind::exact;
  Tokens tokens;

  bool matches(std::string_view path) const {
    switch (kind) {
      case MatchKind::exact:
        return path == text;
      case MatchKind::prefix:  // "dir/**"
        return path.starts_with(std::string_view(text).substr(0, text.size() - 2));
      case MatchKind::suffix: {  // "**/name", "**name"
        std::string_view suffix = std::string_view(text).substr(2);
        if (path.ends_with(suffix)) return true;
        return !suffix.empty() && suffix[0] == '/' && path == suffix.substr(1);
      }
      case MatchKind::tokens:
        return match_tokens(tokens, path);
    }
    return false;
  }
};

}  // namespace detail

using detail::IgnorePattern;
using detail::MatchKind;
using detail::Token;

namespace {

constexpr std::string_view k_space = " \t\n\r\v\f";

std::string_view trim(std::string_view s) {
  size_t b = s.find_first_not_of(k_space);
  if (b == std::string_view::npos) return {};
  size_t e = s.find_last_not_of(k_space);
  return s.substr(b, e - b + 1);
}

/// Translates a cleaned pattern the way patternmatcher builds its regexp, keeping the
/// exact/prefix/suffix shortcuts it takes (they decide some edge cases, e.g. `**file`
/// matches "dir/xfile" by suffix).
Status compile(IgnorePattern& p) {
  std::string_view s = p.text;
  MatchKind kind = MatchKind::exact;
  for (size_t i = 0; i < s.size();) {
    bool first = i == 0;
    char c = s[i];
    if (c == '*' && i + 1 < s.size() && s[i + 1] == '*') {
      i += 2;
      if (i < s.size() && s[i] == '/') ++i;
      if (i == s.size()) {
        if (kind == MatchKind::exact) {
          kind = MatchKind::prefix;
        } else {
          detail::append_token(p.tokens, Token::Kind::any_tail);
          kind = MatchKind::tokens;
        }
      } else {
        detail::append_token(p.tokens, Token::Kind::any_dirs);
        kind = MatchKind::tokens;
      }
      if (first) kind = MatchKind::suffix;
    } else if (c == '*' || c == '?') {
      detail::append_token(p.tokens, c == '*' ? Token::Kind::star : Token::Kind::any_rune);
      kind = MatchKind::tokens;
      ++i;
    } else if (c == '\\') {
      if (i + 1 < s.size()) {
        detail::append_literal(p.tokens, s[i + 1]);
        kind = MatchKind::tokens;
        i += 2;
      } else {
        detail::append_literal(p.tokens, '\\');
        ++i;
      }
    } else if (c == '[') {
      Token t;
      i = TRY(detail::parse_class(s, i, true, t));
      p.tokens.push_back(std::move(t));
      kind = MatchKind::tokens;
    } else {
      if (c == ']') kind = MatchKind::tokens;
      detail::append_literal(p.tokens, c);
      ++i;
    }
  }
  p.kind = kind;
  return {};
}

std::string without_trailing_glob(std::string_view s) {
  if (s.ends_with("/**"))
    s.remove_suffix(3);
  else if (s.ends_with("/*"))
    s.remove_suffix(2);
  return std::string(s);
}

}  // namespace

std::vector<std::string> parse_ignore_file(std::string_view text) {
  std::vector<std::string> out;
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with('#')) continue;
    line = trim(line);
    if (line.empty()) continue;
    bool invert = line[0] == '!';
    if (invert) line = trim(line.substr(1));
    std::string pattern;
    if (!line.empty()) {
      pattern = clean_path(line);
      if (pattern.size() > 1 && pattern[0] == '/') pattern.erase(0, 1);
    }
    out.push_back(invert ? "!" + pattern : pattern);
  }
  return out;
}

PatternMatcher::PatternMatcher() = default;
PatternMatcher::PatternMatcher(PatternMatcher&&) noexcept = default;
PatternMatcher& PatternMatcher::operator=(PatternMatcher&&) noexcept = default;
PatternMatcher::~PatternMatcher() = default;

Result<PatternMatcher> PatternMatcher::create(const std::vector<std::string>& patterns) {
  PatternMatcher m;
  for (const auto& raw : patterns) {
    std::string_view trimmed = trim(raw);
    if (trimmed.empty()) continue;
    IgnorePattern p;
    p.text = clean_path(trimmed);
    if (p.text[0] == '!') {
      if (p.text.size() == 1) return make_error(ExitCode::bad_input, "illegal exclusion pattern: \"!\"");
      p.exception = true;
      p.text.erase(0, 1);
      m.m_has_exceptions = true;
      if (without_trailing_glob(p.text).find_first_of("*[]?^\\") != std::string::npos)
        m.m_only_plain_exceptions = false;
    }
    TRY(Glob::compile(p.text));  // Go syntax first, as patternmatcher.New does
    TRY(compile(p));
    m.m_patterns.push_back(std::move(p));
  }
  return m;
}

bool PatternMatcher::empty() const { return m_patterns.empty(); }

bool PatternMatcher::match(std::string_view path, const MatchInfo& parent, MatchInfo* info) const {
  bool matched = false;
  if (info) info->assign(m_patterns.size(), 0);
  for (size_t i = 0; i < m_patterns.size(); ++i) {
    const IgnorePattern& p = m_patterns[i];
    bool hit = !parent.empty() && parent[i];
    if (!hit) {
      // An inclusion cannot change an already excluded path, an exception cannot change
      // one that is not excluded: skip them (and record no match, as patternmatcher does).
      if (p.exception != matched) continue;
      hit = p.matches(path);
      for (size_t slash = path.find('/'); !hit && parent.empty() && slash != std::string_view::npos;
           slash = path.find('/', slash + 1))
        hit = p.matches(path.substr(0, slash));
    }
    if (info) (*info)[i] = hit;
    if (hit) matched = !p.exception;
  }
  return matched;
}

bool PatternMatcher::matches(std::string_view path) const { return match(path, {}, nullptr); }

bool PatternMatcher::matches_exact(std::string_view path) const {
  bool matched = false;
  for (const auto& p : m_patterns) {
    if (p.exception != matched) continue;
    if (p.matches(path)) matched = !p.exception;
  }
  return matched;
}

bool PatternMatcher::must_walk_excluded_dir(std::string_view dir) const {
  if (!m_has_exceptions) return false;
  if (!m_only_plain_exceptions) return true;
  std::string dir_slash = std::string(dir) + "/";
  for (const auto& p : m_patterns)
    if (p.exception && (without_trailing_glob(p.text) + "/").starts_with(dir_slash)) return true;
  return false;
}

Result<IgnoreFile> load_ignore_file(const fs::path& context_dir, const fs::path& dockerfile) {
  std::vector<fs::path> candidates;
  if (!dockerfile.empty()) candidates.push_back(fs::path(dockerfile.string() + ".dockerignore"));
  candidates.push_back(context_dir / ".dockerignore");
  for (const auto& candidate : candidates) {
    auto text = read_file(candidate);
    if (!text) {
      std::error_code ec;
      if (!fs::exists(fs::symlink_status(candidate, ec))) continue;
      return std::move(text).error();
    }
    IgnoreFile file{candidate, parse_ignore_file(*text)};
    if (auto m = PatternMatcher::create(file.patterns); !m)
      return std::move(m).error().wrap("parse `{}`", candidate.string());
    return file;
  }
  return IgnoreFile{};
}

}  // namespace cbuild::context
