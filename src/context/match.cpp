#include "cbuild/context/match.hpp"

#include "pattern_engine.hpp"

namespace cbuild::context {

using detail::Token;

Glob::Glob() : m_tokens(std::make_unique<std::vector<Token>>()) {}
Glob::Glob(Glob&&) noexcept = default;
Glob& Glob::operator=(Glob&&) noexcept = default;
Glob::~Glob() = default;

Result<Glob> Glob::compile(std::string_view pattern) {
  Glob glob;
  glob.m_pattern = std::string(pattern);
  auto& tokens = *glob.m_tokens;
  for (size_t i = 0; i < pattern.size();) {
    char c = pattern[i];
    if (c == '*') {
      if (tokens.empty() || tokens.back().kind != Token::Kind::star)
        detail::append_token(tokens, Token::Kind::star);
      ++i;
    } else if (c == '?') {
      detail::append_token(tokens, Token::Kind::any_rune);
      ++i;
    } else if (c == '[') {
      Token t;
      i = TRY(detail::parse_class(pattern, i, false, t));
      tokens.push_back(std::move(t));
    } else if (c == '\\') {
      if (i + 1 >= pattern.size()) return detail::bad_pattern(pattern);
      detail::append_literal(tokens, pattern[i + 1]);
      i += 2;
    } else {
      detail::append_literal(tokens, c);
      ++i;
    }
  }
  return glob;
}

bool Glob::matches(std::string_view name) const { return detail::match_tokens(*m_tokens, name); }

Result<bool> go_match(std::string_view pattern, std::string_view name) {
  auto glob = TRY(Glob::compile(pattern));
  return glob.matches(name);
}

bool has_wildcards(std::string_view s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '*' || s[i] == '?' || s[i] == '[') return true;
    if (s[i] == '\\') ++i;
  }
  return false;
}

std::string clean_path(std::string_view path) {
  bool rooted = path.starts_with('/');
  std::vector<std::string_view> parts;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..")
        parts.pop_back();
      else if (!rooted)
        parts.push_back(part);
      continue;
    }
    parts.push_back(part);
  }
  std::string out = rooted ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += '/';
    out += parts[i];
  }
  return out.empty() ? "." : out;
}

std::pair<std::string, std::string> split_wildcards(std::string_view path) {
  std::string cleaned = clean_path(path);
  if (cleaned == ".") return {".", ""};
  std::string base, rest;
  bool found = false;
  size_t pos = 0;
  while (pos <= cleaned.size()) {
    size_t end = cleaned.find('/', pos);
    if (end == std::string::npos) end = cleaned.size();
    std::string_view part = std::string_view(cleaned).substr(pos, end - pos);
    pos = end + 1;
    if (!found && has_wildcards(part)) found = true;
    std::string& dst = found ? rest : base;
    if (!dst.empty() && dst != "/") dst += '/';
    dst += part.empty() ? std::string_view("/") : part;
  }
  return {base.empty() ? "." : base, rest};
}

}  // namespace cbuild::context
