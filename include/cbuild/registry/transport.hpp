#pragma once
/// HTTP for the registry client. `Transport` is the test seam: the client speaks to
/// registries only through it; `make_curl_transport` is the real one (libcurl, HTTPS with the
/// system CAs, redirects followed; libcurl drops `Authorization` when a redirect leaves the
/// host). Retries and authentication live above it, in `Client`.
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::registry {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// A request body read on demand (blob uploads): `size` bytes, read by offset so that a
/// retried request starts again from the beginning. `read` fills up to `n` bytes of `buf`
/// with the bytes at `offset` and returns how many (0 only at the end).
struct BodySource {
  uint64_t size = 0;
  std::function<Result<size_t>(uint64_t offset, char* buf, size_t n)> read;
};

struct HttpRequest {
  std::string method = "GET";
  std::string url;
  HeaderList headers;                ///< sent as given ("Accept", "Authorization", ...)
  std::string body;                  ///< sent when not empty (or for PUT/POST/PATCH), unless `source` is set
  std::optional<BodySource> source;  ///< a streamed body instead of `body`
};

/// Receives the body of a successful (2xx) response in pieces; an error aborts the transfer.
using BodySink = std::function<Status(std::string_view chunk)>;

struct HttpResponse {
  int status = 0;  ///< HTTP status; 0 when no response was received (see `error`)
  /// Header names lower-cased; of repeated headers the last is kept, except
  /// `www-authenticate`, whose values are joined with ", " as RFC 9110 allows.
  std::map<std::string, std::string> headers;
  std::string reason;      ///< the status line's reason phrase ("Not Found"), when sent
  std::string body;        ///< the body, unless it went to a sink (2xx with a sink)
  std::string error;       ///< transport failure text when status is 0
  bool retryable = false;  ///< status 0 only: timeout or connection dropped mid-transfer

  std::string header(std::string_view lower_name) const;
};

class Transport {
 public:
  virtual ~Transport() = default;
  /// Performs one request. Never returns an HTTP status as an error: a response of any
  /// status is a value; only a failing sink gives an Error.
  virtual Result<HttpResponse> send(const HttpRequest& request, const BodySink& sink) = 0;
};

struct CurlOptions {
  long connect_timeout_seconds = 15;
  /// A transfer slower than 1 byte/s for this long is a timeout (retryable).
  long low_speed_seconds = 60;
  std::string user_agent = "cbuild/0.1";
};

/// The libcurl transport; safe to use from several threads (one easy handle per request).
/// It lives in the plugin `cbuild-http.so`, loaded on first use from `$CBUILD_HTTP_PLUGIN`,
/// beside the executable, `<prefix>/<libdir>/cbuild/` or the build tree; when it cannot be
/// loaded, every request fails with an error saying so.
std::unique_ptr<Transport> make_curl_transport(CurlOptions options = {});

}  // namespace cbuild::registry
