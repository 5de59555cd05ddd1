// BuildKit's AST dump (parser.Node.Dump) and Go's strconv.Quote, which it uses.
#include "cbuild/dockerfile/parser.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <fmt/format.h>

namespace cbuild::dockerfile {
namespace {

void append_escaped_rune(std::string& out, char32_t r) {
  static constexpr std::pair<char32_t, const char*> k_short_escapes[] = {
      {'\a', "\\a"}, {'\b', "\\b"}, {'\f', "\\f"}, {'\n', "\\n"},
      {'\r', "\\r"}, {'\t', "\\t"}, {'\v', "\\v"},
  };
  if (r == '"' || r == '\\') {
    out += '\\';
    out += static_cast<char>(r);
    return;
  }
  if (r == ' ' || unicode::is_print(r)) {
    unicode::append_utf8(out, r);
    return;
  }
  for (const auto& [rune, escape] : k_short_escapes) {
    if (rune == r) {
      out += escape;
      return;
    }
  }
  if (r < ' ' || r == 0x7F) {
    out += fmt::format("\\x{:02x}", static_cast<unsigned>(r));
  } else if (r < 0x10000) {
    out += fmt::format("\\u{:04x}", static_cast<unsigned>(r));
  } else {
    out += fmt::format("\\U{:08x}", static_cast<unsigned>(r));
  }
}

}  // namespace

std::string go_quote(std::string_view s) {
  std::string out = "\"";
  out.reserve(s.size() + 2);
  for (std::size_t pos = 0; pos < s.size();) {
    unicode::Decoded d = unicode::decode(s, pos);
    if (d.rune == unicode::k_replacement && d.width == 1) {
      out += fmt::format("\\x{:02x}", static_cast<unsigned char>(s[pos]));
    } else {
      append_escaped_rune(out, d.rune);
    }
    pos += d.width;
  }
  out += '"';
  return out;
}

std::string dump(const Instruction& instruction) {
  std::string out = unicode::to_lower(instruction.keyword);
  if (!instruction.flags.empty()) {
    out += " [";
    for (std::size_t i = 0; i < instruction.flags.size(); ++i) {
      if (i > 0) out += ' ';
      out += go_quote(instruction.flags[i]);
    }
    out += ']';
  }
  if (instruction.onbuild) {
    // BuildKit wraps the sub-instruction in an anonymous node whose dump is "(child)".
    out += " (" + dump(*instruction.onbuild) + ")";
  }
  for (const std::string& arg : instruction.args) {
    out += ' ';
    out += go_quote(arg);
  }
  return std::string(unicode::trim_space(out));
}

std::string dump(const Dockerfile& file) {
  std::string out;
  for (const Instruction& instruction : file.instructions) {
    out += '(';
    out += dump(instruction);
    out += ")\n";
  }
  return std::string(unicode::trim_space(out));
}

}  // namespace cbuild::dockerfile
