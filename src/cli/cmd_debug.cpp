// Hidden debugging subcommands for manual testing of the executor.
#include "cbuild/executor/container.hpp"
#include "cbuild/executor/interrupt.hpp"
#include "cbuild/executor/userns.hpp"
#include "cbuild/util/fs.hpp"
#include "commands.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <fmt/core.h>

namespace cbuild::cli {
namespace {

struct DebugRunOptions {
  std::string rootfs;
  std::string network = "host";
  std::string user;
  std::string workdir = "/";
  std::vector<std::string> env;
  std::vector<std::string> command;
};

// The rootfs stays untouched: the command runs on an overlay with a throw-away upperdir.
Status debug_run(const DebugRunOptions& o) {
  using namespace executor;
  install_interrupt_handlers();
  const IdMap& map = host_id_map();
  if (!map.warning.empty()) fmt::print(stderr, "{}\n", map.warning);
  TempDir scratch = TRY(TempDir::create("cbuild-debug-"));
  if (::chmod(scratch.path().c_str(), 0711) != 0)
    return errno_error(fmt::format("chmod `{}`", scratch.path().string()));
  OverlayRootfs ovl{{fs::absolute(o.rootfs)}, scratch.path() / "upper", scratch.path() / "work"};
  for (const auto& dir : {ovl.upperdir, ovl.workdir}) {
    TRY(make_dirs(dir));
    if (::geteuid() == 0 && ::chown(dir.c_str(), *map.host_uid(0), *map.host_gid(0)) != 0)
      return errno_error(fmt::format("chown `{}`", dir.string()));
  }
  ExecSpec spec;
  spec.rootfs = ovl;
  spec.args = o.command;
  spec.env = o.env;
  spec.user = o.user;
  spec.cwd = o.workdir;
  spec.network = o.network == "none" ? NetworkMode::none : NetworkMode::host;
  spec.stdout_fd = 1;
  spec.stderr_fd = 2;
  auto result = run_container(spec);
  Status cleanup = remove_tree_mapped(ovl.upperdir);
  if (cleanup) cleanup = remove_tree_mapped(ovl.workdir);
  if (!result) return std::move(result).error();
  if (!cleanup) return std::move(cleanup).error();
  if (result->exit_code != 0)
    return make_error(ExitCode::step_failed, "{}", failure_message(*result, fmt::format("{}", fmt::join(o.command, " "))));
  return {};
}

}  // namespace

void add_debug_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("debug", "Debugging tools")->group("");
  cmd->require_subcommand(1);
  auto opts = std::make_shared<DebugRunOptions>();
  auto* run = cmd->add_subcommand("run", "Run a command in a container on ROOTFS (changes discarded)");
  run->add_option("--rootfs", opts->rootfs, "Root filesystem directory")->required();
  run->add_option("--network", opts->network, "host or none")->check(CLI::IsMember({"host", "none"}));
  run->add_option("--user", opts->user, "USER spec");
  run->add_option("--workdir", opts->workdir, "Working directory");
  run->add_option("--env,-e", opts->env, "K=V");
  run->add_option("command", opts->command, "Command and arguments")->required();
  run->callback([&globals, opts] { finish(globals, debug_run(*opts)); });
}

}  // namespace cbuild::cli
