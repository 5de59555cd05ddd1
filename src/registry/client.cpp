// Registry client: endpoints, retries, authentication, manifests and blobs.
#include "cbuild/registry/client.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <thread>

#include "cbuild/image/manifest.hpp"

namespace cbuild::registry {
namespace {

using Json = nlohmann::json;

constexpr std::string_view k_loopback_hosts[] = {"localhost", "127.0.0.1", "[::1]", "::1"};

/// "host:port" → "host"; "[::1]:5000" → "[::1]".
std::string_view strip_port(std::string_view domain) {
  if (domain.starts_with('[')) {
    auto close = domain.find(']');
    return close == std::string_view::npos ? domain : domain.substr(0, close + 1);
  }
  auto colon = domain.rfind(':');
  return colon == std::string_view::npos ? domain : domain.substr(0, colon);
}

bool is_retryable_status(int status) { return status == 429 || (status >= 500 && status <= 599); }

/// Percent-encoding of a query value (RFC 3986 unreserved characters kept).
std::string url_escape(std::string_view text) {
  static constexpr char k_hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += k_hex[c >> 4];
      out += k_hex[c & 15];
    }
  }
  return out;
}

/// "manifest unknown" from a registry's {"errors":[{"code","message"}]} body, or the body.
std::string registry_message(const HttpResponse& response) {
  Json doc = Json::parse(response.body, nullptr, false);
  if (!doc.is_discarded() && doc.is_object() && doc.contains("errors") && doc["errors"].is_array()) {
    std::string out;
    for (const Json& e : doc["errors"]) {
      if (!e.is_object()) continue;
      if (!out.empty()) out += "; ";
      out += e.value("message", e.value("code", std::string("error")));
    }
    if (!out.empty()) return out;
  }
  std::string body = response.body.substr(0, 200);
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return body;
}

/// True when a scope in `have` grants every action of `scope` ("type:name:a,b") on its resource.
bool covered(const std::vector<std::string>& have, std::string_view scope) {
  const size_t colon = scope.rfind(':');
  if (colon == std::string_view::npos) return std::find(have.begin(), have.end(), scope) != have.end();
  const std::string_view resource = scope.substr(0, colon + 1);
  for (std::string_view h : have) {
    if (!h.starts_with(resource) || h.find(':', resource.size()) != std::string_view::npos) continue;
    const std::string granted = "," + std::string(h.substr(resource.size())) + ",";
    bool all = true;
    for (std::string_view rest = scope.substr(colon + 1); !rest.empty();) {
      const size_t comma = rest.find(',');
      all = all && granted.find("," + std::string(rest.substr(0, comma)) + ",") != std::string::npos;
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    }
    if (all) return true;
  }
  return false;
}

struct StatusText {
  int status;
  std::string_view text;
  ExitCode code;
};
constexpr StatusText k_status_texts[] = {
    {401, "unauthorized: authentication required or credentials rejected", ExitCode::failure},
    {403, "access denied", ExitCode::failure},
    {404, "not found", ExitCode::not_found},
    {429, "too many requests", ExitCode::failure},
};

}  // namespace

std::string registry_base_url(std::string_view domain, const std::vector<std::string>& insecure) {
  if (domain == "docker.io" || domain == "index.docker.io") return "https://registry-1.docker.io";
  const std::string_view host = strip_port(domain);
  bool plain = false;
  for (std::string_view h : k_loopback_hosts) plain = plain || host == h;
  for (const std::string& h : insecure) plain = plain || h == domain || h == host;
  return (plain ? "http://" : "https://") + std::string(domain);
}

std::vector<std::string> Access::scopes() const {
  std::vector<std::string> out;
  if (repository.empty()) return out;
  out.push_back("repository:" + repository + (push ? ":pull,push" : ":pull"));
  for (const std::string& from : pull_from)
    if (from != repository) out.push_back("repository:" + from + ":pull");
  return out;
}

std::string Access::key() const {
  std::string out;
  for (const std::string& s : scopes()) out += (out.empty() ? "" : " ") + s;
  return out;
}

Client::Client(Transport& transport, CredentialSource& credentials, std::string domain, ClientOptions options)
    : m_transport(transport),
      m_credentials(credentials),
      m_domain(std::move(domain)),
      m_base_url(registry_base_url(m_domain, options.insecure_registries)),
      m_options(std::move(options)) {}

Result<HttpResponse> Client::send_with_retries(HttpRequest& request, const BodySink& sink,
                                               const std::function<Status()>& before_retry) {
  std::chrono::milliseconds wait = m_options.initial_backoff;
  for (int attempt = 1;; ++attempt) {
    HttpResponse response = TRY(m_transport.send(request, sink));
    const bool retry = response.status == 0 ? response.retryable : is_retryable_status(response.status);
    if (!retry || attempt >= m_options.max_attempts) {
      if (response.status == 0) {
        return make_error("{} {}: cannot reach registry `{}`: {}{}", request.method, request.url, m_domain,
                          response.error, attempt > 1 ? fmt::format(" (after {} attempts)", attempt) : "");
      }
      return response;
    }
    std::chrono::milliseconds delay = wait;
    if (std::string after = response.header("retry-after"); !after.empty()) {
      long seconds = std::strtol(after.c_str(), nullptr, 10);
      if (seconds > 0) delay = std::chrono::milliseconds(std::min(seconds, 10L) * 1000);
    }
    std::this_thread::sleep_for(delay);
    wait *= 2;
    if (before_retry) TRY(before_retry());
  }
}

Result<std::optional<Credentials>> Client::credentials() {
  std::lock_guard lock(m_mutex);
  if (!m_cached_credentials) m_cached_credentials = TRY(m_credentials.lookup(m_domain));
  return *m_cached_credentials;
}

std::string Client::authorization_for(const std::string& scope) {
  std::lock_guard lock(m_mutex);
  auto it = m_authorization.find(scope);
  return it == m_authorization.end() ? std::string() : it->second;
}

Result<std::string> Client::fetch_token(const Challenge& challenge, const Access& access) {
  const std::string realm = challenge.param("realm");
  if (realm.empty())
    return make_error("authenticate to registry `{}`: bearer challenge without realm", m_domain);
  HttpRequest request;
  request.url = realm + (realm.find('?') == std::string::npos ? "?" : "&");
  if (std::string service = challenge.param("service"); !service.empty())
    request.url += "service=" + url_escape(service) + "&";
  std::vector<std::string> scopes = access.scopes();
  const std::string asked = challenge.param("scope");
  for (std::string_view rest = asked; !rest.empty();) {
    const size_t space = rest.find(' ');
    std::string scope(rest.substr(0, space));
    if (!scope.empty() && !covered(scopes, scope)) scopes.push_back(scope);
    rest = space == std::string_view::npos ? std::string_view() : rest.substr(space + 1);
  }
  for (const std::string& scope : scopes) request.url += "scope=" + url_escape(scope) + "&";
  request.url.pop_back();  // the last '&' (or the '?' when there is nothing to ask)
  auto creds = TRY(credentials());
  if (creds && !creds->username.empty())
    request.headers.emplace_back("Authorization", basic_authorization(*creds));
  HttpResponse response = TRY(send_with_retries(request, {}, {}));
  if (response.status == 401 || response.status == 403) {
    return make_error("authenticate to registry `{}`: token server {} refused {}: {}", m_domain, realm,
                      creds ? "the credentials" : "anonymous access", registry_message(response));
  }
  if (response.status / 100 != 2)
    return make_error("authenticate to registry `{}`: token server {} answered {}", m_domain, realm,
                      response.status);
  Json doc = Json::parse(response.body, nullptr, false);
  if (doc.is_object()) {
    for (const char* field : {"token", "access_token"}) {
      if (auto it = doc.find(field); it != doc.end() && it->is_string() && !it->get<std::string>().empty())
        return it->get<std::string>();
    }
  }
  return make_error("authenticate to registry `{}`: token server {} sent no token", m_domain, realm);
}

Result<bool> Client::authenticate(const HttpResponse& response, const Access& access,
                                  const std::string& sent) {
  std::string header = response.header("www-authenticate");
  if (header.empty()) return false;
  auto challenges = TRY(parse_www_authenticate(header));
  std::string value;
  for (const Challenge& c : challenges) {
    if (c.scheme == "bearer") {
      value = "Bearer " + TRY(fetch_token(c, access));
      break;
    }
  }
  if (value.empty()) {
    for (const Challenge& c : challenges) {
      if (c.scheme != "basic") continue;
      auto creds = TRY(credentials());
      if (!creds || creds->username.empty()) return false;
      value = basic_authorization(*creds);
      break;
    }
  }
  if (value.empty() || value == sent) return false;  // nothing new to try: refused
  std::lock_guard lock(m_mutex);
  m_authorization[access.key()] = value;  // another thread may have set it meanwhile: same value
  return true;
}

Result<HttpResponse> Client::send(const Access& access, HttpRequest request, const BodySink& sink,
                                  const std::function<Status()>& before_retry) {
  const std::string key = access.key();
  const HeaderList base_headers = request.headers;
  HttpResponse response;
  for (int round = 0; round < 3; ++round) {
    request.headers = base_headers;
    const std::string auth = authorization_for(key);
    if (!auth.empty()) request.headers.emplace_back("Authorization", auth);
    response = TRY(send_with_retries(request, sink, before_retry));
    if (response.status != 401 || !TRY(authenticate(response, access, auth))) break;
  }
  return response;
}

Error Client::response_error(const HttpRequest& request, const HttpResponse& response,
                             std::string_view repository) const {
  std::string what = "unexpected status";
  ExitCode code = ExitCode::failure;
  for (const StatusText& s : k_status_texts) {
    if (s.status == response.status) {
      what = std::string(s.text);
      code = s.code;
    }
  }
  std::string detail = registry_message(response);
  const std::string where = repository.empty()
                                ? fmt::format("registry `{}`", m_domain)
                                : fmt::format("registry `{}`, repository `{}`", m_domain, repository);
  return Error{fmt::format("{} {}: {}: {} (HTTP {}){}{}", request.method, request.url, where, what,
                           response.status, detail.empty() ? "" : ": ", detail),
               code};
}

Result<HttpResponse> Client::request(const Access& access, HttpRequest request, const BodySink& sink,
                                     const std::function<Status()>& before_retry) {
  HttpResponse response = TRY(send(access, request, sink, before_retry));
  if (response.status / 100 == 2) return response;
  return response_error(request, response, access.repository);
}

Result<HttpResponse> Client::request(std::string_view repository, HttpRequest request, const BodySink& sink,
                                     const std::function<Status()>& before_retry) {
  return this->request(Access{std::string(repository), false, {}}, std::move(request), sink, before_retry);
}

Status Client::ping(std::string_view repository) {
  HttpRequest request;
  request.url = m_base_url + "/v2/";
  TRY(this->request(repository, std::move(request)));
  return {};
}

Result<FetchedManifest> Client::get_manifest(std::string_view repository, std::string_view tag_or_digest) {
  HttpRequest request;
  request.url = m_base_url + "/v2/" + std::string(repository) + "/manifests/" + std::string(tag_or_digest);
  request.headers.emplace_back("Accept", std::string(k_manifest_accept));
  HttpResponse response = TRY(this->request(repository, std::move(request)));
  FetchedManifest fetched{std::move(response.body), response.header("content-type"), Digest::of("")};
  fetched.digest = Digest::of(fetched.bytes);
  if (tag_or_digest.starts_with("sha256:") && fetched.digest.str() != tag_or_digest) {
    return make_error("fetch manifest {}@{} from registry `{}`: content has digest {}", repository,
                      tag_or_digest, m_domain, fetched.digest.str());
  }
  // Registries may send generic types (application/json, text/plain): trust the document.
  if (auto semi = fetched.media_type.find(';'); semi != std::string::npos) fetched.media_type.resize(semi);
  auto sniffed = image::sniff_media_type(fetched.bytes);
  if (!sniffed.ok())
    return std::move(sniffed).error().wrap("fetch manifest {}:{} from registry `{}`", repository,
                                           tag_or_digest, m_domain);
  if (!sniffed->empty()) fetched.media_type = *sniffed;
  return fetched;
}

Status Client::get_blob(std::string_view repository, const Digest& digest,
                        const std::function<Status(bool restart)>& restart, const BodySink& sink) {
  HttpRequest request;
  request.url = m_base_url + "/v2/" + std::string(repository) + "/blobs/" + digest.str();
  TRY(restart(false));
  TRY(this->request(repository, std::move(request), sink, [&] { return restart(true); }));
  return {};
}

}  // namespace cbuild::registry
