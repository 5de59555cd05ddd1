#pragma once
/// SHA-256 digests in OCI form (`sha256:<64 hex>`) and a field-tagged hasher for cache
/// keys: every field is written with its tag and length, so inputs cannot run together.
#include "cbuild/util/result.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cbuild {

/// A content digest. Only sha256 is produced; parsing accepts `sha256:` + 64 lowercase hex.
class Digest {
 public:
  Digest() = default;
  static Result<Digest> parse(std::string_view text);
  /// Digest of a whole byte string.
  static Digest of(std::string_view data);
  /// The digest with these 32 raw SHA-256 bytes.
  static Digest from_bytes(const std::array<uint8_t, 32>& raw);
  /// The text of `from_bytes(raw)` ("sha256:<hex>") written into `text`, without a string:
  /// for hashing the digests of many files.
  static constexpr size_t k_text_size = 71;
  static std::string_view text_of(const std::array<uint8_t, 32>& raw, std::array<char, k_text_size>& text);

  const std::string& str() const { return m_text; }  ///< "sha256:abcd..."
  std::string_view hex() const;                       ///< the 64 hex characters
  std::array<uint8_t, 32> bytes() const;              ///< the raw bytes (zeros when empty)
  bool empty() const { return m_text.empty(); }
  auto operator<=>(const Digest&) const = default;

 private:
  explicit Digest(std::string text) : m_text(std::move(text)) {}
  friend class Sha256;
  std::string m_text;
};

/// Incremental SHA-256 (OpenSSL EVP).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  void update(const void* data, size_t size);
  void update(std::string_view data) { update(data.data(), data.size()); }
  Digest finish();  ///< may be called once

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// Field-tagged hashing for cache keys: `add("src", bytes)` writes tag, length and bytes.
class KeyHasher {
 public:
  explicit KeyHasher(std::string_view version) { add("version", version); }
  KeyHasher& add(std::string_view tag, std::string_view value);
  KeyHasher& add(std::string_view tag, int64_t value);
  Digest finish() { return m_sha.finish(); }

 private:
  Sha256 m_sha;
};

}  // namespace cbuild
