#include <catch2/catch.hpp>

#include "cbuild/image/config.hpp"
#include "cbuild/image/manifest.hpp"
#include "cbuild/image/media_types.hpp"
#include "cbuild/image/time.hpp"

using namespace cbuild::image;
using cbuild::Digest;

namespace {

// A config as docker writes it: docker-only fields (container_config, docker_version,
// Hostname...) that cbuild does not model must survive a parse/serialize round trip.
constexpr std::string_view k_docker_config = R"({
  "architecture": "amd64",
  "config": {
    "Hostname": "", "AttachStdin": false,
    "User": "1000:1000",
    "ExposedPorts": {"80/tcp": {}, "53/udp": {}},
    "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "A=1"],
    "Entrypoint": null,
    "Cmd": ["sh"],
    "Volumes": {"/data": {}},
    "WorkingDir": "/work",
    "Labels": {"org.example": "yes"},
    "StopSignal": "SIGTERM",
    "Healthcheck": {"Test": ["CMD-SHELL", "true"], "Interval": 30000000000, "Retries": 3},
    "Shell": ["/bin/ash", "-c"],
    "OnBuild": ["RUN echo hi"],
    "ArgsEscaped": true
  },
  "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) CMD [\"sh\"]"]},
  "created": "2024-01-01T00:00:00.123456789Z",
  "docker_version": "20.10.23",
  "history": [
    {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop) ADD file:abc in / "},
    {"created": "2024-01-01T00:00:00Z", "created_by": "/bin/sh -c #(nop)  CMD [\"sh\"]", "empty_layer": true}
  ],
  "os": "linux",
  "rootfs": {"type": "layers", "diff_ids": ["sha256:1111111111111111111111111111111111111111111111111111111111111111"]}
})";

}  // namespace

TEST_CASE("image config: docker config parses into typed fields") {
  auto config = ImageConfig::parse(k_docker_config);
  REQUIRE(config.ok());
  const ContainerConfig& c = config->config;
  CHECK(config->architecture == "amd64");
  CHECK(config->created == "2024-01-01T00:00:00.123456789Z");
  CHECK(c.user == "1000:1000");
  CHECK(c.exposed_ports == std::set<std::string>{"53/udp", "80/tcp"});
  CHECK(c.get_env("A") == "1");
  CHECK_FALSE(c.get_env("B").has_value());
  CHECK_FALSE(c.entrypoint.has_value());
  REQUIRE(c.cmd.has_value());
  CHECK(*c.cmd == std::vector<std::string>{"sh"});
  CHECK(c.volumes.count("/data") == 1);
  CHECK(c.working_dir == "/work");
  CHECK(c.labels.at("org.example") == "yes");
  REQUIRE(c.healthcheck.has_value());
  CHECK(c.healthcheck->interval == 30000000000);
  CHECK(c.healthcheck->retries == 3);
  CHECK(c.shell == std::vector<std::string>{"/bin/ash", "-c"});
  CHECK(c.on_build == std::vector<std::string>{"RUN echo hi"});
  CHECK(c.args_escaped);
  REQUIRE(config->diff_ids.size() == 1);
  CHECK(config->history.size() == 2);
  CHECK(config->history[1].empty_layer);
  CHECK(config->non_empty_history() == 1);
  CHECK(config->extra.contains("docker_version"));
  CHECK(c.extra.contains("Hostname"));
}

TEST_CASE("image config: serialize then parse gives the same value, unknown fields kept") {
  auto config = ImageConfig::parse(k_docker_config);
  REQUIRE(config.ok());
  std::string bytes = config->serialize();
  auto again = ImageConfig::parse(bytes);
  REQUIRE(again.ok());
  CHECK(*again == *config);
  CHECK(again->serialize() == bytes);  // deterministic
  auto json = nlohmann::json::parse(bytes);
  CHECK(json["docker_version"] == "20.10.23");
  CHECK(json["config"]["Hostname"] == "");
  CHECK(json["config"]["ExposedPorts"]["80/tcp"].is_object());
  CHECK_FALSE(json["config"].contains("Entrypoint"));
  CHECK(json["rootfs"]["type"] == "layers");
}

TEST_CASE("image config: empty command is kept apart from no command") {
  ImageConfig config = ImageConfig::for_host();
  config.config.cmd = std::vector<std::string>{};
  config.config.set_env("PATH", "/bin");
  config.config.set_env("PATH", "/usr/bin");
  CHECK(config.config.env == std::vector<std::string>{"PATH=/usr/bin"});
  auto again = ImageConfig::parse(config.serialize());
  REQUIRE(again.ok());
  REQUIRE(again->config.cmd.has_value());
  CHECK(again->config.cmd->empty());
  CHECK(again->os == "linux");
  CHECK(again->architecture == host_platform().architecture);
}

TEST_CASE("image config: malformed documents are refused naming the field") {
  auto bad_env = ImageConfig::parse(R"({"config":{"Env":"A=1"}})");
  REQUIRE_FALSE(bad_env.ok());
  CHECK(bad_env.error().message == "`config.Env`: expected an array of strings");
  auto bad_diff = ImageConfig::parse(R"({"rootfs":{"type":"layers","diff_ids":["md5:x"]}})");
  REQUIRE_FALSE(bad_diff.ok());
  CHECK_THAT(bad_diff.error().message, Catch::StartsWith("`rootfs.diff_ids`: invalid digest"));
  CHECK_FALSE(ImageConfig::parse("{not json").ok());
  CHECK_FALSE(ImageConfig::parse(R"({"rootfs":{"type":"snapshots"}})").ok());
  CHECK_FALSE(ImageConfig::parse("[]").ok());
}

TEST_CASE("manifest and index round trip, unknown fields kept") {
  const std::string hex(64, 'a');
  const std::string manifest_text =
      R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
    "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:)" +
      hex + R"(","size":7},
    "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:)" +
      hex +
      R"(","size":100,"annotations":{"a":"b"},"data":"eA=="}],
    "annotations":{"org.opencontainers.image.created":"2024-01-01T00:00:00Z"},"futureField":1})";
  auto manifest = Manifest::parse(manifest_text);
  REQUIRE(manifest.ok());
  CHECK(manifest->config.size == 7);
  REQUIRE(manifest->layers.size() == 1);
  CHECK(manifest->layers[0].annotations.at("a") == "b");
  CHECK(manifest->layers[0].extra.contains("data"));
  auto again = Manifest::parse(manifest->serialize());
  REQUIRE(again.ok());
  CHECK(*again == *manifest);
  CHECK(nlohmann::json::parse(again->serialize())["futureField"] == 1);
  CHECK(sniff_media_type(manifest_text).value() == media::k_oci_manifest);

  Index index;
  index.media_type = media::k_oci_index;
  Descriptor d = manifest->config;
  d.media_type = media::k_oci_manifest;
  d.platform = host_platform();
  d.annotations[std::string(media::k_annotation_ref_name)] = "latest";
  index.manifests.push_back(d);
  auto index_again = Index::parse(index.serialize());
  REQUIRE(index_again.ok());
  CHECK(*index_again == index);
  CHECK(sniff_media_type(R"({"schemaVersion":2,"manifests":[]})").value() == media::k_oci_index);
}

TEST_CASE("manifest errors name the field") {
  auto no_config = Manifest::parse(R"({"schemaVersion":2,"layers":[]})");
  REQUIRE_FALSE(no_config.ok());
  CHECK(no_config.error().message == "`manifest.config`: expected a descriptor");
  auto v1 = Manifest::parse(R"({"schemaVersion":1})");
  REQUIRE_FALSE(v1.ok());
  CHECK(v1.error().message == "`manifest.schemaVersion`: expected 2");
  auto bad_layer = Manifest::parse(
      R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:)" + std::string(64, 'b') +
      R"(","size":1},"layers":[{"mediaType":"x","digest":"sha256:zz","size":1}]})");
  REQUIRE_FALSE(bad_layer.ok());
  CHECK_THAT(bad_layer.error().message, Catch::StartsWith("`layers[0]`: invalid digest"));
  auto list_as_manifest = Manifest::parse(
      R"({"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[]})");
  CHECK_FALSE(list_as_manifest.ok());
}

TEST_CASE("media types map to compressions") {
  CHECK(media::layer_compression(media::k_docker_layer_gzip) == media::Compression::gzip);
  CHECK(media::layer_compression(media::k_oci_layer_zstd) == media::Compression::zstd);
  CHECK(media::layer_compression(media::k_oci_layer) == media::Compression::none);
  CHECK_FALSE(media::layer_compression(media::k_oci_config).has_value());
  CHECK(media::oci_layer_type(media::Compression::gzip) == media::k_oci_layer_gzip);
  CHECK(media::parse_compression("zstd") == media::Compression::zstd);
  CHECK_FALSE(media::parse_compression("lz4").has_value());
  CHECK(media::is_index(media::k_docker_manifest_list));
  CHECK(media::is_manifest(media::k_docker_manifest));
}

TEST_CASE("RFC 3339 times and docker's human durations") {
  CHECK(format_rfc3339(1704067200) == "2024-01-01T00:00:00Z");
  CHECK(parse_rfc3339("2024-01-01T00:00:00Z") == 1704067200);
  CHECK(parse_rfc3339("2024-01-01T00:00:00.123456789Z") == 1704067200);
  CHECK(parse_rfc3339("2024-01-01T02:00:00+02:00") == 1704067200);
  CHECK_FALSE(parse_rfc3339("2024-01-01").has_value());
  CHECK_FALSE(parse_rfc3339("2024-13-01T00:00:00Z").has_value());
  CHECK(format_go_time(1704067200) == "2024-01-01 00:00:00 +0000 UTC");
  CHECK(human_duration(0) == "Less than a second");
  CHECK(human_duration(1) == "1 second");
  CHECK(human_duration(45) == "45 seconds");
  CHECK(human_duration(90) == "About a minute");
  CHECK(human_duration(47 * 60) == "47 minutes");
  CHECK(human_duration(3600) == "About an hour");
  CHECK(human_duration(5 * 3600) == "5 hours");
  CHECK(human_duration(3 * 86400) == "3 days");
  CHECK(human_duration(20 * 86400) == "2 weeks");
  CHECK(human_duration(90 * 86400) == "3 months");
  CHECK(human_duration(3 * 365 * 86400) == "3 years");
}
