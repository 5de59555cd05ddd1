#include "cbuild/export/decompress.hpp"

#include <catch2/catch.hpp>

#include "cbuild/layer/compression.hpp"

using namespace cbuild;
using exporter::Decompressor;
using image::media::Compression;

namespace {

std::string sample(size_t size) {
  std::string data;
  for (size_t i = 0; data.size() < size; ++i) data += "line " + std::to_string(i * 7919 % 104729) + "\n";
  data.resize(size);
  return data;
}

std::string compress(const std::string& data, layer::Compression c) {
  layer::StringSink out;
  auto compressor = layer::Compressor::create({c, 0, 2}, out);
  REQUIRE(compressor.ok());
  REQUIRE((*compressor)->write(data).ok());
  REQUIRE((*compressor)->finish().ok());
  return out.data();
}

/// Feeds `input` in pieces of `step` bytes; returns the result and the forwarded bytes.
std::pair<Result<exporter::Decompressed>, std::string> run(const std::string& input, size_t step) {
  layer::StringSink out;
  Decompressor d(&out);
  for (size_t i = 0; i < input.size(); i += step) {
    Status s = d.write(input.substr(i, step));
    if (!s.ok()) return {std::move(s).error(), out.data()};
  }
  return {d.finish(), out.data()};
}

}  // namespace

TEST_CASE("decompressor: gzip (several members), zstd and plain give the same diffID") {
  const std::string data = sample(3 * (1 << 20) + 12345);  // > 1 chunk: parallel gzip members
  const Digest want = Digest::of(data);
  for (auto [c, expected] : {std::pair{layer::Compression::gzip, Compression::gzip},
                             std::pair{layer::Compression::zstd, Compression::zstd},
                             std::pair{layer::Compression::none, Compression::none}}) {
    std::string packed = compress(data, c);
    for (size_t step : {size_t{1} << 20, size_t{4093}}) {
      auto [result, forwarded] = run(packed, step);
      REQUIRE(result.ok());
      CHECK(result->compression == expected);
      CHECK(result->diff_id == want);
      CHECK(result->size == data.size());
      CHECK(forwarded == data);
    }
  }
}

TEST_CASE("decompressor: truncated and foreign streams are errors") {
  const std::string data = sample(200000);
  std::string gz = compress(data, layer::Compression::gzip);
  auto cut = run(gz.substr(0, gz.size() / 2), 1000).first;
  REQUIRE_FALSE(cut.ok());
  CHECK(cut.error().message == "truncated gzip data");
  std::string zst = compress(data, layer::Compression::zstd);
  auto cut_zstd = run(zst.substr(0, zst.size() - 10), 1000).first;
  REQUIRE_FALSE(cut_zstd.ok());
  CHECK(cut_zstd.error().message == "truncated zstd data");
  std::string corrupt = gz;
  corrupt[gz.size() / 2] ^= 0x55;
  corrupt[gz.size() / 2 + 1] ^= 0x55;
  CHECK_FALSE(run(corrupt, 1 << 20).first.ok());
  auto xz = run(std::string("\xfd"
                            "7zXZ\0more",
                            10),
                64)
                .first;
  REQUIRE_FALSE(xz.ok());
  CHECK_THAT(xz.error().message, Catch::Contains("unsupported compression (xz)"));
}

TEST_CASE("decompressor: zero padding after the last gzip member is accepted, garbage is not") {
  const std::string data = sample(5000);
  std::string gz = compress(data, layer::Compression::gzip);
  auto padded = run(gz + std::string(10240, '\0'), 4096).first;
  REQUIRE(padded.ok());
  CHECK(padded->diff_id == Digest::of(data));
  CHECK_FALSE(run(gz + std::string(100, '\0') + "junk", 4096).first.ok());
}

TEST_CASE("decompressor: short and empty inputs are plain data") {
  auto empty = run("", 1).first;
  REQUIRE(empty.ok());
  CHECK(empty->size == 0);
  CHECK(empty->diff_id == Digest::of(""));
  auto tiny = run("abc", 1).first;
  REQUIRE(tiny.ok());
  CHECK(tiny->compression == Compression::none);
  CHECK(tiny->diff_id == Digest::of("abc"));
}
