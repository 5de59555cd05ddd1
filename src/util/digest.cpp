#include "cbuild/util/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

std::string_view Digest::hex() const {
  return std::string_view(m_text).substr(m_text.empty() ? 0 : k_prefix.size());
}

struct Sha256::Impl {
  EVP_MD_CTX* ctx = nullptr;
  ~Impl() { EVP_MD_CTX_free(ctx); }
};

namespace {
/// SHA-256 fetched from the default provider once: `EVP_sha256()` fetches it again at every
/// init, and cbuild hashes many small inputs. OpenSSL's config file is not read (nothing in it
/// concerns a digest; libcurl still reads it for TLS).
const EVP_MD* sha256_md() {
  static const EVP_MD* md = [] {
    OPENSSL_init_crypto(OPENSSL_INIT_NO_LOAD_CONFIG, nullptr);
    return EVP_MD_fetch(nullptr, "SHA256", nullptr);
  }();
  return md;
}
}  // namespace

Sha256::Sha256() : m_impl(std::make_unique<Impl>()) {
  m_impl->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = sha256_md();
  if (!m_impl->ctx || !md || EVP_DigestInit_ex(m_impl->ctx, md, nullptr) != 1)
    throw std::runtime_error("OpenSSL: cannot initialise SHA-256");
}
Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(const void* data, size_t size) {
  EVP_DigestUpdate(m_impl->ctx, data, size);
}

Digest Sha256::finish() {
  unsigned char md[32];
  unsigned int len = 0;
  EVP_DigestFinal_ex(m_impl->ctx, md, &len);
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string text(k_prefix);
  for (unsigned i = 0; i < len; ++i) {
    text += k_hex[md[i] >> 4];
    text += k_hex[md[i] & 15];
  }
  return Digest(std::move(text));
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
