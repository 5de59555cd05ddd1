#include "cbuild/util/digest.hpp"

#define OPENSSL_SUPPRESS_DEPRECATED  // SHA256_Init and friends, see Sha256::Impl
#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace cbuild {

namespace {
constexpr std::string_view k_prefix = "sha256:";

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}
}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  if (!text.starts_with(k_prefix))
    return make_error(ExitCode::bad_input, "invalid digest `{}`: only sha256 is supported", text);
  auto hex = text.substr(k_prefix.size());
  if (hex.size() != 64 || !is_lower_hex(hex))
    return make_error(ExitCode::bad_input, "invalid digest `{}`: want 64 lowercase hex digits", text);
  return Digest(std::string(text));
}

Digest Digest::of(std::string_view data) {
  Sha256 sha;
  sha.update(data);
  return sha.finish();
}

std::string_view Digest::text_of(const std::array<uint8_t, 32>& raw, std::array<char, k_text_size>& text) {
  static constexpr char k_hex[] = "0123456789abcdef";
  static_assert(k_text_size == k_prefix.size() + 64);
  char* out = std::copy(k_prefix.begin(), k_prefix.end(), text.begin());
  for (uint8_t b : raw) {
    *out++ = k_hex[b >> 4];
    *out++ = k_hex[b & 15];
  }
  return {text.data(), text.size()};
}

Digest Digest::from_bytes(const std::array<uint8_t, 32>& raw) {
  std::array<char, k_text_size> text;
  return Digest(std::string(text_of(raw, text)));
}

std::array<uint8_t, 32> Digest::bytes() const {
  std::array<uint8_t, 32> raw{};
  std::string_view h = hex();
  auto nibble = [](char c) { return static_cast<uint8_t>(c <= '9' ? c - '0' : c - 'a' + 10); };
  for (size_t i = 0; i < raw.size() && 2 * i + 1 < h.size(); ++i)
    raw[i] = static_cast<uint8_t>(nibble(h[2 * i]) << 4 | nibble(h[2 * i + 1]));
  return raw;
}

std::string_view Digest::hex() const {
  return std::string_view(m_text).substr(m_text.empty() ? 0 : k_prefix.size());
}

// OpenSSL's SHA256_Init/Update/Final, not EVP: fetching a digest from a provider costs
// about 1 ms at the first use in a process, a tenth of a fully cached build. They are
// deprecated in OpenSSL 3 but kept, and run the same (SHA-NI) code.
struct Sha256::Impl {
  SHA256_CTX ctx;
};

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  if (SHA256_Init(&m_impl->ctx) != 1) throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) { SHA256_Update(&m_impl->ctx, data, size); }

Digest Sha256::finish() {
  static_assert(SHA256_DIGEST_LENGTH == 32);
  std::array<uint8_t, 32> md;
  SHA256_Final(md.data(), &m_impl->ctx);
  return Digest::from_bytes(md);
}

KeyHasher& KeyHasher::add(std::string_view tag, std::string_view value) {
  std::string header = fmt::format("{}:{}:", tag, value.size());
  m_sha.update(header);
  m_sha.update(value);
  return *this;
}

KeyHasher& KeyHasher::add(std::string_view tag, int64_t value) {
  return add(tag, std::string_view(std::to_string(value)));
}

}  // namespace cbuild
