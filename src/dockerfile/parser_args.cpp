// The argument rule of each instruction (BuildKit's line_parsers.go): which text becomes
// which arguments. ONBUILD is handled by the parser itself (it parses a whole instruction).
#include "cbuild/dockerfile/parser.hpp"
#include "dockerfile/parser_internal.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace cbuild::dockerfile::detail {
namespace {

constexpr std::string_view k_ascii_blanks = " \t\v\f\r";  // BuildKit's reWhitespace

using ArgumentRule = Result<Arguments> (*)(std::string_view text, char escape);

// Go's regexp.Split(text, -1) on runs of ASCII blanks.
std::vector<std::string> split_blanks(std::string_view text) {
  std::vector<std::string> out;
  std::size_t begin = 0;
  while (true) {
    std::size_t start = text.find_first_of(k_ascii_blanks, begin);
    if (start == std::string_view::npos) break;
    std::size_t end = text.find_first_not_of(k_ascii_blanks, start);
    if (end == std::string_view::npos) end = text.size();
    out.emplace_back(text.substr(begin, start - begin));
    begin = end;
  }
  out.emplace_back(text.substr(begin));
  return out;
}

Result<Arguments> rule_ignore(std::string_view, char) { return Arguments{{""}, false}; }

Result<Arguments> rule_string(std::string_view text, char) {
  if (text.empty()) return Arguments{};
  return Arguments{{std::string(text)}, false};
}

Result<Arguments> rule_blank_separated(std::string_view text, char) {
  if (text.empty()) return Arguments{};
  return Arguments{split_blanks(text), false};
}

Error not_strings_error() {
  return make_error(ExitCode::bad_input,
                    "when using JSON array syntax, arrays must be comprised of strings only");
}

// A JSON array of strings, or (when the text is not JSON at all) what `fallback` makes of it.
template <typename Fallback>
Result<Arguments> json_array_or(std::string_view text, Fallback fallback) {
  Arguments result;
  switch (parse_json_array(text, result.args)) {
    case JsonArray::ok:
      result.json = true;
      return result;
    case JsonArray::not_strings:
      return not_strings_error();
    case JsonArray::not_json:
      break;
  }
  return fallback();
}

Result<Arguments> rule_json_or_string(std::string_view text, char) {
  if (text.empty()) return Arguments{};
  return json_array_or(text, [&]() -> Result<Arguments> { return Arguments{{std::string(text)}, false}; });
}

Result<Arguments> rule_json_or_list(std::string_view text, char escape) {
  return json_array_or(text, [&] { return rule_blank_separated(text, escape); });
}

Result<Arguments> rule_words(std::string_view text, char escape) {
  return Arguments{parse_words(text, escape), false};
}

// ENV and LABEL: `key value` (legacy) or `key=value ...`, as triples key, value, separator.
Result<Arguments> name_value(std::string_view text, char escape, std::string_view keyword) {
  std::vector<std::string> words = parse_words(text, escape);
  if (words.empty()) return Arguments{};
  Arguments result;
  if (words[0].find('=') == std::string::npos) {
    std::vector<std::string> parts;
    std::size_t blank = text.find_first_of(k_ascii_blanks);
    if (blank == std::string_view::npos) {
      return make_error(ExitCode::bad_input, "{} must have two arguments", keyword);
    }
    std::size_t value = text.find_first_not_of(k_ascii_blanks, blank);
    if (value == std::string_view::npos) value = text.size();
    result.args = {std::string(text.substr(0, blank)), std::string(text.substr(value)), ""};
    return result;
  }
  for (const std::string& word : words) {
    std::size_t eq = word.find('=');
    if (eq == std::string::npos) {
      return make_error(ExitCode::bad_input,
                        "Syntax error - can't find = in {}. Must be of the form: name=value",
                        go_quote(word));
    }
    result.args.push_back(word.substr(0, eq));
    result.args.push_back(word.substr(eq + 1));
    result.args.push_back("=");
  }
  return result;
}

Result<Arguments> rule_env(std::string_view text, char escape) { return name_value(text, escape, "ENV"); }
Result<Arguments> rule_label(std::string_view text, char escape) { return name_value(text, escape, "LABEL"); }

// HEALTHCHECK: the type word as written, then the rest like CMD. Works on bytes as upstream.
Result<Arguments> rule_healthcheck(std::string_view text, char escape) {
  auto blank = [](char c) { return unicode::is_space(static_cast<unsigned char>(c)); };
  std::size_t sep = 0;
  while (sep < text.size() && !blank(text[sep])) ++sep;
  std::size_t next = sep;
  while (next < text.size() && blank(text[next])) ++next;
  if (sep == 0) return Arguments{};
  Arguments command = TRY(rule_json_or_string(text.substr(next), escape));
  command.args.insert(command.args.begin(), std::string(text.substr(0, sep)));
  return command;
}

struct RuleEntry {
  std::string_view keyword;
  ArgumentRule rule;
};

constexpr RuleEntry k_rules[] = {
    {"add", rule_json_or_list},
    {"arg", rule_words},
    {"cmd", rule_json_or_string},
    {"copy", rule_json_or_list},
    {"entrypoint", rule_json_or_string},
    {"env", rule_env},
    {"expose", rule_blank_separated},
    {"from", rule_blank_separated},
    {"healthcheck", rule_healthcheck},
    {"label", rule_label},
    {"maintainer", rule_string},
    {"run", rule_json_or_string},
    {"shell", rule_json_or_string},
    {"stopsignal", rule_string},
    {"user", rule_string},
    {"volume", rule_json_or_list},
    {"workdir", rule_string},
};

}  // namespace

Result<Arguments> parse_arguments(std::string_view lower_keyword, std::string_view text, char escape) {
  auto it = std::find_if(std::begin(k_rules), std::end(k_rules),
                         [&](const RuleEntry& e) { return e.keyword == lower_keyword; });
  ArgumentRule rule = it == std::end(k_rules) ? rule_ignore : it->rule;
  return rule(text, escape);
}

}  // namespace cbuild::dockerfile::detail
