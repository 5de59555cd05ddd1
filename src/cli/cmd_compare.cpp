// `cbuild compare [OPTIONS] CONTEXT`: build a context with cbuild and with docker across a
// sequence of states and show, step by step, what each tool took from its cache.
#include <fmt/core.h>

#include <iostream>

#include "cbuild/compare/session.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

constexpr const char* k_footer = R"(States: with --git-range A..B, commit A and then each commit of A..B, oldest first,
checked out one by one in a temporary clone of the repository holding CONTEXT. With
--edits SCRIPT, the context is copied to a temporary directory and built as it is
(state `base`); then each section of SCRIPT is run with `bash -e` in the copy and the
result built. Edits accumulate. SCRIPT format (version 1):
    # comment lines before the first section are ignored
    --- state edit-source
    echo 'int x = 2;' > src/main.c
    --- state touch-only
    touch src/main.c
$COMPARE_STATE holds the state's name. With neither, CONTEXT is built once.
Both tools get the same -f, --target and --build-arg and tag the result cbuild-compare:latest.
Docker runs as `docker build --progress=plain` with DOCKER_BUILDKIT=1 (buildkit) or 0
(legacy); --docker-log FILE (one per state, in order) reads recorded logs instead.
Steps are paired by stage and instruction text; docker's internal and FROM steps are left out.
Exit status: 0 when every build succeeded, 1 when one failed or no docker daemon answers.)";

struct CompareArgs {
  std::string context;
  std::string file;
  std::string target;
  std::vector<std::string> build_args;
  std::string edits;
  std::string git_range;
  std::string builder = "buildkit";
  std::vector<std::string> docker_logs;
  std::string docker = "docker";
  std::string format = "table";
};

Status run_compare(Globals& globals, const CompareArgs& args) {
  compare::CompareOptions o;
  o.context = args.context;
  o.dockerfile = args.file;
  o.target = args.target;
  o.build_args = args.build_args;
  o.edits = args.edits;
  o.git_range = args.git_range;
  o.builder = args.builder == "legacy" ? compare::DockerBuilder::legacy : compare::DockerBuilder::buildkit;
  for (const auto& l : args.docker_logs) o.docker_logs.emplace_back(l);
  o.docker = args.docker;
  o.root = globals.root;
  std::error_code ec;
  o.cbuild = std::filesystem::read_symlink("/proc/self/exe", ec).string();
  if (ec) return make_error("read `/proc/self/exe`: {}", ec.message());
  auto result = TRY(compare::run_comparison(o, std::cerr));
  std::cout << (args.format == "json" ? compare::render_json(result) : compare::render_table(result));
  for (const auto& s : result.states)
    if (!s.cbuild.ok || !s.docker.ok) return make_error("state `{}`: a build failed (see above)", s.name);
  return {};
}

}  // namespace

void add_compare_command(CLI::App& app, Globals& globals) {
  auto* cmd = app.add_subcommand("compare", "Compare cache hits and build times of cbuild and docker build");
  auto args = std::make_shared<CompareArgs>();
  cmd->add_option("-f,--file", args->file, "Dockerfile (default: CONTEXT/Dockerfile)");
  cmd->add_option("--target", args->target, "Build this stage");
  cmd->add_option("--build-arg", args->build_args, "Build argument NAME=VALUE (repeatable)");
  auto* edits = cmd->add_option("--edits", args->edits, "Edit script giving the states (see below)");
  cmd->add_option("--git-range", args->git_range, "Commits A..B giving the states")->excludes(edits);
  cmd->add_option("--docker-builder", args->builder, "Docker builder")
      ->check(CLI::IsMember({"buildkit", "legacy"}))
      ->capture_default_str();
  cmd->add_option("--docker-log", args->docker_logs, "Recorded docker build log, one per state (docker not run)");
  cmd->add_option("--docker", args->docker, "Docker client to run")->capture_default_str();
  cmd->add_option("--format", args->format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  cmd->add_option("context", args->context, "Build context directory")->required();
  cmd->footer(k_footer);
  cmd->callback([&globals, args] { finish(globals, run_compare(globals, *args)); });
}

}  // namespace cbuild::cli
