// ADD <url>: one GET through the registry's HTTP transport into an AtomicFile, hashed on
// the way.
#include <sys/stat.h>

#include <cctype>
#include <ctime>
#include <optional>

#include "cbuild/build/copy.hpp"
#include "cbuild/registry/transport.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::build {

namespace {

constexpr std::string_view k_unnamed = "__unnamed__";  // dockerfile2llb's name for a URL without one

/// %XX sequences decoded (an invalid one is kept as written).
std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
        std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

/// The file name docker gives a downloaded URL: the last element of the URL's (decoded)
/// path, "__unnamed__" when there is none. Also checks the scheme.
Result<std::string> url_file_name(const std::string& url) {
  auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos || scheme_end == 0)
    return make_error(ExitCode::bad_input, "download `{}`: URL without a scheme", url);
  std::string scheme = url.substr(0, scheme_end);
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "http" && scheme != "https")
    return make_error(ExitCode::bad_input, "download `{}`: only http and https URLs are supported", url);
  std::string_view rest = std::string_view(url).substr(scheme_end + 3);
  size_t path_start = rest.find_first_of("/?#");
  if (path_start == 0 || rest.empty())
    return make_error(ExitCode::bad_input, "download `{}`: invalid URL (no host)", url);
  if (path_start == std::string_view::npos || rest[path_start] != '/') return std::string(k_unnamed);
  std::string_view path = rest.substr(path_start);
  path = path.substr(0, path.find_first_of("?#"));
  std::string decoded = percent_decode(path);
  while (decoded.size() > 1 && decoded.ends_with('/')) decoded.pop_back();
  std::string name = decoded.substr(decoded.rfind('/') == std::string::npos ? 0 : decoded.rfind('/') + 1);
  if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string::npos)
    return std::string(k_unnamed);
  return name;
}

/// "HTTP status 404 (Not Found)".
std::string describe_status(const registry::HttpResponse& r) {
  return r.reason.empty() ? fmt::format("HTTP status {}", r.status)
                          : fmt::format("HTTP status {} ({})", r.status, r.reason);
}

/// Seconds since the epoch of an HTTP date (RFC 9110 IMF-fixdate); nullopt when unparsable.
std::optional<int64_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end != '\0') return std::nullopt;
  return static_cast<int64_t>(::timegm(&tm));
}

}  // namespace

Result<Download> download(const std::string& url, const fs::path& dir,
                          const std::optional<Digest>& checksum) {
  std::string name = TRY(url_file_name(url));
  auto file = TRY(AtomicFile::create(dir / name, 0600));
  Sha256 sha;
  registry::HttpRequest request;
  request.url = url;
  auto transport = registry::make_curl_transport({.connect_timeout_seconds = 60, .low_speed_seconds = 300,
                                                  .user_agent = "cbuild"});
  auto response = TRY(transport->send(request, [&](std::string_view chunk) -> Status {
    TRY(write_all(file.fd(), chunk));
    sha.update(chunk.data(), chunk.size());
    return {};
  }));
  if (response.status == 0) return make_error("download `{}`: {}", url, response.error);
  if (response.status < 200 || response.status >= 300)
    return make_error(response.status == 404 ? ExitCode::not_found : ExitCode::failure, "download `{}`: {}", url,
                      describe_status(response));
  Download out;
  out.name = name;
  out.digest = sha.finish();
  if (checksum && *checksum != out.digest)
    return make_error(ExitCode::bad_input, "download `{}`: checksum mismatch: expected {}, got {}", url,
                      checksum->str(), out.digest.str());
  // Without Last-Modified the file gets the epoch, as BuildKit's http source does, so the
  // layer does not depend on when it was built.
  out.mtime_sec = parse_http_date(response.header("last-modified")).value_or(0);
  const timespec times[2] = {{static_cast<time_t>(out.mtime_sec), 0},
                             {static_cast<time_t>(out.mtime_sec), 0}};
  if (::futimens(file.fd(), times) != 0)
    return errno_error(fmt::format("set times of `{}`", (dir / name).string()));
  TRY(file.commit());
  out.path = dir / name;
  return out;
}

}  // namespace cbuild::build
