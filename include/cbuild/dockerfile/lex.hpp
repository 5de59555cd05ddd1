#pragma once
/// Shell-word expansion as Docker does it (BuildKit's `shell.Lex`): quotes, escapes,
/// `$a ${a}` and the modifiers `${a:-w} ${a-w} ${a:+w} ${a+w} ${a:?w} ${a?w} ${a#p}
/// ${a##p} ${a%p} ${a%%p} ${a/p/r} ${a//p/r}`. Patterns are shell globs (`*`, `?`, `\`
/// escapes; no bracket expressions, as in BuildKit). Expansion happens once, before any
/// command runs: nothing is executed, `$(...)` and backquotes are literal text.
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::dockerfile {

/// Variables visible to an expansion (name → value). Names are case-sensitive (Linux).
using VarMap = std::map<std::string, std::string, std::less<>>;

/// How a word is processed.
struct LexOptions {
  char escape = '\\';        ///< escape character from the `# escape=` directive
  bool raw_quotes = false;   ///< keep quote characters in the result (display, heredocs)
  bool raw_escapes = false;  ///< keep escape characters in the result
  bool skip_unset = false;   ///< leave references to unset variables as written
};

/// Everything one expansion produced.
struct LexResult {
  std::string word;                 ///< the whole text, quotes removed, spaces kept
  std::vector<std::string> words;   ///< the text split into words after expansion
  std::set<std::string> matched;    ///< variables referenced and set
  std::set<std::string> unmatched;  ///< variables referenced but unset
};

/// Expands words against a set of variables. Errors (bad substitution, unterminated
/// quote, `${a:?msg}`) read `failed to process "WORD": REASON`.
class Lexer {
 public:
  explicit Lexer(LexOptions options = {}) : m_options(options) {}

  /// Expand `text`, keeping both the joined and the split form and the variables used.
  Result<LexResult> process(std::string_view text, const VarMap& vars) const;
  /// One word (BuildKit ProcessWord): quotes removed, inner spaces kept.
  Result<std::string> process_word(std::string_view text, const VarMap& vars) const;
  /// Several words (BuildKit ProcessWords): split on unquoted blanks after expansion.
  Result<std::vector<std::string>> process_words(std::string_view text, const VarMap& vars) const;

  const LexOptions& options() const { return m_options; }

 private:
  LexOptions m_options;
};

/// Shell glob match of a whole string (`*`, `?`, `\x`), as `${a#p}` patterns use it.
/// Errors for an escape other than `\*`, `\?`, `\\`.
Result<bool> glob_match(std::string_view pattern, std::string_view text);

}  // namespace cbuild::dockerfile
