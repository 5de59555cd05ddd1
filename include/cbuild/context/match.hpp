#pragma once
/// Go `path/filepath.Match` semantics, used for COPY/ADD source globs:
///   `*`      any run of characters except '/'
///   `?`      one character except '/'
///   `[...]`  one character from a class: ranges `a-z`, negation with a leading `^`
///            (as in Go, `!` is an ordinary character), `\` escapes inside
///   `\c`     the character c literally
/// The whole name must match. A malformed pattern (unclosed class, `[]`, `[-a]`, `[a-]`,
/// trailing `\`) is an error whatever the name, like Go's `filepath.ErrBadPattern`.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::context {

namespace detail {
struct Token;
}

/// A compiled `filepath.Match` pattern.
class Glob {
 public:
  /// Fails with "syntax error in pattern `p`" for a malformed pattern.
  static Result<Glob> compile(std::string_view pattern);
  Glob(Glob&&) noexcept;
  Glob& operator=(Glob&&) noexcept;
  ~Glob();

  bool matches(std::string_view name) const;
  const std::string& pattern() const { return m_pattern; }

 private:
  Glob();
  std::string m_pattern;
  std::unique_ptr<std::vector<detail::Token>> m_tokens;
};

/// One-shot `filepath.Match(pattern, name)`.
Result<bool> go_match(std::string_view pattern, std::string_view name);

/// True when `s` holds an unescaped `*`, `?` or `[` (BuildKit's `containsWildcards`).
bool has_wildcards(std::string_view s);

/// Go `path.Clean` for slash-separated paths: collapses `//`, removes `.` elements,
/// resolves `..` lexically; "" becomes ".".
std::string clean_path(std::string_view path);

/// Splits a cleaned relative path at the first element holding a wildcard:
/// "a/b/*.go/c" → {"a/b", "*.go/c"}; no wildcard → {path, ""}. "." stands for the root.
std::pair<std::string, std::string> split_wildcards(std::string_view path);

}  // namespace cbuild::context
