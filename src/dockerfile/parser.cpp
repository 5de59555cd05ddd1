// The Dockerfile parser's main loop (BuildKit's parser.Parse): physical lines → directives,
// comments, continuations → one Instruction per logical line, then heredoc bodies.
#include "cbuild/dockerfile/parser.hpp"
#include "dockerfile/parser_internal.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <fmt/format.h>

#include <initializer_list>

namespace cbuild::dockerfile {
namespace {

constexpr std::string_view k_bom = "\xEF\xBB\xBF";

bool is_comment(std::string_view line) {
  line = unicode::trim_left_space(line);
  return !line.empty() && line[0] == '#';
}

std::string_view trim_newline(std::string_view line) {
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  return line;
}

bool keyword_is(const Instruction& instruction, std::initializer_list<std::string_view> keywords) {
  std::string lower = unicode::to_lower(instruction.keyword);
  for (std::string_view k : keywords) {
    if (lower == k) return true;
  }
  return false;
}

// Builds a Dockerfile from text, one physical line at a time.
class Parser {
 public:
  Parser(std::string_view text, std::string path) : m_text(text) { m_file.path = std::move(path); }

  Result<Dockerfile> run() {
    TRY(split_lines());
    while (m_next < m_raw.size()) TRY(parse_logical_line());
    if (m_file.instructions.empty()) {
      return source_error(m_file, static_cast<int>(m_file.lines.size()), "file with no instructions", 0);
    }
    return std::move(m_file);
  }

 private:
  // Physical lines, each with its `\n` (BuildKit's scanLines); a BOM is dropped from the
  // first. `m_file.lines` keeps them without line endings for messages.
  Status split_lines() {
    std::string_view text = m_text;
    if (text.substr(0, k_bom.size()) == k_bom) text.remove_prefix(k_bom.size());
    for (std::size_t pos = 0; pos < text.size();) {
      std::size_t nl = text.find('\n', pos);
      std::size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
      m_raw.push_back(text.substr(pos, end - pos));
      m_file.lines.emplace_back(trim_newline(text.substr(pos, end - pos)));
      pos = end;
    }
    // The BOM counts towards the first line's length, as upstream reads it raw.
    for (std::size_t i = 0; i < m_raw.size(); ++i) {
      std::size_t length = m_raw[i].size() - (m_raw[i].back() == '\n' ? 1 : 0);
      if (i == 0 && text.size() != m_text.size()) length += k_bom.size();
      if (length > k_max_line_length) {
        return source_error(m_file, static_cast<int>(i + 1),
                            fmt::format("dockerfile line greater than max allowed size of {}", k_max_line_length),
                            static_cast<int>(k_max_line_length));
      }
    }
    return {};
  }

  int line_number() const { return static_cast<int>(m_next); }  // 1-based number of the last line read

  void note_comment(std::string_view raw) {
    if (!is_comment(raw)) return;
    std::string_view text = unicode::trim_left_space(raw);
    std::string comment(unicode::trim_space(text.substr(1)));
    if (comment.empty()) {
      m_comments.clear();  // a bare `#` ends the comment block
    } else {
      m_comments.push_back(std::move(comment));
    }
  }

  Status apply_directive(const detail::Directive& directive, int line) {
    if (directive.key == "escape") {
      if (directive.value != "\\" && directive.value != "`") {
        return source_error(m_file, line,
                            fmt::format("invalid escape token '{}' does not match ` or \\", directive.value),
                            column_of(line, directive.value));
      }
      m_file.directives.escape = directive.value[0];
    } else if (directive.key == "syntax") {
      m_file.directives.syntax = directive.value;
    } else {
      m_file.directives.check = directive.value;
    }
    return {};
  }

  int column_of(int line, std::string_view needle) const {
    std::size_t pos = m_file.lines[line - 1].rfind(needle);
    return pos == std::string::npos ? 0 : static_cast<int>(pos);
  }

  Status parse_logical_line() {
    std::string_view raw = m_raw[m_next];
    note_comment(raw);
    std::string_view text = unicode::trim_left_space(trim_newline(raw));
    ++m_next;
    int start_line = line_number();
    if (!m_directives.done()) {
      auto directive = m_directives.parse_line(text);
      if (!directive.ok()) return source_error(m_file, start_line, directive.error().message, 0);
      if (*directive) {
        if (!m_comments.empty()) m_comments.pop_back();
        TRY(apply_directive(**directive, start_line));
      }
    }
    if (is_comment(text)) text = {};
    const char escape = m_file.directives.escape;
    bool continues = false;
    text = detail::trim_continuation(text, escape, continues);
    if (!continues && text.empty()) return {};
    std::string line(text);
    int empty_continuation = 0;
    while (continues && m_next < m_raw.size()) {
      std::string_view next = trim_newline(m_raw[m_next]);
      ++m_next;
      if (is_comment(next)) continue;
      if (unicode::trim_left_space(next).empty()) {
        if (empty_continuation == 0) empty_continuation = line_number();
        continue;
      }
      line += detail::trim_continuation(next, escape, continues);
    }
    if (empty_continuation != 0) {
      m_file.warnings.push_back(fmt::format("{}:{}: empty continuation line found in: {} (empty continuation "
                                            "lines will become errors in a future release)",
                                            m_file.path, empty_continuation, line));
    }
    auto instruction = instruction_from_line(line, 0, start_line);
    if (!instruction.ok()) return std::move(instruction).error();
    Instruction& node = *instruction;
    node.comments = std::move(m_comments);
    m_comments.clear();
    TRY(read_heredocs(node, line, start_line));
    set_lines(node, start_line, line_number());
    m_file.instructions.push_back(std::move(node));
    return {};
  }

  static void set_lines(Instruction& node, int start, int end) {
    for (Instruction* n = &node; n != nullptr; n = n->onbuild.get()) {
      n->start_line = start;
      n->end_line = end;
    }
  }

  // BuildKit's newNodeFromLine; ONBUILD parses its argument text as a whole instruction.
  Result<Instruction> instruction_from_line(std::string_view line, int depth, int start_line) {
    detail::SplitLine split = detail::split_command(line, m_file.directives.escape);
    Instruction node;
    node.keyword = std::move(split.keyword);
    node.flags = std::move(split.flags);
    node.original = std::string(line);
    std::string lower = unicode::to_lower(node.keyword);
    if (lower == "onbuild") {
      if (split.args.empty()) return node;
      if (depth + 1 >= k_max_onbuild_depth) {
        return source_error(m_file, start_line,
                            fmt::format("ONBUILD nested more than {} levels deep", k_max_onbuild_depth),
                            column_of_keyword(start_line));
      }
      Instruction child = TRY(instruction_from_line(split.args, depth + 1, start_line));
      node.onbuild = std::make_unique<Instruction>(std::move(child));
      return node;
    }
    auto args = detail::parse_arguments(lower, split.args, m_file.directives.escape);
    if (!args.ok()) return source_error(m_file, start_line, args.error().message, column_of_keyword(start_line));
    node.args = std::move(args->args);
    node.json_form = args->json;
    return node;
  }

  int column_of_keyword(int line) const {
    const std::string& text = m_file.lines[line - 1];
    std::size_t pos = text.find_first_not_of(" \t");
    return pos == std::string::npos ? 0 : static_cast<int>(pos);
  }

  // Heredoc bodies follow the instruction line (RUN, COPY, ADD, also under ONBUILD; not in
  // JSON form). Each runs up to a line equal to its delimiter.
  Status read_heredocs(Instruction& node, std::string_view line, int start_line) {
    Instruction* target = &node;
    if (keyword_is(node, {"onbuild"}) && node.onbuild) target = node.onbuild.get();
    if (!keyword_is(*target, {"add", "copy", "run"}) || target->json_form) return {};
    if (line.find("<<") == std::string_view::npos) return {};
    auto heredocs = detail::heredocs_from_line(line);
    if (!heredocs.ok()) return source_error(m_file, start_line, heredocs.error().message, 0);
    for (Heredoc& heredoc : *heredocs) {
      bool terminated = false;
      while (m_next < m_raw.size()) {
        std::string_view raw = m_raw[m_next++];
        std::string_view candidate = trim_newline(raw);
        if (heredoc.chomp) candidate.remove_prefix(std::min(candidate.find_first_not_of('\t'), candidate.size()));
        if (candidate == heredoc.name) {
          terminated = true;
          break;
        }
        if (heredoc.chomp) raw.remove_prefix(std::min(raw.find_first_not_of('\t'), raw.size()));
        heredoc.content += raw;
      }
      if (!terminated) {
        std::string marker = "<<" + std::string(heredoc.chomp ? "-" : "");
        std::size_t col = m_file.lines[start_line - 1].find(marker);
        return source_error(m_file, start_line, fmt::format("unterminated heredoc {}", go_quote(heredoc.name)),
                            col == std::string::npos ? 0 : static_cast<int>(col));
      }
      target->heredocs.push_back(std::move(heredoc));
    }
    return {};
  }

  std::string_view m_text;
  Dockerfile m_file;
  std::vector<std::string_view> m_raw;  // physical lines with their `\n`
  std::size_t m_next = 0;               // index of the next physical line to read
  std::vector<std::string> m_comments;
  detail::DirectiveParser m_directives;
};

}  // namespace

Result<Dockerfile> parse(std::string_view text, std::string path) { return Parser(text, std::move(path)).run(); }

}  // namespace cbuild::dockerfile
