#pragma once
// Module-private pieces of the Dockerfile parser, one per BuildKit source file they mirror
// (directives.go, split_command.go, line_parsers.go, the heredoc part of parser.go), exposed
// here so unit tests can reach them. Errors carry a message only; parse() adds FILE:LINE.
#include "cbuild/dockerfile/ast.hpp"
#include "cbuild/util/result.hpp"

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::dockerfile::detail {

/// A `# key=value` parser directive.
struct Directive {
  std::string key;  ///< lowercase: syntax, escape or check
  std::string value;
};

/// Reads directives from the top of a file until the first line that is not one
/// (BuildKit's DirectiveParser). Feed every line, left-trimmed, without its line ending.
class DirectiveParser {
 public:
  /// The directive on this line, nothing when it is not one (then reading stops for good),
  /// or an error for a repeated key.
  Result<std::optional<Directive>> parse_line(std::string_view line);
  bool done() const { return m_done; }

 private:
  bool m_done = false;
  std::set<std::string> m_seen;
};

/// Remove a trailing continuation (escape + optional blanks, not itself escaped).
/// Returns true in `continues` when the line continues.
std::string_view trim_continuation(std::string_view line, char escape, bool& continues);

/// An instruction line split into keyword, flags and argument text (split_command.go).
struct SplitLine {
  std::string keyword;
  std::vector<std::string> flags;
  std::string args;  ///< trimmed
};
SplitLine split_command(std::string_view line, char escape);

/// Shell-like words with quotes and escapes kept (line_parsers.go parseWords).
std::vector<std::string> parse_words(std::string_view text, char escape);

/// Outcome of reading text as a JSON array of strings.
enum class JsonArray { ok, not_json, not_strings };
/// Decode `text` as Go's encoding/json would decode it into []any (leading blanks allowed).
JsonArray parse_json_array(std::string_view text, std::vector<std::string>& out);

/// The arguments of one instruction, as the keyword's argument rule splits them.
struct Arguments {
  std::vector<std::string> args;
  bool json = false;
};
/// Apply the argument rule of `lower_keyword` (not ONBUILD) to `text`.
Result<Arguments> parse_arguments(std::string_view lower_keyword, std::string_view text, char escape);

/// The heredoc a single shell word opens (`<<EOF`, `3<<-"EOF"`), nothing when the word is not
/// one, or an error when its delimiter cannot be lexed (`<<'EOF`).
Result<std::optional<Heredoc>> heredoc_from_word(std::string_view word);
/// Heredocs opened on an instruction line (`<<EOF`, `<<-"EOF"`, `3<<EOF`), bodies empty.
Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line);

}  // namespace cbuild::dockerfile::detail
