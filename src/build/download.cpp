// ADD <url>: one libcurl transfer into an AtomicFile, hashed on the way.
#include <curl/curl.h>
#include <sys/stat.h>

#include <memory>
#include <mutex>

#include "cbuild/build/copy.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::build {

namespace {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
  void operator()(char* p) const { curl_free(p); }
};

constexpr std::string_view k_unnamed = "__unnamed__";  // dockerfile2llb's name for a URL without one

/// The file name docker gives a downloaded URL: the last element of the URL's (decoded)
/// path, "__unnamed__" when there is none. Also checks the scheme.
Result<std::string> url_file_name(const std::string& url) {
  std::unique_ptr<CURLU, CurlFree> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK)
    return make_error(ExitCode::bad_input, "download `{}`: invalid URL", url);
  char* raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_SCHEME, &raw, 0) != CURLUE_OK)
    return make_error(ExitCode::bad_input, "download `{}`: URL without a scheme", url);
  std::unique_ptr<char, CurlFree> scheme(raw);
  if (std::string_view(scheme.get()) != "http" && std::string_view(scheme.get()) != "https")
    return make_error(ExitCode::bad_input, "download `{}`: only http and https URLs are supported", url);
  raw = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PATH, &raw, CURLU_URLDECODE) != CURLUE_OK)
    return std::string(k_unnamed);
  std::unique_ptr<char, CurlFree> decoded(raw);
  std::string path = decoded.get();
  while (path.size() > 1 && path.ends_with('/')) path.pop_back();
  std::string name = path.substr(path.rfind('/') == std::string::npos ? 0 : path.rfind('/') + 1);
  if (name.empty() || name == "." || name == ".." || name.find('\0') != std::string::npos)
    return std::string(k_unnamed);
  return name;
}

/// Transfer state shared with the libcurl callbacks.
struct Transfer {
  CURL* curl = nullptr;
  int fd = -1;
  Sha256 sha;
  uint64_t bytes = 0;
  std::string status_line;  // of the last response ("HTTP/1.1 404 Not Found")
  bool refused_status = false;
  Status write_status;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t n = size * count;
  long code = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 300) {  // an error page: not kept, the status is reported instead
    t->refused_status = true;
    return 0;
  }
  if (auto st = write_all(t->fd, std::string_view(data, n)); !st) {
    t->write_status = std::move(st);
    return 0;
  }
  t->sha.update(data, n);
  t->bytes += n;
  return n;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
    t->status_line = line;
  }
  return size * count;
}

/// "HTTP status 404 (Not Found)" from the code and the status line's reason phrase.
std::string describe_status(long code, std::string_view status_line) {
  std::string reason;
  size_t first = status_line.find(' ');
  size_t second = first == std::string_view::npos ? first : status_line.find(' ', first + 1);
  if (second != std::string_view::npos) reason = status_line.substr(second + 1);
  return reason.empty() ? fmt::format("HTTP status {}", code)
                        : fmt::format("HTTP status {} ({})", code, reason);
}

Status setup(CURL* c, const std::string& url, Transfer& t, char* errbuf) {
  bool ok = curl_easy_setopt(c, CURLOPT_URL, url.c_str()) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_FILETIME, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_USERAGENT, "cbuild") == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 60L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&  // give up after 5 idle minutes
            curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 300L) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_WRITEDATA, &t) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
            curl_easy_setopt(c, CURLOPT_HEADERDATA, &t) == CURLE_OK;
  if (!ok) return make_error("download `{}`: cannot configure libcurl", url);
  return {};
}

}  // namespace

Result<Download> download(const std::string& url, const fs::path& dir,
                          const std::optional<Digest>& checksum) {
  static std::once_flag init;
  std::call_once(init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  std::string name = TRY(url_file_name(url));
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return make_error("download `{}`: cannot start libcurl", url);
  auto file = TRY(AtomicFile::create(dir / name, 0600));
  Transfer t;
  t.curl = curl.get();
  t.fd = file.fd();
  char errbuf[CURL_ERROR_SIZE] = {};
  TRY(setup(curl.get(), url, t, errbuf));
  CURLcode rc = curl_easy_perform(curl.get());
  long code = 0;
  curl_easy_getinfo(curl.get(), CURLINFO_RESPONSE_CODE, &code);
  if (!t.write_status) return std::move(t.write_status).error().wrap("download `{}`", url);
  if (rc != CURLE_OK && !t.refused_status)
    return make_error("download `{}`: {}", url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
  if (code < 200 || code >= 300)
    return make_error(code == 404 ? ExitCode::not_found : ExitCode::failure, "download `{}`: {}", url,
                      describe_status(code, t.status_line));
  Download out;
  out.name = name;
  out.digest = t.sha.finish();
  if (checksum && *checksum != out.digest)
    return make_error(ExitCode::bad_input, "download `{}`: checksum mismatch: expected {}, got {}", url,
                      checksum->str(), out.digest.str());
  curl_off_t filetime = -1;
  if (curl_easy_getinfo(curl.get(), CURLINFO_FILETIME_T, &filetime) == CURLE_OK && filetime >= 0)
    out.mtime_sec = static_cast<int64_t>(filetime);
  // Without Last-Modified the file gets the epoch, as BuildKit's http source does, so the
  // layer does not depend on when it was built.
  const timespec times[2] = {{static_cast<time_t>(out.mtime_sec), 0},
                             {static_cast<time_t>(out.mtime_sec), 0}};
  if (::futimens(file.fd(), times) != 0)
    return errno_error(fmt::format("set times of `{}`", (dir / name).string()));
  TRY(file.commit());
  out.path = dir / name;
  return out;
}

}  // namespace cbuild::build
