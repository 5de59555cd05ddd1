#pragma once
/// A client of one OCI distribution API (spec v1.1) for pulling: endpoint selection,
/// retries, authentication (anonymous, Basic, Bearer tokens cached per scope), manifests
/// and blobs. Everything goes through a `Transport`, so tests run it against fakes.
///
/// Endpoint rules: `docker.io` is served by `registry-1.docker.io`; HTTPS always, except
/// plain HTTP for `localhost`, `127.0.0.1`, `::1` (any port) and the hosts listed in
/// `ClientOptions::insecure_registries` (matched with or without port).
///
/// Retries: transport timeouts/dropped connections, 429 and 5xx are retried up to
/// `max_attempts` in all, waiting `initial_backoff` × 2ⁿ (a `Retry-After` in seconds is
/// honoured up to 10 s). Other statuses are final; 401/403/404 give errors naming the
/// registry and repository.
///
/// Tokens are asked for with every scope the request needs (`scope=` repeated) plus the
/// scopes the challenge names, and cached per set of scopes.
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/image/descriptor.hpp"
#include "cbuild/registry/auth.hpp"
#include "cbuild/registry/transport.hpp"

namespace cbuild::registry {

struct ClientOptions {
  std::vector<std::string> insecure_registries;  ///< "myreg:5000" or "myreg"
  int max_attempts = 4;
  std::chrono::milliseconds initial_backoff{250};
};

/// The media types a pull accepts for manifests (OCI and docker, images and indexes).
inline constexpr std::string_view k_manifest_accept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";

/// `https://registry-1.docker.io` for docker.io, `http://127.0.0.1:5000`, ...
std::string registry_base_url(std::string_view domain, const std::vector<std::string>& insecure_registries);

/// The access a request needs, as bearer-token scopes: `repository:<name>:pull` or
/// `:pull,push`, plus `repository:<other>:pull` for each repository a blob is mounted from.
/// An empty repository asks for no scope (the `/v2/` check of `cbuild login`).
struct Access {
  std::string repository;
  bool push = false;
  std::vector<std::string> pull_from;

  std::vector<std::string> scopes() const;
  std::string key() const;  ///< the scopes joined with spaces (the token cache key)
};

/// A manifest or index as the registry served it (bytes kept exact).
struct FetchedManifest {
  std::string bytes;
  std::string media_type;  ///< from Content-Type, else sniffed from the JSON
  Digest digest;           ///< of `bytes`
};

class Client {
 public:
  /// `domain` as in a normalized reference ("docker.io", "127.0.0.1:5000").
  Client(Transport& transport, CredentialSource& credentials, std::string domain, ClientOptions options = {});

  const std::string& domain() const { return m_domain; }
  const std::string& base_url() const { return m_base_url; }

  /// GET /v2/: checks that the registry answers (authenticating if it asks).
  Status ping(std::string_view repository);
  /// GET /v2/<repository>/manifests/<tag or digest>. With a digest, the bytes are verified.
  Result<FetchedManifest> get_manifest(std::string_view repository, std::string_view tag_or_digest);
  /// GET /v2/<repository>/blobs/<digest>, streamed to `sink` (called again from the start
  /// with `restart` true before each retry, so the consumer can discard what it got).
  Status get_blob(std::string_view repository, const Digest& digest,
                  const std::function<Status(bool restart)>& restart, const BodySink& sink);

  /// One request with retries and authentication for `repository` (scope `pull`).
  /// 2xx → the response; anything else → an error naming the registry and repository.
  Result<HttpResponse> request(std::string_view repository, HttpRequest request, const BodySink& sink = {},
                               const std::function<Status()>& before_retry = {});
  /// The same with the access given (e.g. push).
  Result<HttpResponse> request(const Access& access, HttpRequest request, const BodySink& sink = {},
                               const std::function<Status()>& before_retry = {});
  /// One request with retries and authentication; a response of any status is a value.
  Result<HttpResponse> send(const Access& access, HttpRequest request, const BodySink& sink = {},
                            const std::function<Status()>& before_retry = {});
  /// The error for a failed response: "METHOD URL: registry `d`, repository `r`: not found
  /// (HTTP 404): <registry's message>" (401/403 failure, 404 not_found).
  Error response_error(const HttpRequest& request, const HttpResponse& response,
                       std::string_view repository) const;

 private:
  Result<HttpResponse> send_with_retries(HttpRequest& request, const BodySink& sink,
                                         const std::function<Status()>& before_retry);
  /// Answers a 401 to a request sent with Authorization `sent` (may be empty): sets
  /// m_authorization for the access from the challenge. False when there is nothing new to
  /// try (the value would be `sent` again). Comparing with what this request sent, not with
  /// the cache, keeps parallel requests that all got a 401 from refusing each other.
  Result<bool> authenticate(const HttpResponse& response, const Access& access, const std::string& sent);
  Result<std::string> fetch_token(const Challenge& challenge, const Access& access);
  std::string authorization_for(const std::string& scope);
  Result<std::optional<Credentials>> credentials();

  Transport& m_transport;
  CredentialSource& m_credentials;
  std::string m_domain;
  std::string m_base_url;
  ClientOptions m_options;
  std::mutex m_mutex;
  std::map<std::string, std::string> m_authorization;  ///< scope → Authorization header value
  std::optional<std::optional<Credentials>> m_cached_credentials;
};

}  // namespace cbuild::registry
