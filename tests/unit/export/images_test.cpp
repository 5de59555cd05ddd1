#include "cbuild/export/images.hpp"

#include <catch2/catch.hpp>

#include "cbuild/export/load.hpp"
#include "cbuild/export/save.hpp"
#include "cbuild/image/media_types.hpp"
#include "cbuild/layer/compression.hpp"

using namespace cbuild;
namespace media = image::media;

namespace {

struct Fixture {
  TempDir dir = TempDir::create("cbuild-export-test-").value();
  store::Store store = store::Store::open(dir.path() / "root").value();

  /// An image with one uncompressed layer `tar` (stored as a blob), tagged `names`.
  store::ImageRecord add_image(const std::string& tar, const std::vector<std::string>& names,
                               const std::string& cmd = "sh") {
    store::Descriptor blob = store.put_blob(tar).value();
    image::ImageConfig config = image::ImageConfig::for_host();
    config.config.cmd = std::vector<std::string>{cmd};
    config.diff_ids.push_back(blob.digest);
    image::Descriptor d;
    d.media_type = media::k_oci_layer;
    d.digest = blob.digest;
    d.size = static_cast<int64_t>(blob.size);
    store::LayerRecord record{blob.digest, "none", d.media_type, blob};
    return exporter::commit_image(store, config.serialize(), {{d, record}}, tar.size(), names).value();
  }
};

std::string fake_tar(char fill) { return std::string(10240, fill); }

}  // namespace

TEST_CASE("find_image: by name, default tag, ID, ID prefix, manifest digest") {
  Fixture f;
  auto rec = f.add_image(fake_tar('a'), {"docker.io/library/busybox:latest", "docker.io/user/app:1"});
  for (const std::string& text : std::vector<std::string>{
           "busybox", "busybox:latest", "docker.io/library/busybox", "user/app:1", rec.config.str(),
           std::string(rec.config.hex()), std::string(rec.config.hex().substr(0, 12)),
           "busybox@" + rec.manifest.str()}) {
    INFO(text);
    auto img = exporter::find_image(f.store, text);
    REQUIRE(img.ok());
    CHECK(img->id() == rec.config);
    CHECK(img->tags == std::vector<std::string>{"docker.io/library/busybox:latest", "docker.io/user/app:1"});
    CHECK(img->config.config.cmd == std::vector<std::string>{"sh"});
  }
  auto missing = exporter::find_image(f.store, "user/app:2");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ExitCode::not_found);
  CHECK(missing.error().message == "no such image: `user/app:2`");
}

TEST_CASE("read_image: a record naming an index reads the manifest whose config is the record's") {
  Fixture f;
  auto a = f.add_image(fake_tar('a'), {}, "a");
  auto b = f.add_image(fake_tar('b'), {}, "b");
  image::Index index;
  index.media_type = media::k_oci_index;
  for (const auto& r : {a, b}) {
    image::Descriptor d;
    d.media_type = r.media_type;
    d.digest = r.manifest;
    d.size = static_cast<int64_t>(f.store.read_blob(r.manifest)->size());
    index.manifests.push_back(d);
  }
  std::string index_bytes = index.serialize();
  auto blob = f.store.put_blob(index_bytes).value();
  store::ImageRecord record{blob.digest, b.config, std::string(media::k_oci_index), 0, 0};
  REQUIRE(f.store.set_tag("docker.io/library/multi:1", record).ok());
  auto img = exporter::find_image(f.store, "multi:1");
  REQUIRE(img.ok());
  CHECK(img->record.manifest == blob.digest);
  CHECK(img->index_bytes == index_bytes);
  CHECK(img->manifest_digest == b.manifest);
  CHECK(img->manifest_media_type == b.media_type);
  CHECK(img->config.config.cmd == std::vector<std::string>{"b"});
}

TEST_CASE("remove_image: untag, refuse an ID with several names, delete with the last name") {
  Fixture f;
  auto rec = f.add_image(fake_tar('a'), {"docker.io/library/a:1", "docker.io/library/a:2"});
  auto refused = exporter::remove_image(f.store, std::string(rec.config.hex()), false);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Catch::Contains("must be forced"));
  CHECK(exporter::remove_image(f.store, "a:1", false).value() == std::vector<std::string>{"Untagged: a:1"});
  CHECK(f.store.get_image(rec.manifest).value().has_value());
  CHECK(exporter::remove_image(f.store, "a:2", false).value() ==
        std::vector<std::string>{"Untagged: a:2", "Deleted: " + rec.config.str()});
  CHECK_FALSE(f.store.get_image(rec.manifest).value().has_value());
  CHECK(exporter::remove_image(f.store, "a:2", false).error().code == ExitCode::not_found);
}

TEST_CASE("ensure_layer_blob compresses once and remembers the blob") {
  Fixture f;
  const std::string tar = fake_tar('b');
  auto rec = f.add_image(tar, {"docker.io/library/b:1"});
  const Digest diff_id = Digest::of(tar);
  auto gz = exporter::ensure_layer_blob(f.store, diff_id, media::Compression::gzip, {});
  REQUIRE(gz.ok());
  CHECK(gz->compression == "gzip");
  CHECK(gz->media_type == media::k_oci_layer_gzip);
  CHECK(f.store.has_blob(gz->blob.digest));
  size_t blobs = f.store.list_blobs().value().size();
  auto again = exporter::ensure_layer_blob(f.store, diff_id, media::Compression::gzip, {});
  REQUIRE(again.ok());
  CHECK(again->blob == gz->blob);
  CHECK(f.store.list_blobs().value().size() == blobs);
  // zstd is made from a stored blob, and the decompressed data is checked against the diffID.
  CHECK(exporter::ensure_layer_blob(f.store, diff_id, media::Compression::zstd, {}).ok());
  // A layer with no stored data comes from the source hook, or fails.
  const std::string other = fake_tar('c');
  auto none = exporter::ensure_layer_blob(f.store, Digest::of(other), media::Compression::gzip, {});
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ExitCode::not_found);
  auto from_source =
      exporter::ensure_layer_blob(f.store, Digest::of(other), media::Compression::gzip,
                                  [&](const Digest&, layer::ByteSink& out) { return out.write(other); });
  CHECK(from_source.ok());
  auto lying =
      exporter::ensure_layer_blob(f.store, Digest::of(fake_tar('d')), media::Compression::gzip,
                                  [&](const Digest&, layer::ByteSink& out) { return out.write(other); });
  REQUIRE_FALSE(lying.ok());
  CHECK_THAT(lying.error().message, Catch::Contains("stored data has diffID"));
}

TEST_CASE("save then load (OCI directory) keeps image ID, manifest and names") {
  Fixture f;
  auto rec = f.add_image(fake_tar('e'), {"localhost:5000/e:1"});
  exporter::SaveOptions options;
  options.format = exporter::ArchiveFormat::oci_dir;
  options.output = f.dir.path() / "layout";
  REQUIRE(exporter::save_images(f.store, {"localhost:5000/e:1"}, options).ok());
  CHECK(fs::exists(f.dir.path() / "layout" / "oci-layout"));

  auto other = store::Store::open(f.dir.path() / "root2").value();
  auto loaded = exporter::load_archive(other, f.dir.path() / "layout");
  REQUIRE(loaded.ok());
  REQUIRE(loaded->size() == 1);
  CHECK(loaded->front().id == rec.config);
  CHECK(loaded->front().manifest == rec.manifest);
  CHECK(loaded->front().tags == std::vector<std::string>{"localhost:5000/e:1"});
  CHECK(other.find_layer(Digest::of(fake_tar('e')), "none").value().has_value());

  // A second save to the same, now non-empty, directory is refused and changes nothing.
  auto again = exporter::save_images(f.store, {"localhost:5000/e:1"}, options);
  REQUIRE_FALSE(again.ok());
  CHECK_THAT(again.error().message, Catch::Contains("exists and is not an empty directory"));
}
