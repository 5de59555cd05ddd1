#pragma once
// A scripted Transport for registry tests: routes "METHOD URL" to queued responses and
// records every request it receives.
#include <deque>
#include <map>
#include <mutex>

#include "cbuild/registry/transport.hpp"

namespace cbuild::registry::test {

class FakeTransport final : public Transport {
 public:
  /// Queue a response for `method url`; the last one queued repeats once the others are used.
  void add(const std::string& method, const std::string& url, HttpResponse response) {
    std::lock_guard lock(m_mutex);
    m_routes[method + " " + url].push_back(std::move(response));
  }
  void add_get(const std::string& url, int status, std::string body,
               std::map<std::string, std::string> headers = {}) {
    HttpResponse r;
    r.status = status;
    r.body = std::move(body);
    r.headers = std::move(headers);
    add("GET", url, std::move(r));
  }

  /// A streamed body (`source`) is read whole and recorded as the request's `body`.
  Result<HttpResponse> send(const HttpRequest& sent, const BodySink& sink) override {
    HttpRequest request = sent;
    if (request.source) {
      request.body.assign(request.source->size, '\0');
      for (uint64_t at = 0; at < request.source->size;) {
        size_t n = TRY(request.source->read(at, request.body.data() + at, request.source->size - at));
        if (n == 0) return make_error("fake transport: body source ended early");
        at += n;
      }
      request.source.reset();
    }
    HttpResponse response;
    {
      std::lock_guard lock(m_mutex);
      m_requests.push_back(request);
      auto it = m_routes.find(request.method + " " + request.url);
      if (it == m_routes.end()) {
        response.status = 404;
        response.body = R"({"errors":[{"code":"NOT_FOUND","message":"no route in fake"}]})";
        return response;
      }
      response = it->second.front();
      if (it->second.size() > 1) it->second.pop_front();
    }
    if (sink && response.status / 100 == 2) {
      // Deliver in two pieces, as a network would.
      std::string_view body = response.body;
      TRY(sink(body.substr(0, body.size() / 2)));
      TRY(sink(body.substr(body.size() / 2)));
      response.body.clear();
    }
    return response;
  }

  std::vector<HttpRequest> requests() const {
    std::lock_guard lock(m_mutex);
    return m_requests;
  }
  /// "METHOD URL" of every request, in order.
  std::vector<std::string> calls() const {
    std::lock_guard lock(m_mutex);
    std::vector<std::string> out;
    for (const HttpRequest& r : m_requests) out.push_back(r.method + " " + r.url);
    return out;
  }
  /// The requests whose "METHOD URL" starts with `prefix`.
  std::vector<HttpRequest> requests_to(const std::string& prefix) const {
    std::lock_guard lock(m_mutex);
    std::vector<HttpRequest> out;
    for (const HttpRequest& r : m_requests)
      if ((r.method + " " + r.url).starts_with(prefix)) out.push_back(r);
    return out;
  }
  /// Value of header `name` in request `i` (empty when absent).
  std::string request_header(size_t i, const std::string& name) const {
    std::lock_guard lock(m_mutex);
    for (const auto& [n, v] : m_requests.at(i).headers)
      if (n == name) return v;
    return {};
  }

 private:
  mutable std::mutex m_mutex;
  std::map<std::string, std::deque<HttpResponse>> m_routes;
  std::vector<HttpRequest> m_requests;
};

/// Fixed credentials (or none).
class FixedCredentials final : public CredentialSource {
 public:
  explicit FixedCredentials(std::optional<Credentials> c = std::nullopt) : m_credentials(std::move(c)) {}
  Result<std::optional<Credentials>> lookup(std::string_view) override { return m_credentials; }

 private:
  std::optional<Credentials> m_credentials;
};

}  // namespace cbuild::registry::test
