#pragma once
/// Dockerfile text → syntax tree (ast.hpp), as BuildKit's `frontend/dockerfile/parser`
/// does it: parser directives, comments, line continuations, heredocs, flags, JSON (exec)
/// form, and one argument rule per instruction. `dump()` prints BuildKit's AST dump.
///
/// The parser accepts any instruction keyword (BuildKit dumps `FOO bar` as `(foo "")`);
/// unknown instructions are reported by the typed layer with `unknown_instruction_error`.
/// It rejects what BuildKit's parser rejects: a repeated or malformed directive, a non
/// string JSON array, `ENV`/`LABEL` without `=` or value, an unterminated heredoc, a line
/// over 65535 bytes, a file without instructions. Errors read `FILE:LINE: message`, then
/// the line and a caret (see source_error).
#include "cbuild/dockerfile/ast.hpp"
#include "cbuild/util/result.hpp"

#include <string>
#include <string_view>

namespace cbuild::dockerfile {

/// Longest physical line accepted, in bytes without the line ending (BuildKit: 65535).
constexpr std::size_t k_max_line_length = 65535;
/// ONBUILD may wrap ONBUILD (BuildKit's parser allows it; its instruction layer rejects
/// it); deeper chains than this are a parse error so nesting stays bounded.
constexpr int k_max_onbuild_depth = 8;

/// Parse a whole Dockerfile. `path` is kept for messages ("Dockerfile:12: ...").
Result<Dockerfile> parse(std::string_view text, std::string path);

/// BuildKit's AST dump of the whole file: one `(keyword ["--flag"] "arg" ...)` line per
/// instruction, without the trailing newline. Heredoc bodies are not part of it.
std::string dump(const Dockerfile& file);
/// Dump of a single instruction, without the surrounding parentheses.
std::string dump(const Instruction& instruction);

/// Go's strconv.Quote: `"` + the string with `\"`, `\\`, `\n`..., `\xHH` for invalid UTF-8
/// and control bytes, `\uHHHH`/`\UHHHHHHHH` for other non-printable runes + `"`.
/// Printable = Unicode categories L, M, N, P, S (Unicode 15.0) and the ASCII space.
std::string go_quote(std::string_view s);

/// The instruction keywords Docker knows, lowercase ("from", "run", ... "healthcheck").
bool is_known_instruction(std::string_view keyword);

/// "Dockerfile:7: unknown instruction: RUNN (did you mean RUN?)" with line and caret.
Error unknown_instruction_error(const Dockerfile& file, const Instruction& instruction);

}  // namespace cbuild::dockerfile
