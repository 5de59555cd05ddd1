// JSON (exec) form detection: Go's encoding/json decoding into []any, as BuildKit's
// parseJSON uses it. Decoding is done by nlohmann_json's SAX parser; two passes beforehand
// bring its input to what Go accepts: invalid UTF-8 becomes U+FFFD and unpaired surrogate
// escapes become \uFFFD (Go substitutes both, nlohmann rejects them).
#include "dockerfile/parser_internal.hpp"
#include "dockerfile/parser_unicode.hpp"

#include <nlohmann/json.hpp>

namespace cbuild::dockerfile::detail {
namespace {

constexpr std::size_t k_max_depth = 10000;  // Go's encoding/json maxNestingDepth

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a `\uXXXX` escape starting at `pos`, or -1.
long escape_at(std::string_view s, std::size_t pos) {
  if (pos + 6 > s.size() || s[pos] != '\\' || s[pos + 1] != 'u') return -1;
  long value = 0;
  for (std::size_t i = pos + 2; i < pos + 6; ++i) {
    int h = hex_value(s[i]);
    if (h < 0) return -1;
    value = value * 16 + h;
  }
  return value;
}

// Replace `\uD800`..`\uDFFF` escapes that do not form a high+low pair with `\uFFFD`.
std::string replace_lone_surrogates(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool in_string = false;
  for (std::size_t pos = 0; pos < s.size();) {
    char c = s[pos];
    if (!in_string) {
      in_string = c == '"';
      out += c;
      ++pos;
      continue;
    }
    if (c == '"') {
      in_string = false;
    } else if (c == '\\') {
      long unit = escape_at(s, pos);
      if (unit >= 0xD800 && unit <= 0xDFFF) {
        long low = escape_at(s, pos + 6);
        if (unit <= 0xDBFF && low >= 0xDC00 && low <= 0xDFFF) {
          out.append(s.substr(pos, 12));
          pos += 12;
        } else {
          out += "\\uFFFD";
          pos += 6;
        }
        continue;
      }
      if (pos + 1 < s.size()) {  // copy the escape pair so an escaped quote stays inside
        out.append(s.substr(pos, 2));
        pos += 2;
        continue;
      }
    }
    out += c;
    ++pos;
  }
  return out;
}

// Collects the top-level strings; notes any other element; bounds nesting like Go.
class ArraySax : public nlohmann::json_sax<nlohmann::json> {
 public:
  explicit ArraySax(std::vector<std::string>& out) : m_out(out) {}
  bool non_string() const { return m_non_string; }

  bool null() override { return element(); }
  bool boolean(bool) override { return element(); }
  bool number_integer(number_integer_t) override { return element(); }
  bool number_unsigned(number_unsigned_t) override { return element(); }
  bool number_float(number_float_t, const string_t&) override { return element(); }
  bool binary(binary_t&) override { return element(); }
  bool string(string_t& value) override {
    if (m_depth == 1) m_out.push_back(value);
    return true;
  }
  bool start_object(std::size_t) override { return open(); }
  bool key(string_t&) override { return true; }
  bool end_object() override { return close(); }
  bool start_array(std::size_t) override { return open(); }
  bool end_array() override { return close(); }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

 private:
  bool element() {
    if (m_depth == 1) m_non_string = true;
    return true;
  }
  bool open() {
    if (m_depth >= 1) element();
    return ++m_depth <= k_max_depth;
  }
  bool close() {
    --m_depth;
    return true;
  }

  std::vector<std::string>& m_out;
  std::size_t m_depth = 0;
  bool m_non_string = false;
};

}  // namespace

JsonArray parse_json_array(std::string_view text, std::vector<std::string>& out) {
  text = unicode::trim_left_space(text);
  if (text.empty() || text[0] != '[') return JsonArray::not_json;
  std::string input = replace_lone_surrogates(unicode::sanitize_utf8(text));
  std::vector<std::string> strings;
  ArraySax sax(strings);
  // Any syntax error, too deep a nesting or a number out of float64 range makes Go's
  // Unmarshal fail, and BuildKit then falls back to the shell form.
  bool ok = false;
  try {
    ok = nlohmann::json::sax_parse(input, &sax, nlohmann::json::input_format_t::json, true, false);
  } catch (const nlohmann::json::exception&) {
    ok = false;
  }
  if (!ok) return JsonArray::not_json;
  if (sax.non_string()) return JsonArray::not_strings;
  out = std::move(strings);
  return JsonArray::ok;
}

}  // namespace cbuild::dockerfile::detail
