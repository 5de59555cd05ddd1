// WWW-Authenticate parsing (RFC 9110 §11.6.1 challenges) and base64 via OpenSSL.
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

#include "cbuild/registry/auth.hpp"

namespace cbuild::registry {

std::string Challenge::param(std::string_view name) const {
  auto it = params.find(std::string(name));
  return it == params.end() ? std::string() : it->second;
}

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

/// A cursor over the header text.
struct Scanner {
  std::string_view text;
  size_t pos = 0;

  void skip_space() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t')) ++pos;
  }
  void skip_separators() {
    while (pos < text.size() && (text[pos] == ' ' || text[pos] == '\t' || text[pos] == ',')) ++pos;
  }
  bool done() const { return pos >= text.size(); }
  std::string token() {
    size_t start = pos;
    while (pos < text.size() && is_token_char(text[pos])) ++pos;
    return std::string(text.substr(start, pos - start));
  }
  Result<std::string> quoted() {
    std::string out;
    for (++pos; pos < text.size(); ++pos) {
      if (text[pos] == '\\' && pos + 1 < text.size()) out += text[++pos];
      else if (text[pos] == '"') { ++pos; return out; }
      else out += text[pos];
    }
    return make_error(ExitCode::bad_input, "parse WWW-Authenticate `{}`: unterminated quoted string", text);
  }
};

Error malformed(std::string_view text, std::string_view why) {
  return make_error(ExitCode::bad_input, "parse WWW-Authenticate `{}`: {}", text, why);
}

}  // namespace

Result<std::vector<Challenge>> parse_www_authenticate(std::string_view header) {
  std::vector<Challenge> challenges;
  Scanner s{header};
  s.skip_separators();
  while (!s.done()) {
    std::string name = s.token();
    if (name.empty()) return malformed(header, "expected an auth scheme");
    s.skip_space();
    // `name=` continues the current challenge's parameters; a bare token starts a new one.
    if (s.pos < header.size() && header[s.pos] == '=' && !challenges.empty()) {
      ++s.pos;
      s.skip_space();
      std::string value = (s.pos < header.size() && header[s.pos] == '"') ? TRY(s.quoted()) : s.token();
      challenges.back().params[lower(name)] = value;
    } else if (s.pos < header.size() && header[s.pos] == '=') {
      return malformed(header, "parameter before any auth scheme");
    } else {
      challenges.push_back(Challenge{lower(name), {}});
    }
    s.skip_space();
    if (!s.done() && header[s.pos] != ',' && !is_token_char(header[s.pos]))
      return malformed(header, fmt::format("unexpected character '{}'", header[s.pos]));
    s.skip_separators();
  }
  if (challenges.empty()) return malformed(header, "no challenge");
  return challenges;
}

std::string base64_encode(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()), static_cast<int>(data.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return make_error(ExitCode::bad_input, "decode base64: length is not a multiple of 4");
  std::string out(3 * text.size() / 4 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0) return make_error(ExitCode::bad_input, "decode base64: invalid characters");
  // EVP_DecodeBlock counts padding bytes as output: drop one per '='.
  size_t size = static_cast<size_t>(n);
  for (size_t i = text.size(); i > 0 && text[i - 1] == '='; --i) --size;
  out.resize(size);
  return out;
}

std::string basic_authorization(const Credentials& credentials) {
  return "Basic " + base64_encode(credentials.username + ":" + credentials.password);
}

}  // namespace cbuild::registry
