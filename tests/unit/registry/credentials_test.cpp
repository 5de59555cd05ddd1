#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>

#include "cbuild/registry/auth.hpp"
#include "cbuild/util/fs.hpp"

using namespace cbuild;
using namespace cbuild::registry;

namespace {

std::optional<Credentials> lookup(std::string_view config, std::string_view host) {
  auto r = credentials_from_config(config, host);
  INFO(host);
  if (!r.ok()) FAIL(r.error().message);
  return *r;
}

/// Puts a fake `docker-credential-NAME` script first on PATH for the test's lifetime.
class FakeHelper {
 public:
  FakeHelper(const std::string& name, const std::string& body) : m_dir(TempDir::create("cred-").value()) {
    fs::path script = m_dir.path() / ("docker-credential-" + name);
    std::ofstream(script) << "#!/bin/sh\n" << body;
    ::chmod(script.c_str(), 0755);
    m_old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
    ::setenv("PATH", (m_dir.path().string() + ":" + m_old_path).c_str(), 1);
  }
  ~FakeHelper() { ::setenv("PATH", m_old_path.c_str(), 1); }
  fs::path dir() const { return m_dir.path(); }

 private:
  TempDir m_dir;
  std::string m_old_path;
};

}  // namespace

TEST_CASE("docker config: auths with base64 auth or username/password, matched by host", "[credentials]") {
  const std::string config = R"({
    "auths": {
      "https://index.docker.io/v1/": {"auth": "aHViOmh1YnB3"},
      "127.0.0.1:5000": {"auth": "dXNlcjpwYTpzcw=="},
      "http://reg.example:8080/v2/": {"username": "u2", "password": "p2"},
      "token.example": {"identitytoken": "refresh-me"}
    }})";
  auto hub = lookup(config, "docker.io");
  REQUIRE(hub);
  CHECK(hub->username == "hub");
  CHECK(hub->password == "hubpw");
  auto local = lookup(config, "127.0.0.1:5000");
  REQUIRE(local);
  CHECK(local->username == "user");
  CHECK(local->password == "pa:ss");  // only the first colon separates
  auto plain = lookup(config, "reg.example:8080");
  REQUIRE(plain);
  CHECK(plain->username == "u2");
  CHECK(plain->password == "p2");
  auto token = lookup(config, "token.example");
  REQUIRE(token);
  CHECK(token->identity_token == "refresh-me");
  CHECK_FALSE(lookup(config, "127.0.0.1:5001"));
  CHECK_FALSE(lookup(config, "reg.example"));
  CHECK_FALSE(lookup("{}", "docker.io"));
}

TEST_CASE("docker config: malformed documents are errors", "[credentials]") {
  CHECK_FALSE(credentials_from_config("not json", "x").ok());
  CHECK_FALSE(credentials_from_config(R"({"auths":{"x":{"auth":"bm9jb2xvbg=="}}})", "x").ok());  // "nocolon"
  CHECK_FALSE(credentials_from_config(R"({"auths":{"x":{"auth":"@@@@"}}})", "x").ok());
}

TEST_CASE("credential helpers get the server URL on stdin", "[credentials]") {
  FakeHelper helper("fake", R"(read url
[ "$1" = get ] || exit 3
case "$url" in
  https://index.docker.io/v1/) echo '{"ServerURL":"hub","Username":"hubuser","Secret":"hubsecret"}' ;;
  reg.example) echo '{"Username":"<token>","Secret":"idtok"}' ;;
  *) echo "credentials not found in native keychain"; exit 1 ;;
esac
)");
  auto hub = lookup(R"({"credsStore":"fake"})", "docker.io");
  REQUIRE(hub);
  CHECK(hub->username == "hubuser");
  CHECK(hub->password == "hubsecret");
  auto id = lookup(R"({"credHelpers":{"reg.example":"fake"}})", "reg.example");
  REQUIRE(id);
  CHECK(id->identity_token == "idtok");
  CHECK(id->username.empty());
  // Not found in the store: fall back to auths.
  auto fallback = lookup(R"({"credsStore":"fake","auths":{"other:1":{"auth":"YTpi"}}})", "other:1");
  REQUIRE(fallback);
  CHECK(fallback->username == "a");
  // credHelpers wins over auths for its host.
  CHECK(lookup(R"({"credHelpers":{"reg.example":"fake"},"auths":{"reg.example":{"auth":"YTpi"}}})", "reg.example")
            ->identity_token == "idtok");
}

TEST_CASE("credential helper failures are reported", "[credentials]") {
  FakeHelper helper("broken", "echo 'boom'; exit 2\n");
  auto r = credentials_from_config(R"({"credsStore":"broken"})", "reg.example");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("docker-credential-broken") && Catch::Contains("boom"));
  auto missing = credentials_from_config(R"({"credsStore":"nonexistent-xyz"})", "reg.example");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("docker-credential-nonexistent-xyz"));
}

TEST_CASE("FileCredentialSource: first file with an entry wins, missing files skipped", "[credentials]") {
  auto dir = TempDir::create("creds-").value();
  std::ofstream(dir.path() / "cbuild.json") << R"({"auths":{"127.0.0.1:5000":{"auth":"b3duOm93bg=="}}})";
  std::ofstream(dir.path() / "docker.json")
      << R"({"auths":{"127.0.0.1:5000":{"auth":"ZDpk"},"other":{"username":"o","password":"p"}}})";
  FileCredentialSource source({dir.path() / "absent.json", dir.path() / "cbuild.json", dir.path() / "docker.json"});
  auto own = source.lookup("127.0.0.1:5000");
  REQUIRE(own.ok());
  REQUIRE(*own);
  CHECK((*own)->username == "own");
  auto other = source.lookup("other");
  REQUIRE(other.ok());
  REQUIRE(*other);
  CHECK((*other)->username == "o");
  auto none = source.lookup("nowhere");
  REQUIRE(none.ok());
  CHECK_FALSE(*none);

  std::ofstream(dir.path() / "bad.json") << "{";
  FileCredentialSource bad({dir.path() / "bad.json"});
  auto err = bad.lookup("x");
  REQUIRE_FALSE(err.ok());
  CHECK_THAT(err.error().message, Catch::Contains("bad.json"));
}
