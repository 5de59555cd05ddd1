#include "cbuild/export/decompress.hpp"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string>

namespace cbuild::exporter {

using image::media::Compression;

namespace {

constexpr unsigned char k_gzip_magic[] = {0x1f, 0x8b};
constexpr unsigned char k_zstd_magic[] = {0x28, 0xb5, 0x2f, 0xfd};
constexpr unsigned char k_xz_magic[] = {0xfd, '7', 'z', 'X', 'Z', 0x00};
constexpr unsigned char k_bzip2_magic[] = {'B', 'Z', 'h'};
constexpr size_t k_sniff_size = 6;
constexpr size_t k_out_chunk = 1 << 17;

template <size_t N>
bool starts_with(const std::string& data, const unsigned char (&magic)[N]) {
  return data.size() >= N && std::memcmp(data.data(), magic, N) == 0;
}

}  // namespace

struct Decompressor::Impl {
  layer::ByteSink* out = nullptr;
  bool detected = false;
  std::string head;  // bytes held until the format is known
  Compression compression = Compression::none;
  Sha256 sha;
  uint64_t size = 0;
  // gzip
  z_stream z{};
  bool z_ready = false;
  bool in_member = false;
  bool trailing_zeros = false;  // tape padding after the last gzip member
  // zstd
  ZSTD_DStream* zstd = nullptr;
  size_t zstd_pending = 0;  // ZSTD_decompressStream's last hint: 0 = frame complete
  std::string buffer = std::string(k_out_chunk, '\0');

  ~Impl() {
    if (z_ready) inflateEnd(&z);
    if (zstd) ZSTD_freeDStream(zstd);
  }

  Status emit(const void* data, size_t n) {
    if (n == 0) return {};
    sha.update(data, n);
    size += n;
    return out ? out->write(data, n) : Status{};
  }

  Status detect() {
    detected = true;
    if (starts_with(head, k_gzip_magic)) {
      compression = Compression::gzip;
      if (inflateInit2(&z, 15 + 16) != Z_OK) return make_error("gzip: cannot initialise zlib");
      z_ready = true;
    } else if (starts_with(head, k_zstd_magic)) {
      compression = Compression::zstd;
      zstd = ZSTD_createDStream();
      if (!zstd) return make_error("zstd: cannot create a decompression context");
      ZSTD_initDStream(zstd);
    } else if (starts_with(head, k_xz_magic)) {
      return make_error(ExitCode::bad_input, "unsupported compression (xz): decompress it first");
    } else if (starts_with(head, k_bzip2_magic)) {
      return make_error(ExitCode::bad_input, "unsupported compression (bzip2): decompress it first");
    }
    std::string held = std::move(head);
    head.clear();
    return feed(held.data(), held.size());
  }

  Status feed_gzip(const unsigned char* data, size_t n) {
    while (n > 0) {
      if (trailing_zeros) {
        if (std::any_of(data, data + n, [](unsigned char c) { return c != 0; })) {
          return make_error(ExitCode::bad_input, "corrupt gzip data: garbage after the last member");
        }
        return {};
      }
      if (!in_member && data[0] == 0) {
        trailing_zeros = true;
        continue;
      }
      z.next_in = const_cast<unsigned char*>(data);
      z.avail_in = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
      size_t given = z.avail_in;
      in_member = true;
      int rc = Z_OK;
      do {
        z.next_out = reinterpret_cast<unsigned char*>(buffer.data());
        z.avail_out = static_cast<uInt>(buffer.size());
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
          return make_error(ExitCode::bad_input, "corrupt gzip data: {}", z.msg ? z.msg : "inflate failed");
        }
        TRY(emit(buffer.data(), buffer.size() - z.avail_out));
        if (rc == Z_BUF_ERROR) break;  // no progress possible: needs more input
      } while (rc != Z_STREAM_END && (z.avail_in > 0 || z.avail_out == 0));
      size_t used = given - z.avail_in;
      data += used;
      n -= used;
      if (rc == Z_STREAM_END) {  // another member may follow (pigz, cbuild's parallel gzip)
        in_member = false;
        inflateReset(&z);
      }
    }
    return {};
  }

  Status feed_zstd(const void* data, size_t n) {
    ZSTD_inBuffer in{data, n, 0};
    while (in.pos < in.size) {
      ZSTD_outBuffer outb{buffer.data(), buffer.size(), 0};
      size_t rc = ZSTD_decompressStream(zstd, &outb, &in);
      if (ZSTD_isError(rc))
        return make_error(ExitCode::bad_input, "corrupt zstd data: {}", ZSTD_getErrorName(rc));
      zstd_pending = rc;
      TRY(emit(buffer.data(), outb.pos));
    }
    // Flush what the decoder still holds for this input.
    for (;;) {
      ZSTD_outBuffer outb{buffer.data(), buffer.size(), 0};
      size_t rc = ZSTD_decompressStream(zstd, &outb, &in);
      if (ZSTD_isError(rc))
        return make_error(ExitCode::bad_input, "corrupt zstd data: {}", ZSTD_getErrorName(rc));
      if (outb.pos == 0) break;  // nothing held back (the hint of an idle call means nothing)
      zstd_pending = rc;
      TRY(emit(buffer.data(), outb.pos));
      if (outb.pos < outb.size) break;
    }
    return {};
  }

  Status feed(const void* data, size_t n) {
    switch (compression) {
      case Compression::none:
        return emit(data, n);
      case Compression::gzip:
        return feed_gzip(static_cast<const unsigned char*>(data), n);
      case Compression::zstd:
        return feed_zstd(data, n);
    }
    return {};
  }
};

Decompressor::Decompressor(layer::ByteSink* out) : m_impl(std::make_unique<Impl>()) { m_impl->out = out; }
Decompressor::~Decompressor() = default;

Status Decompressor::write(const void* data, size_t size) {
  Impl& d = *m_impl;
  if (d.detected) return d.feed(data, size);
  d.head.append(static_cast<const char*>(data), size);
  if (d.head.size() < k_sniff_size) return {};
  return d.detect();
}

Result<Decompressed> Decompressor::finish() {
  Impl& d = *m_impl;
  if (!d.detected) TRY(d.detect());
  if (d.compression == Compression::gzip && d.in_member) {
    return make_error(ExitCode::bad_input, "truncated gzip data");
  }
  if (d.compression == Compression::zstd && d.zstd_pending != 0) {
    return make_error(ExitCode::bad_input, "truncated zstd data");
  }
  return Decompressed{d.compression, d.sha.finish(), d.size};
}

}  // namespace cbuild::exporter
