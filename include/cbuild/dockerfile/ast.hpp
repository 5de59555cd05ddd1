#pragma once
/// Dockerfile syntax tree: what the parser produces from text, before any expansion or
/// typing. Mirrors BuildKit's parser node (keyword, flags, arguments, heredocs, lines) so
/// that `dump()` reproduces BuildKit's AST dump byte for byte.
#include "cbuild/util/result.hpp"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::dockerfile {

/// A heredoc attached to RUN/COPY/ADD (`<<EOF`, `<<-EOF`, `<<"EOF"`).
struct Heredoc {
  std::string name;      ///< the delimiter word with quotes removed, e.g. "EOF"
  std::string content;   ///< body lines as written, each with its line ending ("\n", or "\r\n"
                         ///< in a CRLF file); leading tabs stripped for `<<-`
  bool expand = true;    ///< false when the delimiter was quoted
  bool chomp = false;    ///< `<<-`: leading tabs stripped
  int fd = -1;           ///< `3<<EOF` gives 3; -1 when no fd was written
};

/// One instruction (a logical line).
struct Instruction {
  std::string keyword;             ///< exactly as written, e.g. "Run" (compare case-insensitively)
  std::vector<std::string> flags;  ///< "--mount=type=cache,target=/x", quotes removed
  std::vector<std::string> args;   ///< arguments as the parser split them (see dump format)
  bool json_form = false;          ///< args came from a JSON array (exec form)
  std::vector<Heredoc> heredocs;   ///< under ONBUILD: on the wrapped instruction
  std::unique_ptr<Instruction> onbuild;  ///< for ONBUILD: the wrapped instruction
  std::string original;            ///< the joined logical line, as written (for history/errors)
  std::vector<std::string> comments;  ///< comments above it since the previous instruction, text
                                      ///< after '#' trimmed (a bare '#' restarts the list;
                                      ///< directives are not comments)
  int start_line = 0;              ///< 1-based physical line of the keyword
  int end_line = 0;                ///< last physical line consumed (continuations, heredocs)
};

/// Parser directives from the top of the file.
struct Directives {
  std::string syntax;  ///< `# syntax=` value, empty when absent
  std::string check;   ///< `# check=` value, empty when absent
  char escape = '\\';  ///< `# escape=` (backslash or backtick)
};

/// A parsed Dockerfile. `lines` keeps the physical lines so errors can show the line.
struct Dockerfile {
  std::string path;  ///< as given by the user, used in `FILE:LINE` messages
  Directives directives;
  std::vector<Instruction> instructions;
  std::vector<std::string> lines;     ///< physical lines without line endings
  std::vector<std::string> warnings;  ///< e.g. empty continuation lines, `FILE:LINE: ...`
};

/// An error at a place in a Dockerfile: "Dockerfile:12: unknown flag --mout", then the
/// line and a caret under `column` (0-based byte offset; -1: no caret). Exit code bad_input.
Error source_error(const Dockerfile& file, int line, std::string_view message, int column = -1);

}  // namespace cbuild::dockerfile
