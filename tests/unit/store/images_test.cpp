#include "store_fixture.hpp"

using namespace cbuild;
using namespace cbuild::store;
using namespace cbuild::store::test;

TEST_CASE("tags point names at image records", "[images]") {
  StoreDir dir;
  Store store = dir.open();
  auto a = make_image(store, "a");
  auto b = make_image(store, "b");
  must_ok(store.set_tag("docker.io/library/app:1", a.record));
  must_ok(store.set_tag("docker.io/library/app:latest", a.record));
  auto tag = must(store.get_tag("docker.io/library/app:1"));
  REQUIRE(tag);
  CHECK(tag->image.manifest == a.record.manifest);
  CHECK(tag->image.config == a.record.config);
  CHECK(tag->image.media_type == a.record.media_type);
  CHECK(tag->image.created > 0);
  CHECK(must(store.tags_of(a.record.manifest)) ==
        std::vector<std::string>{"docker.io/library/app:1", "docker.io/library/app:latest"});

  // Retagging moves the name; the old image record stays.
  must_ok(store.set_tag("docker.io/library/app:latest", b.record));
  CHECK(must(store.get_tag("docker.io/library/app:latest"))->image.manifest == b.record.manifest);
  CHECK(must(store.list_images()).size() == 2);
  auto tags = must(store.list_tags());
  REQUIRE(tags.size() == 2);
  CHECK(tags[0].name == "docker.io/library/app:1");

  CHECK(must(store.remove_tag("docker.io/library/app:1")));
  CHECK_FALSE(must(store.remove_tag("docker.io/library/app:1")));
  CHECK_FALSE(must(store.get_tag("docker.io/library/app:1")));
  CHECK(must(store.get_image(a.record.manifest)).has_value());

  CHECK(must(store.remove_image(b.record.manifest)));
  CHECK_FALSE(must(store.get_tag("docker.io/library/app:latest")));
  CHECK_FALSE(must(store.get_image(b.record.manifest)));
  CHECK_FALSE(must(store.remove_image(b.record.manifest)));
}

TEST_CASE("tags and images require their blobs", "[images]") {
  StoreDir dir;
  Store store = dir.open();
  ImageRecord missing{Digest::of("no manifest"), {}, "application/vnd.oci.image.manifest.v1+json", 1, 0};
  auto r = store.set_tag("x:1", missing);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::not_found);
  CHECK_THAT(r.error().message, Catch::Contains(missing.manifest.str()));
  auto manifest = must(store.put_blob("{}"));
  ImageRecord no_config{manifest.digest, Digest::of("no config"), "m", 2, 0};
  CHECK_FALSE(store.put_image(no_config).ok());
  CHECK_FALSE(store.set_tag("", ImageRecord{manifest.digest, {}, "m", 2, 0}).ok());
  CHECK(must(store.list_tags()).empty());
  CHECK(must(store.list_images()).empty());
}

TEST_CASE("layer records map diffIDs to compressed blobs both ways", "[images]") {
  StoreDir dir;
  Store store = dir.open();
  Digest diff = Digest::of("uncompressed tar");
  auto gz = must(store.put_blob("gzip bytes"));
  auto zst = must(store.put_blob("zstd bytes"));
  must_ok(store.put_layer({diff, "gzip", "application/vnd.oci.image.layer.v1.tar+gzip", gz}));
  must_ok(store.put_layer({diff, "zstd", "application/vnd.oci.image.layer.v1.tar+zstd", zst}));

  auto found = must(store.find_layer(diff, "gzip"));
  REQUIRE(found);
  CHECK(found->blob == gz);
  CHECK(found->media_type == "application/vnd.oci.image.layer.v1.tar+gzip");
  CHECK_FALSE(must(store.find_layer(diff, "none")));
  CHECK(must(store.layers_of(diff)).size() == 2);
  auto back = must(store.find_layer_by_blob(zst.digest));
  REQUIRE(back);
  CHECK(back->diff_id == diff);
  CHECK(back->compression == "zstd");
  CHECK_FALSE(must(store.find_layer_by_blob(Digest::of("x"))));
  CHECK_FALSE(store.put_layer({diff, "gzip", "m", {Digest::of("absent"), 3}}).ok());
}
