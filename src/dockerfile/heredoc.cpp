// Heredoc detection on an instruction line, as BuildKit's parser does it: the line is
// split into shell words by BuildKit's shell lexer (escape `\`, quotes and escapes kept,
// no variables set, unset ones left as written), and each word of the form
// `[N]<<[-]WORD` opens a heredoc. The lexer below reproduces that lexer for the no-variable
// case, including its quirks (a `${x:-...}` inside a word restarts the word being built;
// a lexing error means no heredocs on the line), since they decide which lines are bodies.
#include "cbuild/dockerfile/parser.hpp"
#include "dockerfile/parser_internal.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <climits>

namespace cbuild::dockerfile::detail {
namespace {

constexpr char32_t k_eof = static_cast<char32_t>(-1);
constexpr char32_t k_escape = '\\';

struct LexError {
  std::string message;
};

// Go's text/scanner over runes: Peek/Next, invalid bytes read as U+FFFD, a BOM at the
// very start skipped.
class Scanner {
 public:
  explicit Scanner(std::string_view text) : m_text(text) {
    if (peek() == 0xFEFF) m_pos += 3;
  }
  char32_t peek() const {
    if (m_pos >= m_text.size()) return k_eof;
    return unicode::decode(m_text, m_pos).rune;
  }
  char32_t next() {
    if (m_pos >= m_text.size()) return k_eof;
    unicode::Decoded d = unicode::decode(m_text, m_pos);
    m_pos += d.width;
    return d.rune;
  }

 private:
  std::string_view m_text;
  std::size_t m_pos = 0;
};

void put(std::string& out, char32_t r) { unicode::append_utf8(out, r == k_eof ? unicode::k_replacement : r); }

// BuildKit's shell.Lex with SkipUnsetEnv and an empty environment.
class WordLexer {
 public:
  WordLexer(std::string_view text, bool raw_quotes, bool raw_escapes)
      : m_scanner(text), m_raw_quotes(raw_quotes), m_raw_escapes(raw_escapes) {}

  // ProcessWords; nullopt-like failure through `error`.
  std::vector<std::string> words(std::string& error) {
    Outcome outcome = process_stop_on(k_eof, m_raw_escapes);
    error = outcome.error;
    return outcome.words;
  }

 private:
  struct Outcome {
    std::string result;
    std::vector<std::string> words;
    std::string error;
  };
  // wordsStruct: note that `buffer` is shared by all nested calls, as upstream.
  struct Words {
    std::string* buffer;
    std::vector<std::string> list;
    bool in_word = false;
    void add_char(char32_t c) {
      if (unicode::is_space(c) && in_word) {
        if (!buffer->empty()) {
          list.push_back(*buffer);
          buffer->clear();
          in_word = false;
        }
      } else if (!unicode::is_space(c)) {
        add_raw_char(c);
      }
    }
    void add_raw_char(char32_t c) {
      put(*buffer, c);
      in_word = true;
    }
    void add_string(std::string_view s) {
      for (std::size_t pos = 0; pos < s.size();) {
        unicode::Decoded d = unicode::decode(s, pos);
        add_char(d.rune);
        pos += d.width;
      }
    }
    void add_raw_string(std::string_view s) {
      *buffer += s;
      in_word = true;
    }
    std::vector<std::string> take() {
      if (!buffer->empty()) {
        list.push_back(*buffer);
        buffer->clear();
        in_word = false;
      }
      return list;
    }
  };

  Outcome fail(std::string message) { return Outcome{{}, {}, std::move(message)}; }

  Outcome process_stop_on(char32_t stop, bool raw_escapes) {
    std::string result;
    m_words_buffer.clear();
    Words words{&m_words_buffer, {}, false};
    bool saved = m_raw_escapes;
    m_raw_escapes = raw_escapes;
    Outcome outcome = stop_on_loop(stop, result, words);
    m_raw_escapes = saved;
    return outcome;
  }

  Outcome stop_on_loop(char32_t stop, std::string& result, Words& words) {
    while (m_scanner.peek() != k_eof) {
      char32_t ch = m_scanner.peek();
      if (stop != k_eof && ch == stop) {
        m_scanner.next();
        return Outcome{result, words.take(), {}};
      }
      if (ch == '$' || ch == '<' || ch == '\'' || ch == '"') {
        std::string error;
        std::string piece = ch == '$'    ? process_dollar(error)
                            : ch == '<'  ? process_possible_heredoc()
                            : ch == '\'' ? process_single_quote(error)
                                         : process_double_quote(error);
        if (!error.empty()) return fail(error);
        result += piece;
        if (ch == '$') {
          words.add_string(piece);
        } else {
          words.add_raw_string(piece);
        }
        continue;
      }
      ch = m_scanner.next();
      if (ch == k_escape) {
        if (m_raw_escapes) {
          words.add_raw_char(ch);
          put(result, ch);
        }
        ch = m_scanner.next();
        if (ch == k_eof) break;
        words.add_raw_char(ch);
      } else {
        words.add_char(ch);
      }
      put(result, ch);
    }
    if (stop != k_eof) {
      std::string s;
      put(s, stop);
      return fail("unexpected end of statement while looking for matching " + s);
    }
    return Outcome{result, words.take(), {}};
  }

  std::string process_single_quote(std::string& error) {
    std::string result;
    char32_t ch = m_scanner.next();
    if (m_raw_quotes) put(result, ch);
    while (true) {
      ch = m_scanner.next();
      if (ch == k_eof) {
        error = "unexpected end of statement while looking for matching single-quote";
        return {};
      }
      if (ch == '\'') {
        if (m_raw_quotes) put(result, ch);
        return result;
      }
      put(result, ch);
    }
  }

  std::string process_double_quote(std::string& error) {
    std::string result;
    char32_t ch = m_scanner.next();
    if (m_raw_quotes) put(result, ch);
    while (true) {
      char32_t peeked = m_scanner.peek();
      if (peeked == k_eof) {
        error = "unexpected end of statement while looking for matching double-quote";
        return {};
      }
      if (peeked == '"') {
        ch = m_scanner.next();
        if (m_raw_quotes) put(result, ch);
        return result;
      }
      if (peeked == '$') {
        std::string value = process_dollar(error);
        if (!error.empty()) return {};
        result += value;
        continue;
      }
      ch = m_scanner.next();
      if (ch == k_escape) {
        if (m_raw_escapes) put(result, ch);
        char32_t after = m_scanner.peek();
        if (after == k_eof) continue;  // the loop then reports the missing quote
        if (after == '"' || after == '$' || after == k_escape) ch = m_scanner.next();
      }
      put(result, ch);
    }
  }

  static bool is_special_param(char32_t c) {
    return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' || c == '0';
  }

  std::string process_name() {
    std::string name;
    while (m_scanner.peek() != k_eof) {
      char32_t ch = m_scanner.peek();
      if (name.empty() && unicode::is_digit(ch)) {
        while (m_scanner.peek() != k_eof && unicode::is_digit(m_scanner.peek())) put(name, m_scanner.next());
        return name;
      }
      if (name.empty() && is_special_param(ch)) {
        put(name, m_scanner.next());
        return name;
      }
      if (!unicode::is_letter(ch) && !unicode::is_digit(ch) && ch != '_') break;
      put(name, m_scanner.next());
    }
    return name;
  }

  // `$name`, `${name}`, `${name<modifier>word}`: with no variables set, the text as written
  // (except that `${a//p/r}` comes back as `${a/p/r}`, as upstream).
  std::string process_dollar(std::string& error) {
    m_scanner.next();
    if (m_scanner.peek() != '{') {
      std::string name = process_name();
      return "$" + name;
    }
    m_scanner.next();
    char32_t first = m_scanner.peek();
    if (first == k_eof) return error = "syntax error: missing '}'", std::string();
    if (first == '{' || first == '}' || first == ':') return error = "syntax error: bad substitution", std::string();
    std::string name = process_name();
    char32_t ch = m_scanner.next();
    std::string modifier;
    put(modifier, ch);
    bool null_is_unset = false;
    switch (ch) {
      case '}':
        return "${" + name + "}";
      case ':':
        null_is_unset = true;
        ch = m_scanner.next();
        put(modifier, ch);
        [[fallthrough]];
      case '+': case '-': case '?': case '#': case '%': {
        bool raw = ch == '#' || ch == '%';
        if (null_is_unset && raw) {
          return error = fmt::format("unsupported modifier ({}) in substitution", modifier), std::string();
        }
        Outcome word = process_stop_on('}', raw);
        if (!word.error.empty()) {
          error = m_scanner.peek() == k_eof ? "syntax error: missing '}'" : word.error;
          return {};
        }
        return "${" + name + modifier + word.result + "}";
      }
      case '/': {
        if (m_scanner.peek() == '/') m_scanner.next();
        Outcome pattern = process_stop_on('/', true);
        if (!pattern.error.empty()) {
          error = m_scanner.peek() == k_eof ? "syntax error: missing '/' in ${}" : pattern.error;
          return {};
        }
        Outcome replacement = process_stop_on('}', true);
        if (!replacement.error.empty()) {
          error = m_scanner.peek() == k_eof ? "syntax error: missing '}'" : replacement.error;
          return {};
        }
        return "${" + name + "/" + pattern.result + "/" + replacement.result + "}";
      }
      default:
        return error = fmt::format("unsupported modifier ({}) in substitution", modifier), std::string();
    }
  }

  std::string process_possible_heredoc() {
    m_scanner.next();
    if (m_scanner.peek() != '<') return "<";
    m_scanner.next();
    std::string result = "<<";
    for (char32_t c = m_scanner.peek(); c == '\t' || c == '\r' || c == ' '; c = m_scanner.peek()) {
      put(result, m_scanner.next());
    }
    return result;
  }

  Scanner m_scanner;
  bool m_raw_quotes;
  bool m_raw_escapes;
  std::string m_words_buffer;
};

std::size_t count_quotes(std::string_view s) {
  return static_cast<std::size_t>(std::count(s.begin(), s.end(), '\'') + std::count(s.begin(), s.end(), '"'));
}

bool is_regex_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r'; }

}  // namespace

// `^(\d*)<<(-?)\s*([^<]*)$` then the word checks of BuildKit's heredocFromMatch.
Result<std::optional<Heredoc>> heredoc_from_word(std::string_view word) {
  std::size_t digits = 0;
  while (digits < word.size() && word[digits] >= '0' && word[digits] <= '9') ++digits;
  if (word.substr(digits, 2) != "<<") return std::optional<Heredoc>{};
  std::string_view tail = word.substr(digits + 2);
  if (tail.find('<') != std::string_view::npos) return std::optional<Heredoc>{};
  Heredoc heredoc;
  heredoc.chomp = !tail.empty() && tail[0] == '-';
  if (heredoc.chomp) tail.remove_prefix(1);
  while (!tail.empty() && is_regex_space(tail[0])) tail.remove_prefix(1);
  if (tail.empty()) return std::optional<Heredoc>{};
  if (digits > 0) {
    // Upstream's fd is an unsigned integer; an absurdly long digit string saturates.
    long long fd = 0;
    for (std::size_t i = 0; i < digits && fd <= INT_MAX; ++i) fd = fd * 10 + (word[i] - '0');
    heredoc.fd = static_cast<int>(std::min<long long>(fd, INT_MAX));
  }
  std::string error;
  std::vector<std::string> plain = WordLexer(tail, false, false).words(error);
  auto failed = [&](const std::string& message) {
    return make_error(ExitCode::bad_input, "failed to process {}: {}", go_quote(tail), message);
  };
  if (!error.empty()) return failed(error);
  if (plain.size() != 1) return std::optional<Heredoc>{};
  std::vector<std::string> raw = WordLexer(tail, true, false).words(error);
  if (!error.empty()) return failed(error);
  if (raw.size() != plain.size()) {
    return make_error(ExitCode::bad_input, "internal lexing of heredoc produced inconsistent results: {}", tail);
  }
  heredoc.name = plain[0];
  heredoc.expand = count_quotes(plain[0]) == count_quotes(raw[0]);
  return std::optional<Heredoc>(std::move(heredoc));
}

Result<std::vector<Heredoc>> heredocs_from_line(std::string_view line) {
  std::string error;
  // A line the shell lexer cannot split opens no heredoc (upstream ignores that error).
  std::vector<std::string> words = WordLexer(line, true, true).words(error);
  std::vector<Heredoc> heredocs;
  if (!error.empty()) return heredocs;
  for (const std::string& word : words) {
    std::optional<Heredoc> heredoc = TRY(heredoc_from_word(word));
    if (heredoc) heredocs.push_back(std::move(*heredoc));
  }
  return heredocs;
}

}  // namespace cbuild::dockerfile::detail
