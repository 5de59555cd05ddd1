#include "cbuild/registry/login.hpp"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "cbuild/util/fs.hpp"
#include "support/registry/fake_transport.hpp"

using namespace cbuild;
using namespace cbuild::registry;
using namespace cbuild::registry::test;
using Json = nlohmann::json;

TEST_CASE("login_host: scheme, path and Docker Hub aliases", "[login]") {
  CHECK(login_host("127.0.0.1:5000") == "127.0.0.1:5000");
  CHECK(login_host("https://reg.example:5000/v2/") == "reg.example:5000");
  CHECK(login_host("") == "docker.io");
  CHECK(login_host("index.docker.io") == "docker.io");
  CHECK(login_host("https://index.docker.io/v1/") == "docker.io");
}

TEST_CASE("store_login and remove_login keep other fields; file mode 0600", "[login]") {
  auto dir = TempDir::create("login-test-").value();
  const auto config = dir.path() / "docker/config.json";
  REQUIRE(make_dirs(config.parent_path()).ok());
  REQUIRE(
      write_file_atomic(
          config,
          R"({"psFormat":"x","auths":{"http://reg:5000/v2/":{"auth":"b2xkOm9sZA=="},"other":{"auth":"eDp5"}}})")
          .ok());

  REQUIRE(store_login(config, "reg:5000", Credentials{"alice", "s3:cret", {}}).ok());
  Json doc = Json::parse(read_file(config).value());
  CHECK(doc["psFormat"] == "x");
  CHECK(doc["auths"]["other"]["auth"] == "eDp5");
  CHECK_FALSE(doc["auths"].contains("http://reg:5000/v2/"));  // one entry per host
  CHECK(base64_decode(doc["auths"]["reg:5000"]["auth"].get<std::string>()).value() == "alice:s3:cret");
  struct stat st {};
  REQUIRE(::stat(config.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  // What was stored is what pull/push read back.
  auto found = FileCredentialSource({config}).lookup("reg:5000");
  REQUIRE(found.ok());
  REQUIRE(found->has_value());
  CHECK((*found)->username == "alice");
  CHECK((*found)->password == "s3:cret");

  CHECK(remove_login(config, "reg:5000").value());
  doc = Json::parse(read_file(config).value());
  CHECK_FALSE(doc["auths"].contains("reg:5000"));
  CHECK(doc["auths"]["other"]["auth"] == "eDp5");
  CHECK_FALSE(remove_login(config, "reg:5000").value());
  CHECK_FALSE(remove_login(dir.path() / "missing.json", "reg:5000").value());
}

TEST_CASE("store_login: Docker Hub uses docker's server URL; a broken config is an error", "[login]") {
  auto dir = TempDir::create("login-test-").value();
  const auto config = dir.path() / "config.json";
  REQUIRE(store_login(config, "docker.io", Credentials{"bob", "pw", {}}).ok());
  Json doc = Json::parse(read_file(config).value());
  CHECK(doc["auths"].contains("https://index.docker.io/v1/"));
  REQUIRE(write_file_atomic(config, "[1,2").ok());
  auto st = store_login(config, "docker.io", Credentials{"bob", "pw", {}});
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(st.error().message, Catch::Contains("not a JSON object"));
  CHECK(read_file(config).value() == "[1,2");
}

TEST_CASE("verify_login: basic flow accepted; refused credentials are an error naming the registry",
          "[login]") {
  const std::string url = "http://127.0.0.1:5000/v2/";
  const Credentials good{"alice", "s3cret", {}};
  {
    FakeTransport t;
    HttpResponse challenge;
    challenge.status = 401;
    challenge.headers = {{"www-authenticate", R"(Basic realm="r")"}};
    t.add("GET", url, challenge);
    t.add_get(url, 200, "{}");
    REQUIRE(verify_login(t, "127.0.0.1:5000", good).ok());
    CHECK(t.request_header(1, "Authorization") == basic_authorization(good));
  }
  {
    FakeTransport t;
    HttpResponse challenge;
    challenge.status = 401;
    challenge.headers = {{"www-authenticate", R"(Basic realm="r")"}};
    t.add("GET", url, challenge);
    auto st = verify_login(t, "127.0.0.1:5000", Credentials{"alice", "wrong", {}});
    REQUIRE_FALSE(st.ok());
    CHECK_THAT(st.error().message, Catch::Contains("login to `127.0.0.1:5000` as `alice`") &&
                                       Catch::Contains("registry `127.0.0.1:5000`: unauthorized") &&
                                       Catch::Contains("HTTP 401"));
    CHECK(t.requests().size() == 2);
  }
}

TEST_CASE("verify_login: bearer flow asks the token server with the credentials and no scope", "[login]") {
  FakeTransport t;
  HttpResponse challenge;
  challenge.status = 401;
  challenge.headers = {{"www-authenticate", R"(Bearer realm="http://127.0.0.1:6000/token",service="reg")"}};
  t.add("GET", "http://127.0.0.1:5000/v2/", challenge);
  t.add_get("http://127.0.0.1:5000/v2/", 200, "{}");
  t.add_get("http://127.0.0.1:6000/token?service=reg", 200, R"({"token":"T"})");
  const Credentials c{"bob", "pw", {}};
  REQUIRE(verify_login(t, "127.0.0.1:5000", c).ok());
  CHECK(t.request_header(1, "Authorization") == basic_authorization(c));
  CHECK(t.request_header(2, "Authorization") == "Bearer T");
}
