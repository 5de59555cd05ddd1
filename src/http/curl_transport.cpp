// The libcurl Transport: one easy handle per request, body streamed to the sink. Built as
// the plugin cbuild-http.so (see registry/transport.cpp): libcurl and the libraries it
// loads are mapped only by runs that make HTTP requests.
#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

#include "cbuild/registry/transport.hpp"

namespace cbuild::registry {

namespace {

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

struct Transfer {
  CURL* curl = nullptr;
  HttpResponse response;
  const BodySink* sink = nullptr;
  Error sink_error;
  bool sink_failed = false;
  const BodySource* source = nullptr;
  uint64_t sent = 0;  ///< bytes of `source` handed to curl
};

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    t->response.headers.clear();  // a new response (after a redirect or 100-continue)
    // "HTTP/1.1 404 Not Found": the reason phrase is what follows the code.
    size_t first = line.find(' ');
    size_t second = first == std::string_view::npos ? first : line.find(' ', first + 1);
    t->response.reason = second == std::string_view::npos ? std::string() : trim(line.substr(second + 1));
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos) return size * count;
  std::string name = trim(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string value = trim(line.substr(colon + 1));
  auto& slot = t->response.headers[name];
  if (name == "www-authenticate" && !slot.empty())
    slot += ", " + value;
  else
    slot = value;
  return size * count;
}

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  std::string_view chunk(data, size * count);
  if (t->sink && *t->sink && status >= 200 && status < 300) {
    Status st = (*t->sink)(chunk);
    if (!st.ok()) {
      t->sink_error = std::move(st).error();
      t->sink_failed = true;
      return 0;  // aborts the transfer
    }
    return chunk.size();
  }
  t->response.body.append(chunk);
  return chunk.size();
}

size_t on_read(char* buf, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const uint64_t left = t->source->size - t->sent;
  const size_t want = static_cast<size_t>(std::min<uint64_t>(left, size * count));
  if (want == 0) return 0;
  auto got = t->source->read(t->sent, buf, want);
  if (!got.ok()) {
    t->sink_error = std::move(got).error();
    t->sink_failed = true;
    return CURL_READFUNC_ABORT;
  }
  if (*got == 0) {
    t->sink_error = Error{fmt::format("request body ended after {} of {} bytes", t->sent, t->source->size)};
    t->sink_failed = true;
    return CURL_READFUNC_ABORT;
  }
  t->sent += *got;
  return *got;
}

bool is_retryable(CURLcode code) {
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_GOT_NOTHING:
      return true;
    default:
      return false;
  }
}

class CurlTransport final : public Transport {
 public:
  explicit CurlTransport(CurlOptions options) : m_options(std::move(options)) {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  }

  Result<HttpResponse> send(const HttpRequest& request, const BodySink& sink) override {
    Transfer t;
    t.curl = curl_easy_init();
    if (!t.curl) return make_error("{} {}: cannot create a curl handle", request.method, request.url);
    struct curl_slist* headers = nullptr;
    for (const auto& [name, value] : request.headers)
      headers = curl_slist_append(headers, (name + ": " + value).c_str());
    if (!request.body.empty() || request.source || request.method == "PUT" || request.method == "POST" ||
        request.method == "PATCH") {
      // no "Expect: 100-continue" round trip
      headers = curl_slist_append(headers, "Expect:");
    }
    t.sink = &sink;
    configure(t, request, headers);
    CURLcode code = curl_easy_perform(t.curl);
    long status = 0;
    curl_easy_getinfo(t.curl, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(t.curl);
    if (t.sink_failed) return std::move(t.sink_error);
    if (code != CURLE_OK) {
      t.response.status = 0;
      t.response.error = curl_easy_strerror(code);
      t.response.retryable = is_retryable(code);
      return std::move(t.response);
    }
    t.response.status = static_cast<int>(status);
    return std::move(t.response);
  }

 private:
  void configure(Transfer& t, const HttpRequest& request, curl_slist* headers) {
    CURL* c = t.curl;
    curl_easy_setopt(c, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, m_options.connect_timeout_seconds);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, m_options.low_speed_seconds);
    curl_easy_setopt(c, CURLOPT_USERAGENT, m_options.user_agent.c_str());
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    if (request.method == "HEAD") {
      curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (request.method != "GET") {
      curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    }
    if (request.source) {
      t.source = &*request.source;
      curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);  // with CUSTOMREQUEST: any method, streamed body
      curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(request.source->size));
      curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
      curl_easy_setopt(c, CURLOPT_READDATA, &t);
    } else if (!request.body.empty() || request.method == "PUT" || request.method == "POST" ||
               request.method == "PATCH") {
      curl_easy_setopt(c, CURLOPT_POSTFIELDS, request.body.data());
      curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
    }
  }

  CurlOptions m_options;
};

}  // namespace

/// The plugin's one entry point (looked up by name with dlsym).
extern "C" __attribute__((visibility("default"))) Transport* cbuild_make_curl_transport(const CurlOptions* options) {
  return new CurlTransport(*options);
}

}  // namespace cbuild::registry
