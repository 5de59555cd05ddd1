#include "cbuild/registry/auth.hpp"

#include <catch2/catch.hpp>

using namespace cbuild;
using namespace cbuild::registry;

namespace {
std::vector<Challenge> parse(std::string_view text) {
  auto r = parse_www_authenticate(text);
  INFO(text);
  REQUIRE(r.ok());
  return *r;
}
}  // namespace

TEST_CASE("WWW-Authenticate: a bearer challenge with quoted values holding commas", "[auth]") {
  auto c = parse(R"(Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push")");
  REQUIRE(c.size() == 1);
  CHECK(c[0].scheme == "bearer");
  CHECK(c[0].param("realm") == "https://auth.example/token");
  CHECK(c[0].param("service") == "registry.example");
  CHECK(c[0].param("scope") == "repository:a/b:pull,push");
  CHECK(c[0].param("missing").empty());
}

TEST_CASE("WWW-Authenticate: data table of accepted headers", "[auth]") {
  struct Case {
    std::string_view header;
    std::vector<Challenge> expected;
  };
  const Case cases[] = {
      {R"(Basic realm="Registry Realm")", {{"basic", {{"realm", "Registry Realm"}}}}},
      {R"(basic REALM=x)", {{"basic", {{"realm", "x"}}}}},
      {R"(Bearer realm="a\"b", error="invalid_token")", {{"bearer", {{"realm", "a\"b"}, {"error", "invalid_token"}}}}},
      {R"(Bearer realm="r",service="s", Basic realm="b")",
       {{"bearer", {{"realm", "r"}, {"service", "s"}}}, {"basic", {{"realm", "b"}}}}},
      {"Negotiate", {{"negotiate", {}}}},
      {R"(  Bearer   realm = "r" ,  scope="x:y:pull" )", {{"bearer", {{"realm", "r"}, {"scope", "x:y:pull"}}}}},
  };
  for (const Case& c : cases) CHECK(parse(c.header) == c.expected);
}

TEST_CASE("WWW-Authenticate: malformed headers are errors", "[auth]") {
  for (std::string_view bad : {"", "   ", R"(Bearer realm="unterminated)", R"(realm="x")", R"(Bearer realm="a" @)"}) {
    INFO(bad);
    auto r = parse_www_authenticate(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ExitCode::bad_input);
  }
}

TEST_CASE("base64 round trips and Basic authorization", "[auth]") {
  for (std::string_view s : {"", "a", "ab", "abc", "abcd", "user:pässword"}) {
    auto back = base64_decode(base64_encode(s));
    REQUIRE(back.ok());
    CHECK(*back == s);
  }
  CHECK(base64_encode("user:pass") == "dXNlcjpwYXNz");
  CHECK(basic_authorization({"user", "pass", ""}) == "Basic dXNlcjpwYXNz");
  CHECK_FALSE(base64_decode("abc").ok());
  CHECK_FALSE(base64_decode("ab$=").ok());
}
