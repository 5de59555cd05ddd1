// `cbuild login [-u USER] [-p PASS | --password-stdin] [REGISTRY]` and `cbuild logout
// [REGISTRY]`: like docker's; credentials are checked against the registry, then kept in
// docker's config.json (or its credential helper). See cbuild/registry/login.hpp.
#include <fmt/core.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>

#include "cbuild/registry/login.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct LoginArgs {
  std::string registry;
  std::string username;
  std::string password;
  bool password_stdin = false;
  std::vector<std::string> insecure;
};

/// One line from stdin; with `secret` and a terminal, without echo.
std::string prompt_line(const char* prompt, bool secret) {
  const bool tty = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  if (tty) {
    fmt::print(stderr, "{}", prompt);
    if (secret && ::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty && secret) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    fmt::print(stderr, "\n");
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

Result<registry::Credentials> read_credentials(const LoginArgs& args) {
  registry::Credentials c{args.username, args.password, {}};
  if (args.password_stdin) {
    if (!args.password.empty())
      return make_error(ExitCode::usage, "login: --password and --password-stdin are exclusive");
    if (c.username.empty()) return make_error(ExitCode::usage, "login: --password-stdin needs --username");
    c.password.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
    while (!c.password.empty() && (c.password.back() == '\n' || c.password.back() == '\r'))
      c.password.pop_back();
  } else if (!args.password.empty()) {
    fmt::print(stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
  }
  if (c.username.empty()) c.username = prompt_line("Username: ", false);
  if (c.password.empty() && !args.password_stdin) c.password = prompt_line("Password: ", true);
  if (c.username.empty()) return make_error(ExitCode::usage, "login: a username is required");
  if (c.password.empty()) return make_error(ExitCode::usage, "login: a password is required");
  return c;
}

Status run_login(const LoginArgs& args) {
  const std::string host = registry::login_host(args.registry);
  registry::Credentials credentials = TRY(read_credentials(args));
  auto transport = registry::make_curl_transport();
  TRY(registry::verify_login(*transport, host, credentials, registry::ClientOptions{args.insecure}));
  TRY(registry::store_login(registry::docker_config_path(), host, credentials));
  fmt::print("Login Succeeded\n");
  return {};
}

Status run_logout(const std::string& registry_arg) {
  const std::string host = registry::login_host(registry_arg);
  bool removed = false;
  for (const auto& file : {registry::docker_config_path(), registry::cbuild_auth_path()}) {
    if (file.empty()) continue;
    auto r = registry::remove_login(file, host);
    if (!r.ok()) return std::move(r).error().wrap("logout from `{}`", host);
    removed = removed || *r;
  }
  if (removed)
    fmt::print("Removing login credentials for {}\n", registry::credential_server_url(host));
  else
    fmt::print("Not logged in to {}\n", registry::credential_server_url(host));
  return {};
}

}  // namespace

void add_login_command(CLI::App& app, Globals& globals) {
  auto args = std::make_shared<LoginArgs>();
  auto* cmd = app.add_subcommand("login", "Log in to a registry (kept in docker's config.json)");
  cmd->add_option("registry", args->registry, "Registry HOST[:PORT] (default: Docker Hub)");
  cmd->add_option("-u,--username", args->username, "Username");
  cmd->add_option("-p,--password", args->password, "Password");
  cmd->add_flag("--password-stdin", args->password_stdin, "Read the password from stdin");
  cmd->add_option("--insecure-registry", args->insecure, "Registry (HOST[:PORT]) to reach over plain HTTP");
  cmd->callback([&globals, args] { finish(globals, run_login(*args)); });

  auto registry_arg = std::make_shared<std::string>();
  auto* out = app.add_subcommand("logout", "Log out from a registry");
  out->add_option("registry", *registry_arg, "Registry HOST[:PORT] (default: Docker Hub)");
  out->callback([&globals, registry_arg] { finish(globals, run_logout(*registry_arg)); });
}

}  // namespace cbuild::cli
