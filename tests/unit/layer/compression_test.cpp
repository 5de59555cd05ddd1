#include "cbuild/layer/compression.hpp"

#include <zlib.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "unit/layer/layer_test_support.hpp"

using namespace cbuild;
using namespace cbuild::layer;

namespace {

/// Decompresses with libarchive's raw reader (gzip members or zstd frames).
std::string decompress(const std::string& data) {
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);  // the compressions cbuild writes
  archive_read_support_filter_zstd(a);
  archive_read_support_format_raw(a);
  REQUIRE(archive_read_open_memory(a, data.data(), data.size()) == ARCHIVE_OK);
  archive_entry* e = nullptr;
  REQUIRE(archive_read_next_header(a, &e) == ARCHIVE_OK);
  std::string out;
  char buf[65536];
  la_ssize_t n;
  while ((n = archive_read_data(a, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  REQUIRE(n == 0);
  archive_read_free(a);
  return out;
}

/// Decompresses every gzip member with zlib's own multi-member reader (gzip(1)'s view).
std::string gunzip_all(const std::string& data, int& members) {
  std::string out;
  members = 0;
  z_stream z{};
  inflateInit2(&z, 15 + 16);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char buf[65536];
  while (z.avail_in > 0) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    int rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof buf - z.avail_out);
    if (rc == Z_STREAM_END) {
      ++members;
      inflateReset(&z);
    } else if (rc != Z_OK) {
      break;
    }
  }
  inflateEnd(&z);
  return out;
}

std::string sample(size_t size) {
  std::string s;
  uint64_t x = 88172645463325252ull;
  while (s.size() < size) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    s += (x % 4) ? std::string("layer ") : std::to_string(x);
  }
  s.resize(size);
  return s;
}

std::pair<std::string, CompressedBlob> compress(Compression c, unsigned threads, const std::string& in,
                                                size_t piece = 100000) {
  StringSink sink;
  auto comp = Compressor::create({c, 0, threads}, sink).value();
  for (size_t i = 0; i < in.size(); i += piece) REQUIRE(comp->write(in.substr(i, piece)).ok());
  auto blob = comp->finish();
  REQUIRE(blob.ok());
  return {sink.data(), blob.value()};
}

}  // namespace

TEST_CASE("compression: names parse and print") {
  CHECK(parse_compression("gzip").value() == Compression::gzip);
  CHECK(parse_compression("zstd").value() == Compression::zstd);
  CHECK(parse_compression("uncompressed").value() == Compression::none);
  CHECK(compression_name(Compression::zstd) == "zstd");
  CHECK_FALSE(parse_compression("lz4").ok());
}

TEST_CASE("compression: parallel gzip is valid multi-member gzip, identical for any thread count") {
  std::string in = sample(5 * k_gzip_chunk_size + 12345);
  auto [one, blob1] = compress(Compression::gzip, 1, in);
  auto [three, blob3] = compress(Compression::gzip, 3, in, 7777);
  CHECK(one == three);
  CHECK(blob1.digest == Digest::of(one));
  CHECK(blob1.size == one.size());
  CHECK(blob1.digest == blob3.digest);
  int members = 0;
  CHECK(gunzip_all(one, members) == in);
  CHECK(members == 6);
  CHECK(decompress(one) == in);
  CHECK(one.size() < in.size() / 2);
}

TEST_CASE("compression: empty input still gives a valid stream") {
  for (auto c : {Compression::gzip, Compression::zstd}) {
    auto [out, blob] = compress(c, 2, "");
    CHECK_FALSE(out.empty());
    CHECK(blob.digest == Digest::of(out));
  }
  int members = 0;
  CHECK(gunzip_all(compress(Compression::gzip, 2, "").first, members).empty());
  CHECK(members == 1);
}

TEST_CASE("compression: zstd round-trips and does not depend on the worker count") {
  std::string in = sample(3 * k_gzip_chunk_size);
  auto [one, blob1] = compress(Compression::zstd, 1, in);
  auto [two, blob2] = compress(Compression::zstd, 2, in);
  CHECK(one == two);
  CHECK(decompress(one) == in);
  CHECK(blob1.size == one.size());
}

TEST_CASE("compression: none passes bytes through and digests them") {
  auto [out, blob] = compress(Compression::none, 0, "abc");
  CHECK(out == "abc");
  CHECK(blob.digest == Digest::of("abc"));
}

TEST_CASE("compression: levels are checked, sink errors propagate") {
  StringSink sink;
  CHECK_FALSE(Compressor::create({Compression::gzip, 10, 1}, sink).ok());
  CHECK_FALSE(Compressor::create({Compression::zstd, 99, 1}, sink).ok());
  struct Failing : ByteSink {
    using ByteSink::write;
    Status write(const void*, size_t) override { return make_error("disk full"); }
  } failing;
  auto comp = Compressor::create({Compression::gzip, 0, 2}, failing).value();
  Status st = comp->write(sample(4 * k_gzip_chunk_size));
  auto fin = comp->finish();
  CHECK((!st.ok() || !fin.ok()));
  if (!fin.ok()) CHECK_THAT(fin.error().message, Catch::Contains("disk full"));
}

TEST_CASE("compression: incompressible chunks are stored, compressible ones still shrink") {
  std::string random(3 * k_gzip_chunk_size, '\0');
  uint64_t x = 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i + 8 <= random.size(); i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    memcpy(random.data() + i, &x, 8);
  }
  std::string mixed = random + sample(2 * k_gzip_chunk_size);
  auto [out, blob] = compress(Compression::gzip, 2, mixed);
  int members = 0;
  CHECK(gunzip_all(out, members) == mixed);
  CHECK(members == 5);
  // Stored random data costs only block headers; the text part still compresses.
  CHECK(out.size() < random.size() + random.size() / 100 + sample(2 * k_gzip_chunk_size).size() / 2);
  CHECK(decompress(out) == mixed);
}
