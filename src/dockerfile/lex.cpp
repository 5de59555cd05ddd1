// Shell-word expansion with BuildKit's rules (frontend/dockerfile/shell/lex.go), written
// from its documented behaviour: a recursive scanner over bytes, one function per
// construct (plain text, single quotes, double quotes, `$`).
#include "cbuild/dockerfile/lex.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <optional>

namespace cbuild::dockerfile {
namespace {

constexpr int k_eof = -1;

bool is_space(int ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
}

// POSIX special parameters: `$@ $* $# $? $- $$ $! $0`.
bool is_special_param(int ch) {
  switch (ch) {
    case '@':
    case '*':
    case '#':
    case '?':
    case '-':
    case '$':
    case '!':
    case '0':
      return true;
    default:
      return false;
  }
}

// Collects the split form: text from variables is split on blanks, quoted text is not.
class Words {
 public:
  void add_char(char ch) {
    if (is_space(static_cast<unsigned char>(ch))) {
      if (m_in_word && !m_word.empty()) flush();
    } else {
      add_raw_char(ch);
    }
  }
  void add_raw_char(char ch) {
    m_word += ch;
    m_in_word = true;
  }
  void add_string(std::string_view s) {
    for (char ch : s) add_char(ch);
  }
  void add_raw_string(std::string_view s) {
    m_word += s;
    m_in_word = true;
  }
  std::vector<std::string> take() {
    if (!m_word.empty()) flush();
    return std::move(m_words);
  }

 private:
  void flush() {
    m_words.push_back(std::move(m_word));
    m_word.clear();
    m_in_word = false;
  }
  std::string m_word;
  std::vector<std::string> m_words;
  bool m_in_word = false;
};

struct Processed {
  std::string word;
  std::vector<std::string> words;
};

class Scanner {
 public:
  Scanner(std::string_view text, const VarMap& vars, const LexOptions& options, LexResult& out)
      : m_text(text), m_vars(vars), m_options(options), m_out(out), m_raw_escapes(options.raw_escapes) {}

  Result<Processed> process_all() { return process_stop_on(k_eof, m_options.raw_escapes); }

 private:
  int peek() const { return m_pos < m_text.size() ? static_cast<unsigned char>(m_text[m_pos]) : k_eof; }
  int next() { return m_pos < m_text.size() ? static_cast<unsigned char>(m_text[m_pos++]) : k_eof; }

  Result<Processed> process_stop_on(int stop, bool raw_escapes);
  Result<std::string> process_single_quote();
  Result<std::string> process_double_quote();
  Result<std::string> process_dollar();
  Result<std::string> process_braced();
  Result<std::string> apply_modifier(const std::string& name, int op, bool null_is_unset,
                                     const std::string& chs);
  Result<std::string> process_replace(const std::string& name);
  std::string process_name();
  std::optional<std::string> lookup(const std::string& name);

  std::string_view m_text;
  size_t m_pos = 0;
  const VarMap& m_vars;
  const LexOptions& m_options;
  LexResult& m_out;
  bool m_raw_escapes;
};

std::optional<std::string> Scanner::lookup(const std::string& name) {
  auto it = m_vars.find(name);
  if (it == m_vars.end()) {
    m_out.unmatched.insert(name);
    return std::nullopt;
  }
  m_out.matched.insert(name);
  return it->second;
}

Result<Processed> Scanner::process_stop_on(int stop, bool raw_escapes) {
  bool saved = m_raw_escapes;
  m_raw_escapes = raw_escapes;
  struct Restore {
    bool& flag;
    bool value;
    ~Restore() { flag = value; }
  } restore{m_raw_escapes, saved};

  std::string result;
  Words words;
  while (peek() != k_eof) {
    int ch = peek();
    if (stop != k_eof && ch == stop) {
      next();
      return Processed{std::move(result), words.take()};
    }
    if (ch == '$') {
      std::string value = TRY(process_dollar());
      result += value;
      words.add_string(value);
      continue;
    }
    if (ch == '\'' || ch == '"') {
      std::string value = TRY(ch == '\'' ? process_single_quote() : process_double_quote());
      result += value;
      words.add_raw_string(value);
      continue;
    }
    ch = next();
    if (ch == static_cast<unsigned char>(m_options.escape)) {
      if (m_raw_escapes) {
        words.add_raw_char(static_cast<char>(ch));
        result += static_cast<char>(ch);
      }
      ch = next();
      if (ch == k_eof) break;  // a trailing escape is dropped
      words.add_raw_char(static_cast<char>(ch));
    } else {
      words.add_char(static_cast<char>(ch));
    }
    result += static_cast<char>(ch);
  }
  if (stop != k_eof)
    return make_error(ExitCode::bad_input, "unexpected end of statement while looking for matching {}",
                      static_cast<char>(stop));
  return Processed{std::move(result), words.take()};
}

// Everything up to the next ' is literal; a single quote cannot be escaped inside.
Result<std::string> Scanner::process_single_quote() {
  std::string result;
  int ch = next();
  if (m_options.raw_quotes) result += static_cast<char>(ch);
  for (;;) {
    ch = next();
    if (ch == k_eof)
      return make_error(ExitCode::bad_input,
                        "unexpected end of statement while looking for matching single-quote");
    if (ch == '\'') {
      if (m_options.raw_quotes) result += '\'';
      return result;
    }
    result += static_cast<char>(ch);
  }
}

// `$` expands; the escape character only escapes `"`, `$` and itself, else stays.
Result<std::string> Scanner::process_double_quote() {
  std::string result;
  int ch = next();
  if (m_options.raw_quotes) result += static_cast<char>(ch);
  const int escape = static_cast<unsigned char>(m_options.escape);
  for (;;) {
    int p = peek();
    if (p == k_eof)
      return make_error(ExitCode::bad_input,
                        "unexpected end of statement while looking for matching double-quote");
    if (p == '"') {
      next();
      if (m_options.raw_quotes) result += '"';
      return result;
    }
    if (p == '$') {
      result += TRY(process_dollar());
      continue;
    }
    ch = next();
    if (ch == escape) {
      if (m_raw_escapes) result += static_cast<char>(ch);
      int after = peek();
      if (after == k_eof) continue;  // ignored at the end of the word
      if (after == '"' || after == '$' || after == escape) ch = next();
    }
    result += static_cast<char>(ch);
  }
}

std::string Scanner::process_name() {
  std::string name;
  while (peek() != k_eof) {
    int ch = peek();
    if (name.empty() && std::isdigit(ch)) {
      while (peek() != k_eof && std::isdigit(peek())) name += static_cast<char>(next());
      return name;
    }
    if (name.empty() && is_special_param(ch)) return std::string(1, static_cast<char>(next()));
    if (!std::isalnum(ch) && ch != '_') break;
    name += static_cast<char>(next());
  }
  return name;
}

Result<std::string> Scanner::process_dollar() {
  next();  // the '$'
  if (peek() != '{') {
    std::string name = process_name();
    if (name.empty()) return std::string("$");
    auto value = lookup(name);
    if (!value && m_options.skip_unset) return "$" + name;
    return value.value_or("");
  }
  next();  // the '{'
  return process_braced();
}

Result<std::string> Scanner::process_braced() {
  int p = peek();
  if (p == k_eof) return make_error(ExitCode::bad_input, "syntax error: missing '}}'");
  if (p == '{' || p == '}' || p == ':')
    return make_error(ExitCode::bad_input, "syntax error: bad substitution");
  std::string name = process_name();
  int ch = next();
  if (ch == k_eof) return make_error(ExitCode::bad_input, "syntax error: missing '}}'");
  std::string chs(1, static_cast<char>(ch));
  if (ch == '}') {
    auto value = lookup(name);
    if (!value && m_options.skip_unset) return "${" + name + "}";
    return value.value_or("");
  }
  if (ch == '/') return process_replace(name);
  bool null_is_unset = false;
  if (ch == ':') {
    null_is_unset = true;
    ch = next();
    if (ch == k_eof) return make_error(ExitCode::bad_input, "syntax error: missing '}}'");
    chs += static_cast<char>(ch);
  } else if (ch != '+' && ch != '-' && ch != '?' && ch != '#' && ch != '%') {
    return make_error(ExitCode::bad_input, "unsupported modifier ({}) in substitution", chs);
  }
  return apply_modifier(name, ch, null_is_unset, chs);
}

struct GlobToken {
  enum Kind { literal, any, star } kind;
  char ch;
};

// BuildKit's pattern rules: `*` and `?` are wildcards; `\}` and `\/` drop the backslash
// (they had to be escaped inside `${}`); `\*`, `\?`, `\\` are literal; other escapes fail.
Result<std::vector<GlobToken>> compile_glob(std::string_view pattern) {
  std::vector<GlobToken> tokens;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '*') {
      tokens.push_back({GlobToken::star, 0});
    } else if (c == '?') {
      tokens.push_back({GlobToken::any, 0});
    } else if (c == '\\') {
      char n = i + 1 < pattern.size() ? pattern[i + 1] : '\0';
      if (n == '}' || n == '/') continue;
      if (n != '*' && n != '?' && n != '\\')
        return make_error(ExitCode::bad_input, "invalid escape '\\{}'", n == '\0' ? "" : std::string(1, n));
      tokens.push_back({GlobToken::literal, n});
      ++i;
    } else {
      tokens.push_back({GlobToken::literal, c});
    }
  }
  return tokens;
}

// Whole-string match with backtracking to the last star (linear for one star).
bool match_tokens(const std::vector<GlobToken>& tokens, std::string_view s) {
  size_t ti = 0, si = 0, star = std::string_view::npos, mark = 0;
  while (si < s.size()) {
    if (ti < tokens.size() && tokens[ti].kind == GlobToken::star) {
      star = ti++;
      mark = si;
    } else if (ti < tokens.size() && (tokens[ti].kind == GlobToken::any || tokens[ti].ch == s[si])) {
      ++ti;
      ++si;
    } else if (star != std::string_view::npos) {
      ti = star + 1;
      si = ++mark;
    } else {
      return false;
    }
  }
  while (ti < tokens.size() && tokens[ti].kind == GlobToken::star) ++ti;
  return ti == tokens.size();
}

Error bad_pattern(std::string_view pattern, const Error& e) {
  return make_error(ExitCode::bad_input, "invalid pattern ({}) in substitution: {}", pattern, e.message);
}

// Length of the shortest or longest prefix of `s` the pattern matches, or nothing. An
// NFA over token positions: O(size * tokens), however many stars.
std::optional<size_t> prefix_match(const std::vector<GlobToken>& tokens, std::string_view s, bool longest) {
  const size_t m = tokens.size();
  std::vector<char> cur(m + 1, 0), next(m + 1, 0);
  auto close = [&](std::vector<char>& states) {
    for (size_t i = 0; i < m; ++i)
      if (states[i] && tokens[i].kind == GlobToken::star) states[i + 1] = 1;
  };
  cur[0] = 1;
  close(cur);
  std::optional<size_t> best;
  for (size_t j = 0;; ++j) {
    if (cur[m]) {
      best = j;
      if (!longest) return best;
    }
    if (j == s.size()) break;
    std::fill(next.begin(), next.end(), 0);
    for (size_t i = 0; i < m; ++i) {
      if (!cur[i]) continue;
      if (tokens[i].kind == GlobToken::star)
        next[i] = 1;
      else if (tokens[i].kind == GlobToken::any || tokens[i].ch == s[j])
        next[i + 1] = 1;
    }
    close(next);
    if (std::none_of(next.begin(), next.end(), [](char c) { return c != 0; })) break;
    cur.swap(next);
  }
  return best;
}

// `${a#p}` `${a##p}`: drop the shortest (longest) prefix matching p.
Result<std::string> trim_prefix(std::string_view pattern, const std::string& value, bool longest) {
  auto tokens = compile_glob(pattern);
  if (!tokens) return bad_pattern(pattern, tokens.error());
  auto len = prefix_match(*tokens, value, longest);
  return len ? value.substr(*len) : value;
}

// `${a%p}` `${a%%p}`: drop the shortest (longest) suffix matching p: a prefix match of
// the reversed pattern on the reversed value.
Result<std::string> trim_suffix(std::string_view pattern, const std::string& value, bool longest) {
  auto tokens = compile_glob(pattern);
  if (!tokens) return bad_pattern(pattern, tokens.error());
  std::reverse(tokens->begin(), tokens->end());
  std::string reversed(value.rbegin(), value.rend());
  auto len = prefix_match(*tokens, reversed, longest);
  return len ? value.substr(0, value.size() - *len) : value;
}

// Leftmost match at or after `from`, longest at that start. One pass of an NFA whose
// states remember the earliest start that reached them (an earlier start dominates).
std::optional<std::pair<size_t, size_t>> find_glob(const std::vector<GlobToken>& tokens,
                                                   std::string_view value, size_t from) {
  constexpr size_t k_none = std::numeric_limits<size_t>::max();
  const size_t m = tokens.size();
  std::vector<size_t> cur(m + 1, k_none), next(m + 1, k_none);
  auto close = [&](std::vector<size_t>& states) {
    for (size_t i = 0; i < m; ++i)
      if (states[i] != k_none && tokens[i].kind == GlobToken::star)
        states[i + 1] = std::min(states[i + 1], states[i]);
  };
  std::optional<std::pair<size_t, size_t>> best;
  for (size_t j = from;; ++j) {
    if (!best) cur[0] = std::min(cur[0], j);
    close(cur);
    if (cur[m] != k_none && (!best || cur[m] < best->first || cur[m] == best->first))
      best = std::pair{cur[m], j};
    if (best)
      for (size_t& start : cur)
        if (start != k_none && start > best->first) start = k_none;
    if (j == value.size()) break;
    std::fill(next.begin(), next.end(), k_none);
    for (size_t i = 0; i < m; ++i) {
      if (cur[i] == k_none) continue;
      if (tokens[i].kind == GlobToken::star)
        next[i] = std::min(next[i], cur[i]);
      else if (tokens[i].kind == GlobToken::any || tokens[i].ch == value[j])
        next[i + 1] = std::min(next[i + 1], cur[i]);
    }
    bool alive = std::any_of(next.begin(), next.end(), [](size_t v) { return v != k_none; });
    if (!alive && best) break;
    cur.swap(next);
  }
  return best;
}

// `${a/p/r}` `${a//p/r}`: the first (every) match of p replaced by r, matches taken the
// way Go's regexp ReplaceAll does (an empty match right after a match is not replaced).
std::string replace_glob(const std::vector<GlobToken>& tokens, const std::string& value,
                         const std::string& replacement, bool all) {
  if (!all) {
    auto m = find_glob(tokens, value, 0);
    if (!m) return value;
    return value.substr(0, m->first) + replacement + value.substr(m->second);
  }
  std::string out;
  size_t last_end = 0, search = 0;
  while (search <= value.size()) {
    auto m = find_glob(tokens, value, search);
    if (!m) break;
    out.append(value, last_end, m->first - last_end);
    if (m->second > last_end || m->first == 0) out += replacement;
    last_end = m->second;
    search = search + 1 > m->second ? search + 1 : m->second;
  }
  if (last_end < value.size()) out.append(value, last_end);
  return out;
}

Result<std::string> Scanner::process_replace(const std::string& name) {
  bool all = peek() == '/';
  if (all) next();
  auto pattern = process_stop_on('/', true);
  if (!pattern) {
    if (peek() == k_eof) return make_error(ExitCode::bad_input, "syntax error: missing '/' in ${{}}");
    return std::move(pattern).error();
  }
  auto replacement = process_stop_on('}', true);
  if (!replacement) {
    if (peek() == k_eof) return make_error(ExitCode::bad_input, "syntax error: missing '}}'");
    return std::move(replacement).error();
  }
  auto value = lookup(name);
  if (!value && m_options.skip_unset)
    return "${" + name + "/" + pattern->word + "/" + replacement->word + "}";
  auto tokens = compile_glob(pattern->word);
  if (!tokens) return bad_pattern(pattern->word, tokens.error());
  return replace_glob(*tokens, value.value_or(""), replacement->word, all);
}

Result<std::string> Scanner::apply_modifier(const std::string& name, int op, bool null_is_unset,
                                            const std::string& chs) {
  auto arg = process_stop_on('}', op == '#' || op == '%');
  if (!arg) {
    if (peek() == k_eof) return make_error(ExitCode::bad_input, "syntax error: missing '}}'");
    return std::move(arg).error();
  }
  std::string word = std::move(arg->word);
  auto value = lookup(name);
  if (!value && m_options.skip_unset) return "${" + name + chs + word + "}";
  const bool empty = !value || (null_is_unset && value->empty());
  switch (op) {
    case '-':
      return empty ? word : *value;
    case '+':
      return empty ? std::string() : word;
    case '?':
      if (!value)
        return make_error(ExitCode::bad_input, "{}: {}", name,
                          word.empty() ? "is not allowed to be unset" : word);
      if (empty)
        return make_error(ExitCode::bad_input, "{}: {}", name,
                          word.empty() ? "is not allowed to be empty" : word);
      return *value;
    case '#':
    case '%': {
      bool longest = !word.empty() && word[0] == op;
      if (longest) word.erase(0, 1);
      return op == '%' ? trim_suffix(word, value.value_or(""), longest)
                       : trim_prefix(word, value.value_or(""), longest);
    }
    default:
      return make_error(ExitCode::bad_input, "unsupported modifier ({}) in substitution", chs);
  }
}

}  // namespace

Result<LexResult> Lexer::process(std::string_view text, const VarMap& vars) const {
  LexResult out;
  Scanner scanner(text, vars, m_options, out);
  auto processed = scanner.process_all();
  if (!processed)
    return make_error(ExitCode::bad_input, "failed to process \"{}\": {}", text, processed.error().message);
  out.word = std::move(processed->word);
  out.words = std::move(processed->words);
  return out;
}

Result<std::string> Lexer::process_word(std::string_view text, const VarMap& vars) const {
  return TRY(process(text, vars)).word;
}

Result<std::vector<std::string>> Lexer::process_words(std::string_view text, const VarMap& vars) const {
  return TRY(process(text, vars)).words;
}

Result<bool> glob_match(std::string_view pattern, std::string_view text) {
  auto tokens = TRY(compile_glob(pattern));
  return match_tokens(tokens, text);
}

}  // namespace cbuild::dockerfile
