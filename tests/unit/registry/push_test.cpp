#include "cbuild/registry/push.hpp"

#include <atomic>
#include <catch2/catch.hpp>

#include "cbuild/image/manifest.hpp"
#include "cbuild/util/fs.hpp"
#include "support/registry/fake_transport.hpp"

using namespace cbuild;
using namespace cbuild::registry;
using namespace cbuild::registry::test;

namespace {

const std::string k_base = "http://127.0.0.1:5000";
const std::string k_repo = k_base + "/v2/team/app";

HttpResponse reply(int status, std::map<std::string, std::string> headers = {}, std::string body = {}) {
  HttpResponse r;
  r.status = status;
  r.headers = std::move(headers);
  r.body = std::move(body);
  return r;
}

std::string header(const HttpRequest& r, const std::string& name) {
  for (const auto& [n, v] : r.headers)
    if (n == name) return v;
  return {};
}

/// A one-layer image in a store, with the routes a registry answers for pushing it.
struct Fixture {
  TempDir dir = TempDir::create("push-test-").value();
  store::Store store = store::Store::open(dir.path() / "root").value();
  FakeTransport transport;
  FixedCredentials credentials;
  Client client{transport, credentials, "127.0.0.1:5000", ClientOptions{{}, 3, std::chrono::milliseconds(0)}};
  std::string layer = "0123456789abcdefghij";  // 20 bytes
  Digest diff_id = Digest::of("uncompressed tar");
  std::string config;
  std::string manifest;
  Digest config_digest, layer_digest;

  explicit Fixture(bool store_layer = true) {
    config = R"({"architecture":"amd64","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
             diff_id.str() + R"("]}})";
    config_digest = Digest::of(config);
    layer_digest = Digest::of(layer);
    manifest =
        R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":")" +
        config_digest.str() + R"(","size":)" + std::to_string(config.size()) +
        R"(},"layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":")" +
        layer_digest.str() + R"(","size":20}]})";
    REQUIRE(store.put_blob(config).ok());
    if (store_layer) REQUIRE(store.put_blob(layer).ok());
  }
  PushImage image(EnsureBlob ensure = {}) const {
    return PushImage{manifest, "application/vnd.docker.distribution.manifest.v2+json", config,
                     std::move(ensure)};
  }
  void blob_missing(const Digest& d) { transport.add("HEAD", k_repo + "/blobs/" + d.str(), reply(404)); }
  void manifest_accepted(const std::string& tag = "1") {
    transport.add("PUT", k_repo + "/manifests/" + tag, reply(201));
  }
  /// POST → 202 with a relative Location; PUT with the digest → 201.
  void monolithic(const Digest& d, const std::string& session) {
    transport.add("PUT", k_base + "/up/" + session + "?_state=s&digest=" + d.str(),
                  reply(201, {{"docker-content-digest", d.str()}}));
  }
  Result<PushResult> push(std::string_view ref_text, const PushImage& img, PushOptions options = {}) {
    auto ref = image::parse_docker_ref(ref_text);
    REQUIRE(ref.ok());
    return registry::push(store, client, *ref, img, options);
  }
};

}  // namespace

TEST_CASE("push: HEAD skips present blobs, monolithic upload, manifest last with its type", "[push]") {
  Fixture f;
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.blob_missing(f.layer_digest);
  f.transport.add("POST", k_repo + "/blobs/uploads/", reply(202, {{"location", "/up/u1?_state=s"}}));
  f.monolithic(f.layer_digest, "u1");
  f.manifest_accepted();
  std::vector<std::string> lines;
  PushOptions options;
  options.progress = [&](const std::string& l) { lines.push_back(l); };
  auto r = f.push("127.0.0.1:5000/team/app:1", f.image(), options);
  REQUIRE(r.ok());
  CHECK(r->blobs_existing == 1);
  CHECK(r->blobs_pushed == 1);
  CHECK(r->bytes_pushed == 20);
  CHECK_FALSE(r->manifest_rewritten);
  CHECK(r->manifest == Digest::of(f.manifest));
  CHECK(r->manifest_size == f.manifest.size());
  auto puts = f.transport.requests_to("PUT " + k_base + "/up/u1");
  REQUIRE(puts.size() == 1);
  CHECK(puts[0].body == f.layer);
  CHECK(header(puts[0], "Content-Type") == "application/octet-stream");
  auto calls = f.transport.calls();
  CHECK(calls.back() == "PUT " + k_repo + "/manifests/1");
  auto manifest_put = f.transport.requests().back();
  CHECK(manifest_put.body == f.manifest);
  CHECK(header(manifest_put, "Content-Type") == "application/vnd.docker.distribution.manifest.v2+json");
  CHECK(f.transport.requests_to("PATCH").empty());
  CHECK(lines == std::vector<std::string>{std::string(f.layer_digest.hex().substr(0, 12)) + ": Pushed"});
}

TEST_CASE("push: chunked upload follows each Location with Content-Range, then PUT ?digest", "[push]") {
  Fixture f;
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.blob_missing(f.layer_digest);
  f.transport.add("POST", k_repo + "/blobs/uploads/", reply(202, {{"location", k_base + "/up/c?n=0"}}));
  for (int i = 0; i < 3; ++i) {
    f.transport.add("PATCH", k_base + "/up/c?n=" + std::to_string(i),
                    reply(202, {{"location", "/up/c?n=" + std::to_string(i + 1)}, {"range", "0-x"}}));
  }
  f.transport.add("PUT", k_base + "/up/c?n=3&digest=" + f.layer_digest.str(), reply(201));
  f.manifest_accepted();
  PushOptions options;
  options.chunk_size = 8;
  auto r = f.push("127.0.0.1:5000/team/app:1", f.image(), options);
  REQUIRE(r.ok());
  auto patches = f.transport.requests_to("PATCH");
  REQUIRE(patches.size() == 3);
  const std::string ranges[] = {"0-7", "8-15", "16-19"};
  std::string sent;
  for (size_t i = 0; i < 3; ++i) {
    CHECK(header(patches[i], "Content-Range") == ranges[i]);
    sent += patches[i].body;
  }
  CHECK(sent == f.layer);
  auto put = f.transport.requests_to("PUT " + k_base + "/up/c?n=3");
  REQUIRE(put.size() == 1);
  CHECK(put[0].body.empty());
}

TEST_CASE("push: a 416 on a chunk resumes from the offset the upload status reports", "[push]") {
  Fixture f;
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.blob_missing(f.layer_digest);
  f.transport.add("POST", k_repo + "/blobs/uploads/", reply(202, {{"location", "/up/c?n=0"}}));
  f.transport.add("PATCH", k_base + "/up/c?n=0", reply(202, {{"location", "/up/c?n=1"}}));
  f.transport.add("PATCH", k_base + "/up/c?n=1", reply(416));
  f.transport.add_get(k_base + "/up/c?n=1", 204, "", {{"location", "/up/c?n=2"}, {"range", "0-11"}});
  f.transport.add("PATCH", k_base + "/up/c?n=2", reply(202, {{"location", "/up/c?n=3"}}));
  f.transport.add("PUT", k_base + "/up/c?n=3&digest=" + f.layer_digest.str(), reply(201));
  f.manifest_accepted();
  PushOptions options;
  options.chunk_size = 8;
  REQUIRE(f.push("127.0.0.1:5000/team/app:1", f.image(), options).ok());
  auto patches = f.transport.requests_to("PATCH");
  REQUIRE(patches.size() == 3);
  CHECK(header(patches[1], "Content-Range") == "8-15");
  CHECK(header(patches[2], "Content-Range") == "12-19");
  CHECK(patches[2].body == f.layer.substr(12));
}

TEST_CASE("push: a blob exactly chunk_size long goes up monolithically", "[push]") {
  Fixture f;
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.blob_missing(f.layer_digest);
  f.transport.add("POST", k_repo + "/blobs/uploads/", reply(202, {{"location", "/up/u1?_state=s"}}));
  f.monolithic(f.layer_digest, "u1");
  f.manifest_accepted();
  PushOptions options;
  options.chunk_size = 20;
  REQUIRE(f.push("127.0.0.1:5000/team/app:1", f.image(), options).ok());
  CHECK(f.transport.requests_to("PATCH").empty());
}

TEST_CASE("push: cross-repository mount; 202 falls back to the session it opened", "[push]") {
  Fixture f;
  f.blob_missing(f.config_digest);
  f.blob_missing(f.layer_digest);
  const std::string mount = k_repo + "/blobs/uploads/?mount=";
  f.transport.add("POST", mount + f.config_digest.str() + "&from=team/base", reply(201));
  f.transport.add("POST", mount + f.layer_digest.str() + "&from=team/base",
                  reply(202, {{"location", "/up/m?_state=s"}}));
  f.monolithic(f.layer_digest, "m");
  f.manifest_accepted();
  PushOptions options;
  options.mount_from = {"team/base"};
  auto r = f.push("127.0.0.1:5000/team/app:1", f.image(), options);
  REQUIRE(r.ok());
  CHECK(r->blobs_mounted == 1);
  CHECK(r->blobs_pushed == 1);
  CHECK(f.transport.requests_to("POST " + k_repo + "/blobs/uploads/ ").empty());
}

TEST_CASE("push: 5xx on the upload is retried with the whole body again", "[push]") {
  Fixture f;
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.blob_missing(f.layer_digest);
  f.transport.add("POST", k_repo + "/blobs/uploads/", reply(202, {{"location", "/up/u1?_state=s"}}));
  const std::string put_url = k_base + "/up/u1?_state=s&digest=" + f.layer_digest.str();
  f.transport.add("PUT", put_url, reply(503));
  f.transport.add("PUT", put_url, reply(201));
  f.manifest_accepted();
  REQUIRE(f.push("127.0.0.1:5000/team/app:1", f.image()).ok());
  auto puts = f.transport.requests_to("PUT " + put_url);
  REQUIRE(puts.size() == 2);
  CHECK(puts[0].body == f.layer);
  CHECK(puts[1].body == f.layer);
}

TEST_CASE("push: 403 names registry and repository; no manifest is sent", "[push]") {
  Fixture f;
  f.blob_missing(f.config_digest);
  f.blob_missing(f.layer_digest);
  f.transport.add(
      "POST", k_repo + "/blobs/uploads/",
      reply(403, {},
            R"({"errors":[{"code":"DENIED","message":"requested access to the resource is denied"}]})"));
  auto r = f.push("127.0.0.1:5000/team/app:1", f.image());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message,
             Catch::Contains("registry `127.0.0.1:5000`, repository `team/app`: access denied (HTTP 403)") &&
                 Catch::Contains("requested access to the resource is denied"));
  CHECK(f.transport.requests_to("PUT " + k_repo + "/manifests").empty());
}

TEST_CASE("push: a missing layer blob is made by ensure_blob; the manifest is rewritten as OCI and recorded",
          "[push]") {
  Fixture f(false);
  const std::string gz = "a new gzip blob";
  const Digest gz_digest = Digest::of(gz);
  std::atomic<int> calls{0};
  EnsureBlob ensure = [&](const PushLayer& l) -> Result<image::Descriptor> {
    ++calls;
    CHECK(l.diff_id == f.diff_id);
    CHECK(l.descriptor.digest == f.layer_digest);
    TRY(f.store.put_blob(gz));
    image::Descriptor d;
    d.media_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    d.digest = gz_digest;
    d.size = static_cast<int64_t>(gz.size());
    return d;
  };
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.transport.add("HEAD", k_repo + "/blobs/" + gz_digest.str(), reply(200));
  f.manifest_accepted();
  PushOptions options;
  options.record_name = "127.0.0.1:5000/team/app:1";
  auto r = f.push("127.0.0.1:5000/team/app:1", f.image(ensure), options);
  REQUIRE(r.ok());
  CHECK(calls == 1);
  CHECK(r->manifest_rewritten);
  CHECK(r->media_type == "application/vnd.oci.image.manifest.v1+json");
  auto m = image::Manifest::parse(r->manifest_bytes);
  REQUIRE(m.ok());
  CHECK(m->config.media_type == "application/vnd.oci.image.config.v1+json");
  CHECK(m->config.digest == f.config_digest);
  REQUIRE(m->layers.size() == 1);
  CHECK(m->layers[0].digest == gz_digest);
  auto put = f.transport.requests().back();
  CHECK(put.body == r->manifest_bytes);
  CHECK(header(put, "Content-Type") == "application/vnd.oci.image.manifest.v1+json");
  auto tag = f.store.get_tag("127.0.0.1:5000/team/app:1");
  REQUIRE(tag.ok());
  REQUIRE(tag->has_value());
  CHECK((*tag)->image.manifest == r->manifest);
  CHECK((*tag)->image.config == f.config_digest);
  CHECK(f.store.has_blob(r->manifest));
}

TEST_CASE("push: without ensure_blob a missing layer is an error naming the diffID", "[push]") {
  Fixture f(false);
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  auto r = f.push("127.0.0.1:5000/team/app:1", f.image());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains(f.diff_id.str()));
}

TEST_CASE("push: by digest the manifest goes to that digest, and another digest is refused", "[push]") {
  Fixture f;
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.transport.add("HEAD", k_repo + "/blobs/" + f.layer_digest.str(), reply(200));
  const std::string digest = Digest::of(f.manifest).str();
  f.manifest_accepted(digest);
  REQUIRE(f.push("127.0.0.1:5000/team/app@" + digest, f.image()).ok());
  auto r = f.push("127.0.0.1:5000/team/app@" + Digest::of("x").str(), f.image());
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("has digest " + digest));
}

TEST_CASE("push: bearer tokens are asked with pull,push (and pull on the mount source)", "[push][client]") {
  Fixture f;
  const std::map<std::string, std::string> challenge{
      {"www-authenticate",
       R"(Bearer realm="http://127.0.0.1:6000/token",service="reg",scope="repository:team/app:pull")"}};
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(401, challenge));
  f.transport.add("HEAD", k_repo + "/blobs/" + f.config_digest.str(), reply(200));
  f.transport.add("HEAD", k_repo + "/blobs/" + f.layer_digest.str(), reply(404));  // T1 is cached by now
  const std::string mount = k_repo + "/blobs/uploads/?mount=" + f.layer_digest.str() + "&from=team/base";
  f.transport.add("POST", mount, reply(401, challenge));
  f.transport.add("POST", mount, reply(201));
  f.transport.add_get("http://127.0.0.1:6000/token?service=reg&scope=repository%3Ateam%2Fapp%3Apull%2Cpush",
                      200, R"({"token":"T1"})");
  f.transport.add_get(
      "http://127.0.0.1:6000/"
      "token?service=reg&scope=repository%3Ateam%2Fapp%3Apull%2Cpush&scope=repository%3Ateam%2Fbase%3Apull",
      200, R"({"token":"T2"})");
  f.manifest_accepted();
  PushOptions options;
  options.mount_from = {"team/base"};
  options.jobs = 1;
  REQUIRE(f.push("127.0.0.1:5000/team/app:1", f.image(), options).ok());
  auto posts = f.transport.requests_to("POST");
  REQUIRE(posts.size() == 2);
  CHECK(header(posts[0], "Authorization").empty());
  CHECK(header(posts[1], "Authorization") == "Bearer T2");
  CHECK(header(f.transport.requests().back(), "Authorization") == "Bearer T1");
}
