#include "cbuild/registry/client.hpp"

#include <catch2/catch.hpp>
#include <condition_variable>
#include <thread>

#include "support/registry/fake_transport.hpp"

using namespace cbuild;
using namespace cbuild::registry;
using namespace cbuild::registry::test;

namespace {
const std::string k_base = "http://127.0.0.1:5000";
const std::string k_manifest =
    R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]})";
ClientOptions fast() { return ClientOptions{{}, 4, std::chrono::milliseconds(0)}; }
HttpResponse response(int status, std::string body = {}, std::map<std::string, std::string> headers = {}) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  return r;
}
}  // namespace

TEST_CASE("endpoints: HTTPS except loopback and listed insecure registries", "[client]") {
  struct Case {
    std::string_view domain;
    std::vector<std::string> insecure;
    std::string_view url;
  };
  const Case cases[] = {
      {"docker.io", {}, "https://registry-1.docker.io"},
      {"index.docker.io", {}, "https://registry-1.docker.io"},
      {"quay.io", {}, "https://quay.io"},
      {"localhost", {}, "http://localhost"},
      {"localhost:5000", {}, "http://localhost:5000"},
      {"127.0.0.1:41234", {}, "http://127.0.0.1:41234"},
      {"[::1]:5000", {}, "http://[::1]:5000"},
      {"127.0.0.2:5000", {}, "https://127.0.0.2:5000"},
      {"reg.lan:5000", {"reg.lan"}, "http://reg.lan:5000"},
      {"reg.lan:5000", {"reg.lan:5000"}, "http://reg.lan:5000"},
      {"reg.lan:5000", {"reg.lan:5001"}, "https://reg.lan:5000"},
      {"localhost.evil.com", {}, "https://localhost.evil.com"},
  };
  for (const Case& c : cases) {
    INFO(c.domain);
    CHECK(registry_base_url(c.domain, c.insecure) == c.url);
  }
}

TEST_CASE("5xx and 429 are retried with a bounded number of attempts", "[client]") {
  FakeTransport t;
  FixedCredentials creds;
  const std::string url = k_base + "/v2/x/manifests/1";
  t.add("GET", url, response(503));
  t.add("GET", url, response(429));
  t.add("GET", url,
        response(200, k_manifest, {{"content-type", "application/vnd.oci.image.manifest.v1+json"}}));
  Client client(t, creds, "127.0.0.1:5000", fast());
  auto m = client.get_manifest("x", "1");
  REQUIRE(m.ok());
  CHECK(t.requests().size() == 3);
  CHECK(m->digest == Digest::of(k_manifest));
  CHECK(m->media_type == "application/vnd.oci.image.manifest.v1+json");

  FakeTransport down;
  down.add("GET", url, response(502, "bad gateway"));
  Client failing(down, creds, "127.0.0.1:5000", fast());
  auto r = failing.get_manifest("x", "1");
  REQUIRE_FALSE(r.ok());
  CHECK(down.requests().size() == 4);
  CHECK_THAT(r.error().message, Catch::Contains("HTTP 502") && Catch::Contains("127.0.0.1:5000"));
}

TEST_CASE("transport failures: timeouts retried, refused connections reported at once", "[client]") {
  FakeTransport t;
  FixedCredentials creds;
  const std::string url = k_base + "/v2/";
  HttpResponse timeout;
  timeout.error = "Timeout was reached";
  timeout.retryable = true;
  t.add("GET", url, timeout);
  t.add("GET", url, response(200, "{}"));
  Client client(t, creds, "127.0.0.1:5000", fast());
  REQUIRE(client.ping("x").ok());
  CHECK(t.requests().size() == 2);

  FakeTransport refused;
  HttpResponse conn;
  conn.error = "Couldn't connect to server";
  refused.add("GET", url, conn);
  Client c2(refused, creds, "127.0.0.1:5000", fast());
  auto st = c2.ping("x");
  REQUIRE_FALSE(st.ok());
  CHECK(refused.requests().size() == 1);
  CHECK_THAT(st.error().message, Catch::Contains("cannot reach registry `127.0.0.1:5000`") &&
                                     Catch::Contains("Couldn't connect"));
}

TEST_CASE("404 and 403 name the registry and repository", "[client]") {
  FakeTransport t;
  FixedCredentials creds;
  t.add_get(k_base + "/v2/team/app/manifests/nope", 404,
            R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]})");
  t.add_get(k_base + "/v2/team/app/manifests/secret", 403, "");
  Client client(t, creds, "127.0.0.1:5000", fast());
  auto r = client.get_manifest("team/app", "nope");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::not_found);
  CHECK_THAT(r.error().message, Catch::Contains("registry `127.0.0.1:5000`, repository `team/app`") &&
                                    Catch::Contains("not found (HTTP 404): manifest unknown"));
  auto denied = client.get_manifest("team/app", "secret");
  REQUIRE_FALSE(denied.ok());
  CHECK_THAT(denied.error().message,
             Catch::Contains("access denied (HTTP 403)") && Catch::Contains("team/app"));
}

TEST_CASE("bearer flow: token fetched with credentials, cached per scope", "[client]") {
  FakeTransport t;
  FixedCredentials creds(Credentials{"user", "pass", ""});
  const std::string challenge =
      R"(Bearer realm="http://127.0.0.1:6000/token?x=1",service="my registry",scope="repository:team/app:pull")";
  const std::string m1 = k_base + "/v2/team/app/manifests/1";
  t.add("GET", m1, response(401, "", {{"www-authenticate", challenge}}));
  t.add("GET", m1, response(200, k_manifest));
  t.add("GET", k_base + "/v2/team/app/manifests/2", response(200, k_manifest));
  const std::string token_url =
      "http://127.0.0.1:6000/token?x=1&service=my%20registry&scope=repository%3Ateam%2Fapp%3Apull";
  t.add_get(token_url, 200, R"({"access_token":"tok123","expires_in":300})");
  Client client(t, creds, "127.0.0.1:5000", fast());
  REQUIRE(client.get_manifest("team/app", "1").ok());
  REQUIRE(client.get_manifest("team/app", "2").ok());
  auto reqs = t.requests();
  REQUIRE(reqs.size() == 4);
  CHECK(reqs[1].url == token_url);
  CHECK(t.request_header(1, "Authorization") == "Basic dXNlcjpwYXNz");
  CHECK(t.request_header(0, "Authorization").empty());
  CHECK(t.request_header(2, "Authorization") == "Bearer tok123");
  CHECK(t.request_header(3, "Authorization") == "Bearer tok123");  // cached, no second token request
  CHECK(t.request_header(2, "Accept").find("application/vnd.oci.image.index.v1+json") != std::string::npos);
}

TEST_CASE("bearer flow: anonymous token with `token` field; refused token is an error", "[client]") {
  FakeTransport t;
  FixedCredentials none;
  const std::string m = k_base + "/v2/x/manifests/1";
  t.add("GET", m, response(401, "", {{"www-authenticate", R"(Bearer realm="http://127.0.0.1:6000/t")"}}));
  t.add("GET", m, response(200, k_manifest));
  t.add_get("http://127.0.0.1:6000/t?scope=repository%3Ax%3Apull", 200, R"({"token":"anon"})");
  Client client(t, none, "127.0.0.1:5000", fast());
  REQUIRE(client.get_manifest("x", "1").ok());
  CHECK(t.request_header(2, "Authorization") == "Bearer anon");

  FakeTransport refused;
  refused.add("GET", m,
              response(401, "", {{"www-authenticate", R"(Bearer realm="http://127.0.0.1:6000/t")"}}));
  refused.add_get("http://127.0.0.1:6000/t?scope=repository%3Ax%3Apull", 401, "");
  Client c2(refused, none, "127.0.0.1:5000", fast());
  auto r = c2.get_manifest("x", "1");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("token server") && Catch::Contains("anonymous access"));
}

TEST_CASE("basic flow: credentials sent after a Basic challenge; rejected ones not retried forever",
          "[client]") {
  const std::string m = k_base + "/v2/x/manifests/1";
  const std::map<std::string, std::string> basic{{"www-authenticate", R"(Basic realm="Registry Realm")"}};
  FakeTransport t;
  FixedCredentials creds(Credentials{"user", "pass", ""});
  t.add("GET", m, response(401, "", basic));
  t.add("GET", m, response(200, k_manifest));
  Client client(t, creds, "127.0.0.1:5000", fast());
  REQUIRE(client.get_manifest("x", "1").ok());
  CHECK(t.request_header(1, "Authorization") == "Basic dXNlcjpwYXNz");

  FakeTransport wrong;
  wrong.add(
      "GET", m,
      response(401, R"({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})", basic));
  Client c2(wrong, creds, "127.0.0.1:5000", fast());
  auto r = c2.get_manifest("x", "1");
  REQUIRE_FALSE(r.ok());
  CHECK(wrong.requests().size() == 2);
  CHECK_THAT(r.error().message, Catch::Contains("unauthorized") && Catch::Contains("repository `x`") &&
                                    Catch::Contains("HTTP 401"));

  FakeTransport anon;
  FixedCredentials none;
  anon.add("GET", m, response(401, "", basic));
  Client c3(anon, none, "127.0.0.1:5000", fast());
  REQUIRE_FALSE(c3.get_manifest("x", "1").ok());
  CHECK(anon.requests().size() == 1);
}

TEST_CASE("a manifest fetched by digest must match it", "[client]") {
  FakeTransport t;
  FixedCredentials creds;
  const std::string wanted = Digest::of("something else").str();
  t.add_get(k_base + "/v2/x/manifests/" + wanted, 200, k_manifest);
  Client client(t, creds, "127.0.0.1:5000", fast());
  auto r = client.get_manifest("x", wanted);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("content has digest " + Digest::of(k_manifest).str()));
}

TEST_CASE("parallel requests that all got a 401 each retry with the credentials", "[client]") {
  // Both requests are answered 401 only once both have arrived, so both authenticate.
  class Barrier401 final : public Transport {
   public:
    Result<HttpResponse> send(const HttpRequest& request, const BodySink&) override {
      bool authorized = false;
      for (const auto& [name, value] : request.headers) authorized = authorized || name == "Authorization";
      if (authorized) return response(200, "{}");
      std::unique_lock lock(m_mutex);
      ++m_unauthorized;
      m_cv.notify_all();
      m_cv.wait(lock, [&] { return m_unauthorized >= 2; });
      return response(401, "", {{"www-authenticate", R"(Basic realm="r")"}});
    }

   private:
    std::mutex m_mutex;
    std::condition_variable m_cv;
    int m_unauthorized = 0;
  } t;
  FixedCredentials creds(Credentials{"alice", "pw", {}});
  Client client(t, creds, "127.0.0.1:5000", fast());
  Status results[2];
  std::thread other([&] { results[1] = client.ping("x"); });
  results[0] = client.ping("x");
  other.join();
  CHECK(results[0].ok());
  CHECK(results[1].ok());
}

TEST_CASE("Access: push and mount scopes; token request covers the challenge's scope once", "[client]") {
  CHECK(Access{"team/app", true, {"team/base", "team/app"}}.key() ==
        "repository:team/app:pull,push repository:team/base:pull");
  CHECK(Access{"", false, {}}.scopes().empty());
  FakeTransport t;
  FixedCredentials creds;
  t.add("HEAD", k_base + "/v2/x/blobs/sha256:1",
        response(401, "",
                 {{"www-authenticate",
                   R"(Bearer realm="http://t/token",scope="repository:x:pull repository:y:pull")"}}));
  t.add("HEAD", k_base + "/v2/x/blobs/sha256:1", response(200));
  t.add_get("http://t/token?scope=repository%3Ax%3Apull%2Cpush&scope=repository%3Ay%3Apull", 200,
            R"({"token":"T"})");
  Client client(t, creds, "127.0.0.1:5000", fast());
  HttpRequest head;
  head.method = "HEAD";
  head.url = k_base + "/v2/x/blobs/sha256:1";
  auto r = client.send(Access{"x", true, {}}, head);
  REQUIRE(r.ok());
  CHECK(r->status == 200);
  CHECK(t.requests().size() == 3);
  CHECK(t.request_header(2, "Authorization") == "Bearer T");
}
