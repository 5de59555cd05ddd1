// Credentials from docker-format config files and docker-credential-* helpers.
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>

#include "cbuild/registry/auth.hpp"
#include "cbuild/registry/login.hpp"
#include "cbuild/util/fd.hpp"
#include "cbuild/util/fs.hpp"

extern char** environ;

namespace cbuild::registry {
namespace {

using Json = nlohmann::json;
constexpr std::string_view k_docker_hub_server = "https://index.docker.io/v1/";

/// The host part of a config key: scheme and path removed.
std::string key_host(std::string_view key) {
  if (auto p = key.find("://"); p != std::string_view::npos) key.remove_prefix(p + 3);
  if (auto p = key.find('/'); p != std::string_view::npos) key = key.substr(0, p);
  return std::string(key);
}

/// write_all with SIGPIPE blocked in this thread (a pending one is consumed afterwards).
Status write_without_sigpipe(int fd, std::string_view data, bool& broken_pipe) {
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  sigset_t pending;
  sigpending(&pending);
  const bool was_pending = sigismember(&pending, SIGPIPE) == 1;
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set);
  int error = 0;
  while (!data.empty() && error == 0) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n >= 0)
      data.remove_prefix(static_cast<size_t>(n));
    else if (errno != EINTR)
      error = errno;
  }
  broken_pipe = error == EPIPE;
  if (broken_pipe && !was_pending) {
    const timespec zero{0, 0};
    while (sigtimedwait(&pipe_set, nullptr, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_set, nullptr);
  if (error == 0) return {};
  errno = error;
  return errno_error("write to credential helper");
}

}  // namespace

bool auth_key_matches(std::string_view key, std::string_view host) {
  std::string h = key_host(key);
  if (h == host) return true;
  const bool hub = host == "docker.io" || host == "index.docker.io" || host == "registry-1.docker.io";
  return hub && (h == "index.docker.io" || h == "docker.io" || h == "registry-1.docker.io");
}

std::string credential_server_url(std::string_view host) {
  if (host == "docker.io" || host == "index.docker.io") return std::string(k_docker_hub_server);
  return std::string(host);
}

namespace {

const Json* find_entry(const Json& object, std::string_view host) {
  if (!object.is_object()) return nullptr;
  for (const auto& [key, value] : object.items())
    if (auth_key_matches(key, host)) return &value;
  return nullptr;
}

Result<std::optional<Credentials>> from_auth_entry(const Json& entry, std::string_view host) {
  Credentials c;
  if (auto it = entry.find("auth"); it != entry.end() && it->is_string() && !it->get<std::string>().empty()) {
    auto decoded = base64_decode(it->get<std::string>());
    if (!decoded.ok()) return std::move(decoded).error().wrap("read credentials for `{}`", host);
    auto colon = decoded->find(':');
    if (colon == std::string::npos)
      return make_error(ExitCode::bad_input,
                        "read credentials for `{}`: `auth` is not base64 of user:password", host);
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  if (c.username.empty()) c.username = entry.value("username", "");
  if (c.password.empty()) c.password = entry.value("password", "");
  c.identity_token = entry.value("identitytoken", "");
  if (c.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

Result<std::string> read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("read from credential helper");
    if (n == 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

Result<HelperOutput> run_helper_action(std::string_view helper, std::string_view action,
                                       std::string_view input) {
  const std::string program = "docker-credential-" + std::string(helper);
  const std::string verb(action);
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd in_read(in[0]), in_write(in[1]);
  if (::pipe2(out, O_CLOEXEC) != 0) return errno_error("pipe");
  UniqueFd out_read(out[0]), out_write(out[1]);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, in_read.get(), STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&actions, out_write.get(), STDOUT_FILENO);
  char* argv[] = {const_cast<char*>(program.c_str()), const_cast<char*>(verb.c_str()), nullptr};
  pid_t pid = 0;
  int rc = posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) {
    errno = rc;
    return errno_error(fmt::format("run credential helper `{}`", program));
  }
  in_read = UniqueFd();
  out_write = UniqueFd();
  // A helper may exit without reading its input: that must give EPIPE here, not a SIGPIPE
  // that kills cbuild, and its exit status and output are still what counts.
  bool broken_pipe = false;
  Status written = write_without_sigpipe(in_write.get(), input, broken_pipe);
  in_write = UniqueFd();
  auto output = read_all(out_read.get());
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  if (!written.ok() && !broken_pipe)
    return std::move(written).error().wrap("run credential helper `{}`", program);
  if (!output.ok()) return std::move(output).error();
  return HelperOutput{WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus),
                      std::move(*output)};
}

Result<std::optional<Credentials>> run_credential_helper(std::string_view helper, std::string_view server) {
  const std::string program = "docker-credential-" + std::string(helper);
  HelperOutput output = TRY(run_helper_action(helper, "get", std::string(server) + "\n"));
  if (output.status != 0) {
    if (output.text.find("credentials not found") != std::string::npos) return std::optional<Credentials>();
    return make_error("run credential helper `{}` for `{}`: exited with status {}: {}", program, server,
                      output.status, output.text);
  }
  Json doc = Json::parse(output.text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error("run credential helper `{}`: output is not a JSON object", program);
  Credentials c;
  c.username = doc.value("Username", "");
  c.password = doc.value("Secret", "");
  if (c.username == "<token>") {  // docker's marker for an identity token
    c.identity_token = c.password;
    c.username.clear();
    c.password.clear();
  }
  if (c.empty()) return std::optional<Credentials>();
  return std::optional<Credentials>(std::move(c));
}

Result<std::optional<Credentials>> credentials_from_config(std::string_view config_json,
                                                           std::string_view host) {
  Json doc = Json::parse(config_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object())
    return make_error(ExitCode::bad_input, "read credentials: config is not a JSON object");
  const Json helpers = doc.value("credHelpers", Json::object());
  const Json auths = doc.value("auths", Json::object());
  if (const Json* helper = find_entry(helpers, host); helper && helper->is_string())
    return run_credential_helper(helper->get<std::string>(), credential_server_url(host));
  if (auto store = doc.find("credsStore");
      store != doc.end() && store->is_string() && !store->get<std::string>().empty()) {
    auto found = TRY(run_credential_helper(store->get<std::string>(), credential_server_url(host)));
    if (found) return found;
  }
  if (const Json* entry = find_entry(auths, host); entry && entry->is_object())
    return from_auth_entry(*entry, host);
  return std::optional<Credentials>();
}

FileCredentialSource::FileCredentialSource() {
  for (auto path : {cbuild_auth_path(), docker_config_path()})
    if (!path.empty()) m_files.push_back(std::move(path));
}

FileCredentialSource::FileCredentialSource(std::vector<std::filesystem::path> files)
    : m_files(std::move(files)) {}

Result<std::optional<Credentials>> FileCredentialSource::lookup(std::string_view host) {
  for (const auto& file : m_files) {
    std::error_code ec;
    if (!std::filesystem::exists(file, ec)) continue;
    std::string text = TRY(read_file(file));
    auto found = credentials_from_config(text, host);
    if (!found.ok()) return std::move(found).error().wrap("read `{}`", file.string());
    if (*found) return found;
  }
  return std::optional<Credentials>();
}

}  // namespace cbuild::registry
