#include "cbuild/image/reference.hpp"

#include <algorithm>
#include <cctype>

namespace cbuild::image {
namespace {

// The grammar of github.com/distribution/reference (regexp.go), written as small matchers:
//   reference := name [ ":" tag ] [ "@" digest ]
//   name      := [ domain "/" ] path
//   domain    := host [ ":" port ]      host := domain-name | "[" ipv6 "]"
//   path      := component ( "/" component )*
//   component := alnum+ ( separator alnum+ )*   separator := "." | "_" | "__" | "-"+
//   tag       := [\w][\w.-]{0,127}
//   digest    := algorithm ":" hex{32,}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
bool is_word(char c) { return is_alnum(c) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }

std::string to_lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

/// Skips a run of characters matching `pred`; returns how many.
template <typename Pred>
size_t skip_run(std::string_view s, size_t& i, Pred pred) {
  size_t start = i;
  while (i < s.size() && pred(s[i])) ++i;
  return i - start;
}

bool is_valid_path_component(std::string_view s) {
  size_t i = 0;
  if (skip_run(s, i, is_lower_alnum) == 0) return false;
  while (i < s.size()) {
    if (s[i] == '.') {
      ++i;
    } else if (s[i] == '_') {
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
    } else if (s[i] == '-') {
      skip_run(s, i, [](char c) { return c == '-'; });
    } else {
      return false;
    }
    if (skip_run(s, i, is_lower_alnum) == 0) return false;
  }
  return true;
}

bool is_valid_domain_component(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '-'; });
}

bool is_valid_host(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    std::string_view inner = host.substr(1, host.size() - 2);
    return std::all_of(inner.begin(), inner.end(), [](char c) { return is_hex(c) || c == ':'; });
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    if (!is_valid_domain_component(host.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

/// `algorithm:hex` with the shape the reference grammar accepts (any algorithm, ≥32 hex).
bool has_digest_shape(std::string_view s) {
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
  if (hex.size() < 32 || !std::all_of(hex.begin(), hex.end(), is_hex)) return false;
  // algorithm := [A-Za-z][A-Za-z0-9]* ( [-_+.] [A-Za-z][A-Za-z0-9]* )*
  size_t i = 0;
  while (true) {
    if (i >= algo.size() || !std::isalpha(static_cast<unsigned char>(algo[i]))) return false;
    skip_run(algo, i, is_alnum);
    if (i == algo.size()) return true;
    if (std::string_view("-_+.").find(algo[i]) == std::string_view::npos) return false;
    ++i;
  }
}

/// go-digest's Parse for the one algorithm cbuild supports.
Status validate_digest(std::string_view s) {
  size_t colon = s.find(':');
  std::string_view algo = s.substr(0, colon), hex = s.substr(colon + 1);
  if (algo != "sha256") return make_error(ExitCode::bad_input, "unsupported digest algorithm");
  if (hex.size() != 64) return make_error(ExitCode::bad_input, "invalid checksum digest length");
  bool lower =
      std::all_of(hex.begin(), hex.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
  if (!lower) return make_error(ExitCode::bad_input, "invalid checksum digest format");
  return {};
}

/// Splits `text` by the grammar; false when it does not match.
bool match_reference(std::string_view text, Reference& out) {
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    out.digest = std::string(rest.substr(at + 1));
    if (!has_digest_shape(out.digest)) return false;
    rest = rest.substr(0, at);
  }
  size_t colon = rest.rfind(':'), slash = rest.rfind('/');
  if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    out.tag = std::string(rest.substr(colon + 1));
    if (!is_valid_tag(out.tag)) return false;
    rest = rest.substr(0, colon);
  }
  // The optional domain is tried first, as the greedy `(domain/)?path` of the regexp does.
  if (size_t first = rest.find('/'); first != std::string_view::npos &&
                                     is_valid_domain(rest.substr(0, first)) &&
                                     is_valid_path(rest.substr(first + 1))) {
    out.domain = std::string(rest.substr(0, first));
    out.path = std::string(rest.substr(first + 1));
    return true;
  }
  out.path = std::string(rest);
  return is_valid_path(out.path);
}

Error invalid_format() { return make_error(ExitCode::bad_input, "invalid reference format"); }

/// splitDockerDomain: decides whether the first component is a registry host.
std::pair<std::string, std::string> split_docker_domain(std::string_view name) {
  std::string domain, remote;
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) {
    return {std::string(k_default_domain), std::string(k_official_repo_prefix) + std::string(name)};
  }
  std::string_view maybe_domain = name.substr(0, slash), maybe_remote = name.substr(slash + 1);
  if (maybe_domain == k_legacy_default_domain) {
    domain = k_default_domain;
    remote = maybe_remote;
  } else if (maybe_domain == "localhost" || maybe_domain.find_first_of(".:") != std::string_view::npos ||
             to_lower(maybe_domain) != maybe_domain) {
    domain = maybe_domain;
    remote = maybe_remote;
  } else {
    domain = k_default_domain;
    remote = name;
  }
  if (domain == k_default_domain && remote.find('/') == std::string::npos) {
    remote = std::string(k_official_repo_prefix) + remote;
  }
  return {domain, remote};
}

}  // namespace

bool is_valid_tag(std::string_view tag) {
  return !tag.empty() && tag.size() <= 128 && is_word(tag.front()) &&
         std::all_of(tag.begin(), tag.end(), [](char c) { return is_word(c) || c == '.' || c == '-'; });
}

bool is_valid_path(std::string_view path) {
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    if (!is_valid_path_component(path.substr(start, slash - start))) return false;
    if (slash == std::string_view::npos) return true;
    start = slash + 1;
  }
}

bool is_valid_domain(std::string_view domain) {
  // The port is what follows the last ':' outside brackets.
  size_t close = domain.rfind(']');
  size_t colon = domain.rfind(':');
  std::string_view host = domain;
  if (colon != std::string_view::npos && (close == std::string_view::npos || colon > close)) {
    std::string_view port = domain.substr(colon + 1);
    if (port.empty() || !std::all_of(port.begin(), port.end(), is_digit)) return false;
    host = domain.substr(0, colon);
  }
  return is_valid_host(host);
}

bool is_full_identifier(std::string_view text) {
  return text.size() == 64 &&
         std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || (c >= 'a' && c <= 'f'); });
}

std::string Reference::name() const { return domain.empty() ? path : domain + "/" + path; }

std::string Reference::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

std::string Reference::familiar_name() const {
  if (domain != k_default_domain) return name();
  std::string_view p = path;
  if (p.starts_with(k_official_repo_prefix)) {
    std::string_view rest = p.substr(k_official_repo_prefix.size());
    if (rest.find('/') == std::string_view::npos) return std::string(rest);
  }
  return path;
}

std::string Reference::familiar_str() const {
  std::string out = familiar_name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

Result<Reference> Reference::with_tag(std::string_view new_tag) const {
  if (!is_valid_tag(new_tag)) return make_error(ExitCode::bad_input, "invalid tag format");
  Reference copy = *this;
  copy.tag = std::string(new_tag);
  return copy;
}

Result<Reference> parse_reference(std::string_view text) {
  if (text.empty()) {
    return make_error(ExitCode::bad_input, "repository name must have at least one component");
  }
  Reference ref;
  if (!match_reference(text, ref)) {
    std::string lower = to_lower(text);
    Reference ignored;
    if (lower != text && match_reference(lower, ignored)) {
      return make_error(ExitCode::bad_input, "invalid reference format: repository name must be lowercase");
    }
    return invalid_format();
  }
  if (ref.path.size() > k_max_name_length) {
    return make_error(ExitCode::bad_input, "repository name must not be more than {} characters",
                      k_max_name_length);
  }
  if (!ref.digest.empty()) TRY(validate_digest(ref.digest));
  return ref;
}

Result<Reference> parse_normalized(std::string_view text) {
  if (is_full_identifier(text)) {
    return make_error(ExitCode::bad_input,
                      "invalid repository name ({}), cannot specify 64-byte hexadecimal strings", text);
  }
  auto [domain, remainder] = split_docker_domain(text);
  std::string remote = remainder.substr(0, remainder.find(':'));
  if (to_lower(remote) != remote) {
    return make_error(ExitCode::bad_input, "invalid reference format: repository name ({}) must be lowercase",
                      remote);
  }
  Reference ref = TRY(parse_reference(domain + "/" + remainder));
  if (ref.domain.empty()) return invalid_format();  // the domain was read as a path component
  return ref;
}

Result<Reference> parse_docker_ref(std::string_view text) {
  Reference ref = TRY(parse_normalized(text));
  if (ref.has_digest()) {
    ref.tag.clear();
  } else if (!ref.has_tag()) {
    ref.tag = k_default_tag;
  }
  return ref;
}

Result<Reference> parse_tag_target(std::string_view text) {
  Reference ref = TRY(parse_normalized(text));
  if (ref.has_digest()) {
    return make_error(ExitCode::bad_input, "refusing to create a tag with a digest reference");
  }
  if (!ref.has_tag()) ref.tag = k_default_tag;
  return ref;
}

}  // namespace cbuild::image
