// Errors that point into a Dockerfile: "Dockerfile:12: message", the line, a caret.
#include "cbuild/dockerfile/ast.hpp"
#include "cbuild/dockerfile/parser.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <vector>

namespace cbuild::dockerfile {
namespace {

constexpr std::size_t k_max_shown = 160;  // longer lines are shown as a window around the caret

// The line as it is shown: control characters replaced so they cannot garble a terminal,
// cut to a window of k_max_shown bytes around `column`. Adjusts `column` to the window.
std::string shown_line(std::string_view line, int& column) {
  std::string prefix, suffix;
  if (line.size() > k_max_shown) {
    std::size_t start = column > 60 ? static_cast<std::size_t>(column) - 60 : 0;
    start = std::min(start, line.size() - k_max_shown);
    if (start > 0) prefix = "...";
    if (start + k_max_shown < line.size()) suffix = "...";
    if (column >= 0) column = column - static_cast<int>(start) + static_cast<int>(prefix.size());
    line = line.substr(start, k_max_shown);
  }
  std::string out = prefix;
  for (char c : line) {
    auto u = static_cast<unsigned char>(c);
    out += (u < 0x20 && c != '\t') || u == 0x7F ? '?' : c;
  }
  return out + suffix;
}

}  // namespace

Error source_error(const Dockerfile& file, int line, std::string_view message, int column) {
  if (line < 1 || static_cast<std::size_t>(line) > file.lines.size()) {
    return make_error(ExitCode::bad_input, "{}: {}", file.path, message);
  }
  int col = column;
  std::string text = shown_line(file.lines[line - 1], col);
  std::string out = fmt::format("{}:{}: {}\n{}", file.path, line, message, text);
  if (col >= 0) {
    // Keep tabs in the padding so the caret lines up under tab-indented text.
    std::string pad;
    for (int i = 0; i < col && static_cast<std::size_t>(i) < text.size(); ++i) {
      pad += text[i] == '\t' ? '\t' : ' ';
    }
    out += "\n" + pad + "^";
  }
  return Error{std::move(out), ExitCode::bad_input};
}

namespace {

constexpr std::array<std::string_view, 18> k_instructions = {
    "add",  "arg",     "cmd",     "copy",  "entrypoint", "env",        "expose",      "from",  "healthcheck",
    "label", "maintainer", "onbuild", "run", "shell",      "stopsignal", "user", "volume", "workdir",
};

// Levenshtein distance, for "did you mean" suggestions.
std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// Column of the first non-blank byte of a physical line (where the keyword starts).
int keyword_column(const Dockerfile& file, int line) {
  if (line < 1 || static_cast<std::size_t>(line) > file.lines.size()) return 0;
  const std::string& text = file.lines[line - 1];
  std::size_t pos = text.find_first_not_of(" \t");
  return pos == std::string::npos ? 0 : static_cast<int>(pos);
}

}  // namespace

bool is_known_instruction(std::string_view keyword) {
  std::string lower = unicode::to_lower(keyword);
  return std::find(k_instructions.begin(), k_instructions.end(), lower) != k_instructions.end();
}

Error unknown_instruction_error(const Dockerfile& file, const Instruction& instruction) {
  std::string lower = unicode::to_lower(instruction.keyword);
  std::string message = fmt::format("unknown instruction: {}", instruction.keyword);
  std::string_view best;
  std::size_t best_distance = 3;  // suggest only close matches, like BuildKit
  for (std::string_view known : k_instructions) {
    std::size_t d = edit_distance(lower, known);
    if (d < best_distance) {
      best_distance = d;
      best = known;
    }
  }
  if (!best.empty()) {
    std::string upper(best);
    for (char& c : upper) c = static_cast<char>(c - 'a' + 'A');
    message += fmt::format(" (did you mean {}?)", upper);
  }
  return source_error(file, instruction.start_line, message, keyword_column(file, instruction.start_line));
}

}  // namespace cbuild::dockerfile
