// Login and logout: credentials checked against /v2/ and kept in docker's config.json.
#include "cbuild/registry/login.hpp"

#include <sys/stat.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cbuild/util/fs.hpp"

namespace cbuild::registry {
namespace {

using Json = nlohmann::json;

std::filesystem::path from_env(const char* variable, std::string_view file) {
  const char* value = std::getenv(variable);
  return value && *value ? std::filesystem::path(value) / file : std::filesystem::path();
}

/// The document in `path`, or an empty object when the file does not exist.
Result<Json> read_config(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return Json::object();
  const std::string text = TRY(read_file(path));
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  Json doc = Json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(ExitCode::bad_input, "read `{}`: not a JSON object", path.string());
  return doc;
}

Status write_config(const std::filesystem::path& path, const Json& doc) {
  TRY(make_dirs(path.parent_path(), 0700));
  return write_file_atomic(path, doc.dump(1, '\t') + "\n", 0600);
}

/// The credential helper the config names for `host`, or "".
std::string helper_for(const Json& doc, std::string_view host) {
  if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && helpers->is_object()) {
    for (const auto& [key, value] : helpers->items())
      if (auth_key_matches(key, host) && value.is_string()) return value.get<std::string>();
  }
  if (auto store = doc.find("credsStore"); store != doc.end() && store->is_string())
    return store->get<std::string>();
  return {};
}

Status helper_call(std::string_view helper, std::string_view action, std::string_view input,
                   bool missing_ok) {
  HelperOutput out = TRY(run_helper_action(helper, action, input));
  if (out.status == 0 || (missing_ok && out.text.find("credentials not found") != std::string::npos))
    return {};
  return make_error("run credential helper `docker-credential-{} {}`: exited with status {}: {}", helper,
                    action, out.status, out.text);
}

}  // namespace

std::filesystem::path docker_config_path() {
  if (auto p = from_env("DOCKER_CONFIG", "config.json"); !p.empty()) return p;
  return from_env("HOME", ".docker/config.json");
}

std::filesystem::path cbuild_auth_path() {
  if (const char* f = std::getenv("CBUILD_AUTH_FILE"); f && *f) return f;
  if (auto p = from_env("XDG_CONFIG_HOME", "cbuild/auth.json"); !p.empty()) return p;
  return from_env("HOME", ".config/cbuild/auth.json");
}

std::string login_host(std::string_view registry) {
  if (auto p = registry.find("://"); p != std::string_view::npos) registry.remove_prefix(p + 3);
  if (auto p = registry.find('/'); p != std::string_view::npos) registry = registry.substr(0, p);
  if (registry.empty() || registry == "index.docker.io" || registry == "registry-1.docker.io")
    return "docker.io";
  return std::string(registry);
}

Status verify_login(Transport& transport, std::string_view host, const Credentials& credentials,
                    const ClientOptions& options) {
  StaticCredentialSource source(credentials);
  Client client(transport, source, std::string(host), options);
  Status st = client.ping("");
  if (!st.ok()) return std::move(st).error().wrap("login to `{}` as `{}`", host, credentials.username);
  return {};
}

Status store_login(const std::filesystem::path& config, std::string_view host,
                   const Credentials& credentials) {
  Json doc = TRY(read_config(config));
  const std::string server = credential_server_url(host);
  if (!doc.contains("auths") || !doc["auths"].is_object()) doc["auths"] = Json::object();
  Json& auths = doc["auths"];
  for (auto it = auths.begin(); it != auths.end();) {  // one entry per host
    if (auth_key_matches(it.key(), host) && it.key() != server)
      it = auths.erase(it);
    else
      ++it;
  }
  if (std::string helper = helper_for(doc, host); !helper.empty()) {
    Json input = {
        {"ServerURL", server}, {"Username", credentials.username}, {"Secret", credentials.password}};
    TRY(helper_call(helper, "store", input.dump(), false));
    auths[server] = Json::object();
  } else {
    auths[server] = Json{{"auth", base64_encode(credentials.username + ":" + credentials.password)}};
  }
  Status st = write_config(config, doc);
  if (!st.ok()) return std::move(st).error().wrap("store credentials for `{}`", host);
  return {};
}

Result<bool> remove_login(const std::filesystem::path& config, std::string_view host) {
  std::error_code ec;
  if (!std::filesystem::exists(config, ec)) return false;
  Json doc = TRY(read_config(config));
  bool removed = false;
  if (auto auths = doc.find("auths"); auths != doc.end() && auths->is_object()) {
    for (auto it = auths->begin(); it != auths->end();) {
      if (auth_key_matches(it.key(), host)) {
        it = auths->erase(it);
        removed = true;
      } else {
        ++it;
      }
    }
  }
  if (std::string helper = helper_for(doc, host); !helper.empty()) {
    TRY(helper_call(helper, "erase", credential_server_url(host), true));
  }
  if (removed) TRY(write_config(config, doc));
  return removed;
}

}  // namespace cbuild::registry
