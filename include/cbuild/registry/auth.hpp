#pragma once
/// Registry authentication data: `WWW-Authenticate` challenges and credentials.
///
/// Credentials are looked up, first match wins, in:
///  1. cbuild's own auth file, `$CBUILD_AUTH_FILE` or `$XDG_CONFIG_HOME/cbuild/auth.json`
///     (`~/.config/cbuild/auth.json`); same format as docker's `auths` (version 1):
///         {"auths": {"HOST[:PORT]": {"auth": base64("user:password")}}}
///  2. docker's `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`):
///     `credHelpers[host]` or `credsStore` (runs `docker-credential-<name> get` with the
///     server URL on stdin, reads {"Username","Secret"}), else `auths[host]` with `auth`
///     (base64 "user:password") or `username`/`password`, or `identitytoken`.
/// Keys match by host: `HOST`, `https://HOST`, `http://HOST`, with or without a `/v1/` or
/// `/v2/` path; docker.io also matches docker's `https://index.docker.io/v1/`.
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::registry {

/// One challenge of a `WWW-Authenticate` header: scheme (lower-cased) and parameters
/// (names lower-cased, quoted values unescaped).
struct Challenge {
  std::string scheme;  ///< "basic", "bearer"
  std::map<std::string, std::string> params;

  std::string param(std::string_view name) const;
  bool operator==(const Challenge&) const = default;
};

/// Parses a header value that may hold several challenges
/// (`Bearer realm="https://a/token",service="reg",scope="repository:x:pull,push", Basic realm="r"`).
/// Malformed input → bad_input error.
Result<std::vector<Challenge>> parse_www_authenticate(std::string_view header);

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  ///< docker's `identitytoken` (OAuth refresh token), if any

  bool empty() const { return username.empty() && password.empty() && identity_token.empty(); }
};

/// Source of credentials for a registry host ("localhost:5000", "docker.io").
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  virtual Result<std::optional<Credentials>> lookup(std::string_view host) = 0;
};

/// Reads the `auths`/`credHelpers`/`credsStore` of one docker-format config document.
/// Credential helpers are run only when the document names one for `host`.
Result<std::optional<Credentials>> credentials_from_config(std::string_view config_json,
                                                           std::string_view host);

/// Runs `docker-credential-<helper> get` with `server_url` on stdin. A helper that reports
/// "credentials not found" gives nullopt.
Result<std::optional<Credentials>> run_credential_helper(std::string_view helper,
                                                         std::string_view server_url);

/// What a credential helper printed and its exit status.
struct HelperOutput {
  int status = 0;
  std::string text;
};
/// Runs `docker-credential-<helper> <action>` with `input` on stdin ("get", "store", "erase").
Result<HelperOutput> run_helper_action(std::string_view helper, std::string_view action,
                                       std::string_view input);

/// True when a config key ("127.0.0.1:5000", "https://index.docker.io/v1/") names `host`.
bool auth_key_matches(std::string_view key, std::string_view host);
/// The server URL credentials of `host` are kept under: docker's historical
/// `https://index.docker.io/v1/` for Docker Hub, else the host itself.
std::string credential_server_url(std::string_view host);

/// Credentials given directly (`cbuild login` verifying them before storing).
class StaticCredentialSource final : public CredentialSource {
 public:
  explicit StaticCredentialSource(std::optional<Credentials> credentials)
      : m_credentials(std::move(credentials)) {}
  Result<std::optional<Credentials>> lookup(std::string_view) override { return m_credentials; }

 private:
  std::optional<Credentials> m_credentials;
};

/// The default files, as described above (missing files are skipped).
class FileCredentialSource final : public CredentialSource {
 public:
  FileCredentialSource();  ///< cbuild auth file, then docker config, from the environment
  explicit FileCredentialSource(std::vector<std::filesystem::path> files);
  Result<std::optional<Credentials>> lookup(std::string_view host) override;
  const std::vector<std::filesystem::path>& files() const { return m_files; }

 private:
  std::vector<std::filesystem::path> m_files;
};

/// `Basic base64(user:password)`.
std::string basic_authorization(const Credentials& credentials);

std::string base64_encode(std::string_view data);
Result<std::string> base64_decode(std::string_view text);

}  // namespace cbuild::registry
