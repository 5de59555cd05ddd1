// Cases from github.com/distribution/reference (reference_test.go, normalize_test.go).
#include "cbuild/image/reference.hpp"

#include <catch2/catch.hpp>
#include <string>

using namespace cbuild::image;

namespace {
const std::string k_hex64(64, 'f');
const std::string k_redis_digest = "sha256:dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9c";
}  // namespace

TEST_CASE("parse_reference splits name, domain, tag and digest (TestReferenceParse)") {
  struct Case {
    std::string input, name, domain, tag, digest;
  };
  const std::string d = "sha256:" + k_hex64;
  const Case cases[] = {
      {"test_com", "test_com", "", "", ""},
      {"test.com:tag", "test.com", "", "tag", ""},
      {"test.com:5000", "test.com", "", "5000", ""},
      {"test.com/repo:tag", "test.com/repo", "test.com", "tag", ""},
      {"test:5000/repo", "test:5000/repo", "test:5000", "", ""},
      {"test:5000/repo:tag", "test:5000/repo", "test:5000", "tag", ""},
      {"test:5000/repo@" + d, "test:5000/repo", "test:5000", "", d},
      {"test:5000/repo:tag@" + d, "test:5000/repo", "test:5000", "tag", d},
      {"lowercase:Uppercase", "lowercase", "", "Uppercase", ""},
      {"sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com", "", ""},
      {"sub-dom1.foo.com/bar/baz/quux:some-long-tag", "sub-dom1.foo.com/bar/baz/quux", "sub-dom1.foo.com",
       "some-long-tag", ""},
      {"b.gcr.io/test.example.com/my-app:test.example.com", "b.gcr.io/test.example.com/my-app", "b.gcr.io",
       "test.example.com", ""},
      {"xn--n3h.com/myimage:xn--n3h.com", "xn--n3h.com/myimage", "xn--n3h.com", "xn--n3h.com", ""},
      {"xn--7o8h.com/myimage:xn--7o8h.com@" + d, "xn--7o8h.com/myimage", "xn--7o8h.com", "xn--7o8h.com", d},
      {"foo_bar.com:8080", "foo_bar.com", "", "8080", ""},
      {"foo/foo_bar.com:8080", "foo/foo_bar.com", "foo", "8080", ""},
      {"192.168.1.1", "192.168.1.1", "", "", ""},
      {"192.168.1.1:tag", "192.168.1.1", "", "tag", ""},
      {"192.168.1.1:5000", "192.168.1.1", "", "5000", ""},
      {"192.168.1.1/repo", "192.168.1.1/repo", "192.168.1.1", "", ""},
      {"192.168.1.1:5000/repo", "192.168.1.1:5000/repo", "192.168.1.1:5000", "", ""},
      {"192.168.1.1:5000/repo:5050", "192.168.1.1:5000/repo", "192.168.1.1:5000", "5050", ""},
      {"[2001:db8::1]/repo", "[2001:db8::1]/repo", "[2001:db8::1]", "", ""},
      {"[2001:db8:1:2:3:4:5:6]/repo:tag", "[2001:db8:1:2:3:4:5:6]/repo", "[2001:db8:1:2:3:4:5:6]", "tag", ""},
      {"[2001:db8::1]:5000/repo", "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", ""},
      {"[2001:db8::1]:5000/repo:tag", "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", ""},
      {"[2001:db8::1]:5000/repo@" + d, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "", d},
      {"[2001:db8::1]:5000/repo:tag@" + d, "[2001:db8::1]:5000/repo", "[2001:db8::1]:5000", "tag", d},
      {"[2001:db8::]:5000/repo", "[2001:db8::]:5000/repo", "[2001:db8::]:5000", "", ""},
      {"[::1]:5000/repo", "[::1]:5000/repo", "[::1]:5000", "", ""},
      {"example.com/" + std::string(255, 'a') + ":tag", "example.com/" + std::string(255, 'a'), "example.com",
       "tag", ""},
  };
  for (const Case& c : cases) {
    INFO(c.input);
    auto ref = parse_reference(c.input);
    REQUIRE(ref.ok());
    CHECK(ref->str() == c.input);
    CHECK(ref->name() == c.name);
    CHECK(ref->domain == c.domain);
    CHECK(ref->tag == c.tag);
    CHECK(ref->digest == c.digest);
  }
  std::string nested;
  for (int i = 0; i < 127; ++i) nested += "a/";
  auto deep = parse_reference(nested + "a:tag-puts-this-over-max");
  REQUIRE(deep.ok());
  CHECK(deep->domain == "a");
  CHECK(deep->tag == "tag-puts-this-over-max");
}

TEST_CASE("parse_reference rejects malformed references with docker's errors") {
  struct Case {
    std::string input, error;
  };
  const Case cases[] = {
      {"", "repository name must have at least one component"},
      {":justtag", "invalid reference format"},
      {"@sha256:" + k_hex64, "invalid reference format"},
      {"repo@sha256:" + std::string(34, 'f'), "invalid checksum digest length"},
      {"validname@invaliddigest:" + k_hex64, "unsupported digest algorithm"},
      {"validname@sha512:" + std::string(128, 'f'), "unsupported digest algorithm"},
      {"Uppercase:tag", "invalid reference format: repository name must be lowercase"},
      {"test:5000/Uppercase/lowercase:tag", "invalid reference format: repository name must be lowercase"},
      {"domain/" + std::string(256, 'a') + ":tag", "repository name must not be more than 255 characters"},
      {"aa/asdf$$^/aa", "invalid reference format"},
      {"[2001:db8::1]", "invalid reference format"},
      {"[2001:db8::1]:5000", "invalid reference format"},
      {"[2001:db8::1]:tag", "invalid reference format"},
      {"[fe80::1%eth0]:5000/repo", "invalid reference format"},
      {"[fe80::1%@invalidzone]:5000/repo", "invalid reference format"},
      {"repo:-tag", "invalid reference format"},
      {"repo:" + std::string(129, 't'), "invalid reference format"},
  };
  for (const Case& c : cases) {
    INFO(c.input);
    auto ref = parse_reference(c.input);
    REQUIRE_FALSE(ref.ok());
    CHECK(ref.error().message == c.error);
    CHECK(ref.error().code == cbuild::ExitCode::bad_input);
  }
}

TEST_CASE("parse_normalized accepts and refuses names as docker does (TestValidateReferenceName)") {
  const char* valid[] = {
      "docker/docker", "library/debian", "debian", "localhost/library/debian", "localhost/debian",
      "LOCALDOMAIN/library/debian", "LOCALDOMAIN/debian", "docker.io/docker/docker",
      "docker.io/library/debian", "docker.io/debian", "index.docker.io/docker/docker",
      "index.docker.io/library/debian", "index.docker.io/debian", "127.0.0.1:5000/docker/docker",
      "127.0.0.1:5000/library/debian", "127.0.0.1:5000/debian", "192.168.0.1", "192.168.0.1:80",
      "192.168.0.1:8/debian", "192.168.0.2:25000/debian",
      "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev", "[fc00::1]:5000/docker",
      "[fc00::1]:5000/docker/docker", "[fc00:1:2:3:4:5:6:7]:5000/library/debian",
      "docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a", "Docker/docker",
      "DOCKER/docker",
      // TestValidateRemoteName
      "docker-rules/docker", "docker---rules/docker", "doc/docker", "d/docker", "jess/t", "dock__er/docker"};
  for (const char* name : valid) {
    INFO(name);
    CHECK(parse_normalized(name).ok());
  }
  const std::string long_namespace(260, 'a');
  const std::string invalid[] = {
      "https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
      "-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker", "docker.io/docker///docker",
      "[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian",
      "[2001:db8:3:4::192.0.2.33]:5000/debian",
      "1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
      // TestValidateRemoteName
      "docker-/docker", "-docker-/docker", "____/____", "_docker/_docker", "dock..er/docker",
      "dock_.er/docker", "dock-.er/docker", "docker/", long_namespace + "/docker"};
  for (const std::string& name : invalid) {
    INFO(name);
    CHECK_FALSE(parse_normalized(name).ok());
  }
}

TEST_CASE("familiar and full names (TestParseRepositoryInfo)") {
  struct Case {
    std::string path, familiar, full, ambiguous, domain;
  };
  const Case cases[] = {
      {"fooo", "localhost/fooo", "localhost/fooo", "", "localhost"},
      {"fooo/bar", "localhost/fooo/bar", "localhost/fooo/bar", "", "localhost"},
      {"fooo", "LOCALDOMAIN/fooo", "LOCALDOMAIN/fooo", "", "LOCALDOMAIN"},
      {"fooo/bar", "fooo/bar", "docker.io/fooo/bar", "index.docker.io/fooo/bar", "docker.io"},
      {"library/ubuntu", "ubuntu", "docker.io/library/ubuntu", "library/ubuntu", "docker.io"},
      {"nonlibrary/ubuntu", "nonlibrary/ubuntu", "docker.io/nonlibrary/ubuntu", "", "docker.io"},
      {"other/library", "other/library", "docker.io/other/library", "", "docker.io"},
      {"private/moonbase", "127.0.0.1:8000/private/moonbase", "127.0.0.1:8000/private/moonbase", "",
       "127.0.0.1:8000"},
      {"privatebase", "example.com/privatebase", "example.com/privatebase", "", "example.com"},
      {"privatebasee", "example.com:8000/privatebasee", "example.com:8000/privatebasee", "",
       "example.com:8000"},
      {"library/ubuntu-12.04-base", "ubuntu-12.04-base", "docker.io/library/ubuntu-12.04-base",
       "index.docker.io/library/ubuntu-12.04-base", "docker.io"},
      {"library/foo", "foo", "docker.io/library/foo", "docker.io/foo", "docker.io"},
      {"library/foo/bar", "library/foo/bar", "docker.io/library/foo/bar", "", "docker.io"},
      {"store/foo/bar", "store/foo/bar", "docker.io/store/foo/bar", "", "docker.io"},
      {"bar", "Foo/bar", "Foo/bar", "", "Foo"},
      {"bar", "FOO/bar", "FOO/bar", "", "FOO"},
  };
  for (const Case& c : cases) {
    for (const std::string& text : {c.familiar, c.full, c.ambiguous}) {
      if (text.empty()) continue;
      INFO(text);
      auto ref = parse_normalized(text);
      REQUIRE(ref.ok());
      CHECK(ref->familiar_name() == c.familiar);
      CHECK(ref->str() == c.full);
      CHECK(ref->domain == c.domain);
      CHECK(ref->path == c.path);
    }
  }
}

TEST_CASE("parse_normalized splits the domain (TestNormalizedSplitHostname)") {
  const std::pair<const char*, std::pair<const char*, const char*>> cases[] = {
      {"test.com/foo", {"test.com", "foo"}},
      {"test_com/foo", {"docker.io", "test_com/foo"}},
      {"docker/migrator", {"docker.io", "docker/migrator"}},
      {"test.com:8080/foo", {"test.com:8080", "foo"}},
      {"test-com:8080/foo", {"test-com:8080", "foo"}},
      {"foo", {"docker.io", "library/foo"}},
      {"xn--n3h.com/foo", {"xn--n3h.com", "foo"}},
      {"xn--n3h.com:18080/foo", {"xn--n3h.com:18080", "foo"}},
      {"docker.io/foo", {"docker.io", "library/foo"}},
      {"docker.io/library/foo", {"docker.io", "library/foo"}},
      {"docker.io/library/foo/bar", {"docker.io", "library/foo/bar"}},
  };
  for (const auto& [input, expected] : cases) {
    INFO(input);
    auto ref = parse_normalized(input);
    REQUIRE(ref.ok());
    CHECK(ref->domain == expected.first);
    CHECK(ref->path == expected.second);
  }
}

TEST_CASE("parse_docker_ref adds latest and lets a digest win (TestParseDockerRef)") {
  const std::string d = "sha256:e6693c20186f837fc393390135d8a598a96a833917917789d63766cab6c59582";
  const std::pair<std::string, std::string> cases[] = {
      {"busybox", "docker.io/library/busybox:latest"},
      {"busybox:latest", "docker.io/library/busybox:latest"},
      {"busybox@" + d, "docker.io/library/busybox@" + d},
      {"library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/library/busybox", "docker.io/library/busybox:latest"},
      {"docker.io/busybox:latest", "docker.io/library/busybox:latest"},
      {"library/busybox:latest", "docker.io/library/busybox:latest"},
      {"docker.io/library/busybox:latest", "docker.io/library/busybox:latest"},
      {"gcr.io/library/busybox", "gcr.io/library/busybox:latest"},
      {"gcr.io/library/busybox:latest@" + d, "gcr.io/library/busybox@" + d},
      {"user/app", "docker.io/user/app:latest"},
      {"localhost:5000/x:1", "localhost:5000/x:1"},
      {"host.tld/x", "host.tld/x:latest"},
      {"dbcc1", "docker.io/library/dbcc1:latest"},
  };
  for (const auto& [input, expected] : cases) {
    INFO(input);
    auto ref = parse_docker_ref(input);
    REQUIRE(ref.ok());
    CHECK(ref->str() == expected);
    CHECK(parse_reference(ref->str()).ok());
  }
}

TEST_CASE("tag and digest together keep both and print familiar (TestParseReferenceWithTagAndDigest)") {
  const std::string short_ref =
      "busybox:latest@sha256:86e0e091d0da6bde2456dbb48306f3956bbeb2eae1b5b9a43045843f69fe4aaa";
  auto ref = parse_normalized(short_ref);
  REQUIRE(ref.ok());
  CHECK(ref->str() == "docker.io/library/" + short_ref);
  CHECK(ref->has_tag());
  CHECK(ref->has_digest());
  CHECK(ref->familiar_str() == short_ref);
}

TEST_CASE("tag targets, identifiers and bad components") {
  CHECK(parse_tag_target("busybox")->str() == "docker.io/library/busybox:latest");
  CHECK(parse_tag_target("user/app:v1")->familiar_str() == "user/app:v1");
  auto digest_target = parse_tag_target("busybox@" + k_redis_digest);
  REQUIRE_FALSE(digest_target.ok());
  CHECK(digest_target.error().message == "refusing to create a tag with a digest reference");
  CHECK_FALSE(parse_normalized("-foo").ok());
  CHECK_FALSE(parse_normalized("busybox")->with_tag("-foo").ok());
  CHECK(parse_normalized("busybox")->with_tag("v1")->str() == "docker.io/library/busybox:v1");
  auto hex = parse_normalized(std::string(k_redis_digest).substr(7));
  REQUIRE_FALSE(hex.ok());
  CHECK_THAT(hex.error().message, Catch::Contains("cannot specify 64-byte hexadecimal strings"));
  CHECK(is_full_identifier(std::string(k_redis_digest).substr(7)));
  CHECK_FALSE(is_full_identifier("dbcc1c35ac38df41fd2f5e4130b32ffdb93ebae8b3dbe638c23575912276fc9"));
  auto upper = parse_normalized("docker.io/User/app");
  REQUIRE_FALSE(upper.ok());
  CHECK(upper.error().message == "invalid reference format: repository name (User/app) must be lowercase");
}
