#include "cbuild/registry/pull.hpp"

#include <catch2/catch.hpp>

#include "cbuild/util/fs.hpp"
#include "support/registry/fake_transport.hpp"

using namespace cbuild;
using namespace cbuild::registry;
using namespace cbuild::registry::test;

namespace {

const std::string k_base = "http://127.0.0.1:5000";

/// A one-layer image served by a FakeTransport under /v2/team/app.
struct FakeImage {
  std::string layer = "pretend this is a gzip layer";
  Digest diff_id = Digest::of("uncompressed tar");
  std::string config;
  std::string manifest;

  explicit FakeImage(std::string arch = "amd64") {
    config = R"({"architecture":")" + arch + R"(","os":"linux","config":{},"rootfs":{"type":"layers","diff_ids":[")" +
             diff_id.str() + R"("]}})";
    manifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":")" +
               Digest::of(config).str() + R"(","size":)" + std::to_string(config.size()) +
               R"(},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":")" +
               Digest::of(layer).str() + R"(","size":)" + std::to_string(layer.size()) + "}]}";
  }
  void serve(FakeTransport& t, const std::string& tag, const std::string& served_layer = {}) const {
    const std::string repo = k_base + "/v2/team/app/";
    const std::map<std::string, std::string> type{{"content-type", "application/vnd.oci.image.manifest.v1+json"}};
    if (!tag.empty()) t.add_get(repo + "manifests/" + tag, 200, manifest, type);
    t.add_get(repo + "manifests/" + Digest::of(manifest).str(), 200, manifest, type);
    t.add_get(repo + "blobs/" + Digest::of(config).str(), 200, config);
    t.add_get(repo + "blobs/" + Digest::of(layer).str(), 200, served_layer.empty() ? layer : served_layer);
  }
};

struct Fixture {
  TempDir dir = TempDir::create("pull-test-").value();
  store::Store store = store::Store::open(dir.path() / "root").value();
  FakeTransport transport;
  FixedCredentials credentials;
  Client client{transport, credentials, "127.0.0.1:5000", ClientOptions{{}, 3, std::chrono::milliseconds(0)}};

  Result<PullResult> pull(std::string_view text, PullOptions options = {}) {
    auto ref = image::parse_docker_ref(text);
    REQUIRE(ref.ok());
    return registry::pull(store, client, *ref, options);
  }
};

image::Descriptor entry(std::string_view digest_of, std::string os, std::string arch, std::string variant = {}) {
  image::Descriptor d;
  d.media_type = "application/vnd.oci.image.manifest.v1+json";
  d.digest = Digest::of(digest_of);
  d.platform = image::Platform{arch, os, "", {}, variant};
  return d;
}

}  // namespace

TEST_CASE("pull stores blobs, layer records, image and tag; a second pull downloads nothing", "[pull]") {
  Fixture f;
  FakeImage img;
  img.serve(f.transport, "1.0");
  auto r = f.pull("127.0.0.1:5000/team/app:1.0");
  REQUIRE(r.ok());
  CHECK(r->name == "127.0.0.1:5000/team/app:1.0");
  CHECK(r->manifest == Digest::of(img.manifest));
  CHECK(r->config == Digest::of(img.config));
  CHECK(r->blobs_downloaded == 2);
  CHECK(r->bytes_downloaded == img.config.size() + img.layer.size());
  CHECK(f.store.read_blob(Digest::of(img.layer)).value() == img.layer);
  CHECK(f.store.read_blob(Digest::of(img.manifest)).value() == img.manifest);
  auto tag = f.store.get_tag("127.0.0.1:5000/team/app:1.0").value();
  REQUIRE(tag);
  CHECK(tag->image.manifest == Digest::of(img.manifest));
  CHECK(tag->image.config == Digest::of(img.config));
  auto layer = f.store.find_layer(img.diff_id, "gzip").value();
  REQUIRE(layer);
  CHECK(layer->blob.digest == Digest::of(img.layer));

  auto again = f.pull("127.0.0.1:5000/team/app:1.0");
  REQUIRE(again.ok());
  CHECK(again->blobs_downloaded == 0);
  CHECK(again->blobs_present == 2);
}

TEST_CASE("pull by digest records name@digest", "[pull]") {
  Fixture f;
  FakeImage img;
  img.serve(f.transport, "");
  const std::string ref = "127.0.0.1:5000/team/app@" + Digest::of(img.manifest).str();
  auto r = f.pull(ref);
  REQUIRE(r.ok());
  CHECK(r->name == ref);
  CHECK(f.store.get_tag(ref).value());
}

TEST_CASE("a blob whose content does not match its digest is refused and not stored", "[pull]") {
  Fixture f;
  FakeImage img;
  const std::string corrupt(img.layer.size(), 'X');
  img.serve(f.transport, "1.0", corrupt);
  auto r = f.pull("127.0.0.1:5000/team/app:1.0");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains(Digest::of(img.layer).str()) && Catch::Contains("mismatch"));
  CHECK_FALSE(f.store.has_blob(Digest::of(img.layer)));
  CHECK_FALSE(f.store.has_blob(Digest::of(corrupt)));
  CHECK_FALSE(f.store.has_blob(Digest::of(img.manifest)));
  CHECK_FALSE(f.store.get_tag("127.0.0.1:5000/team/app:1.0").value());
  CHECK(f.store.list_images().value().empty());

  Fixture g;
  img.serve(g.transport, "1.0", img.layer + "extra");
  auto longer = g.pull("127.0.0.1:5000/team/app:1.0");
  REQUIRE_FALSE(longer.ok());
  CHECK_THAT(longer.error().message, Catch::Contains("larger than"));
  CHECK_FALSE(g.store.has_blob(Digest::of(img.layer)));
}

TEST_CASE("an index resolves to the manifest of the requested platform", "[pull]") {
  Fixture f;
  FakeImage amd64("amd64"), arm64("arm64");
  amd64.serve(f.transport, "");
  arm64.serve(f.transport, "");
  const std::string index =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)"
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + Digest::of(arm64.manifest).str() +
      R"(","size":)" + std::to_string(arm64.manifest.size()) +
      R"(,"platform":{"architecture":"arm64","os":"linux","variant":"v8"}},)"
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + Digest::of(amd64.manifest).str() +
      R"(","size":)" + std::to_string(amd64.manifest.size()) + R"(,"platform":{"architecture":"amd64","os":"linux"}}]})";
  f.transport.add_get(k_base + "/v2/team/app/manifests/multi", 200, index,
                      {{"content-type", "application/vnd.oci.image.index.v1+json"}});
  PullOptions amd;
  amd.platform = image::Platform{"amd64", "linux", "", {}, ""};
  auto r = f.pull("127.0.0.1:5000/team/app:multi", amd);
  REQUIRE(r.ok());
  CHECK(r->manifest == Digest::of(amd64.manifest));
  REQUIRE(r->index);
  CHECK(*r->index == Digest::of(index));

  PullOptions arm;
  arm.platform = image::Platform{"arm64", "linux", "", {}, "v8"};
  auto a = f.pull("127.0.0.1:5000/team/app:multi", arm);
  REQUIRE(a.ok());
  CHECK(a->manifest == Digest::of(arm64.manifest));
  CHECK(f.store.get_tag("127.0.0.1:5000/team/app:multi").value()->image.manifest == Digest::of(arm64.manifest));

  PullOptions s390;
  s390.platform = image::Platform{"s390x", "linux", "", {}, ""};
  auto none = f.pull("127.0.0.1:5000/team/app:multi", s390);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ExitCode::not_found);
  CHECK_THAT(none.error().message, Catch::Contains("linux/s390x") && Catch::Contains("linux/arm64/v8, linux/amd64"));
}

TEST_CASE("select_platform: variants", "[pull]") {
  const std::vector<image::Descriptor> list{entry("a", "linux", "arm", "v6"), entry("b", "linux", "arm", "v7"),
                                            entry("c", "linux", "arm64"), entry("d", "linux", "amd64", "v3"),
                                            entry("e", "linux", "amd64"), entry("f", "windows", "amd64")};
  struct Case {
    image::Platform want;
    std::string_view chosen;
  };
  const Case cases[] = {
      {{"arm", "linux", "", {}, "v7"}, "b"},  {{"arm", "linux", "", {}, "v6"}, "a"},
      {{"arm64", "linux", "", {}, "v8"}, "c"}, {{"amd64", "linux", "", {}, ""}, "e"},
      {{"amd64", "linux", "", {}, "v3"}, "d"}, {{"amd64", "windows", "", {}, ""}, "f"},
  };
  for (const Case& c : cases) {
    INFO(c.want.architecture << "/" << c.want.variant);
    auto r = select_platform(list, c.want);
    REQUIRE(r.ok());
    CHECK(r->digest == Digest::of(c.chosen));
  }
  CHECK_FALSE(select_platform(list, {"arm", "linux", "", {}, "v5"}).ok());
}

TEST_CASE("a manifest missing from the registry is a not-found error naming it", "[pull]") {
  Fixture f;
  auto r = f.pull("127.0.0.1:5000/team/app:missing");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::not_found);
  CHECK_THAT(r.error().message, Catch::Contains("repository `team/app`"));
}
