#pragma once
/// `cbuild login` / `cbuild logout`: checking credentials against a registry and keeping
/// them where docker keeps them, so docker, skopeo and cbuild share one login.
///
/// Storage (docker's config.json, `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`):
/// when the config names a credential helper for the host (`credHelpers[host]`, else
/// `credsStore`), `docker-credential-<name> store` gets {"ServerURL","Username","Secret"} and
/// `auths[server]` is left as `{}` (as docker does); otherwise `auths[server]` =
/// {"auth": base64("user:password")}. `server` is `credential_server_url(host)`. The file is
/// rewritten atomically (temp file + rename) with mode 0600, other fields kept as they were.
/// Logout removes every `auths` key naming the host (and erases it from the helper), in the
/// docker config and in cbuild's own auth file (see auth.hpp).
#include <filesystem>
#include <string>
#include <string_view>

#include "cbuild/registry/auth.hpp"
#include "cbuild/registry/client.hpp"

namespace cbuild::registry {

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
std::filesystem::path docker_config_path();
/// cbuild's own auth file (`$CBUILD_AUTH_FILE`, else `$XDG_CONFIG_HOME/cbuild/auth.json`,
/// else `~/.config/cbuild/auth.json`).
std::filesystem::path cbuild_auth_path();

/// "https://reg:5000/v2/" → "reg:5000"; "index.docker.io" → "docker.io"; "" → "docker.io".
std::string login_host(std::string_view registry);

/// Sends GET /v2/ with `credentials` (Basic or the Bearer token flow): ok when the registry
/// accepts them, else an error naming the registry (401: "unauthorized").
Status verify_login(Transport& transport, std::string_view host, const Credentials& credentials,
                    const ClientOptions& options = {});

/// Stores credentials for `host` in the docker config `config` (see above).
Status store_login(const std::filesystem::path& config, std::string_view host,
                   const Credentials& credentials);

/// Removes the credentials of `host` from the docker-format file `config` (and its helper).
/// False when nothing was stored there.
Result<bool> remove_login(const std::filesystem::path& config, std::string_view host);

}  // namespace cbuild::registry
