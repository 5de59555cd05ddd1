// `cbuild plan -f FILE [--target T] [--build-arg K[=V]]... [--platform P] [--format text|json]`:
// the resolved build graph (stages, expanded steps, dependencies) the builder executes.
#include <fmt/core.h>

#include <cstdlib>
#include <iostream>
#include <iterator>

#include "cbuild/dockerfile/parser.hpp"
#include "cbuild/plan/plan.hpp"
#include "cbuild/util/fs.hpp"
#include "commands.hpp"

namespace cbuild::cli {
namespace {

struct PlanCliOptions {
  std::string file = "Dockerfile";
  std::string target;
  std::vector<std::string> build_args;
  std::string platform;
  std::string format = "text";
};

// `K=V`, or `K` alone: the value comes from the environment, and an unset variable is
// skipped, as docker does.
std::map<std::string, std::string> build_arg_map(const std::vector<std::string>& given) {
  std::map<std::string, std::string> out;
  for (const std::string& arg : given) {
    auto eq = arg.find('=');
    if (eq != std::string::npos) {
      out[arg.substr(0, eq)] = arg.substr(eq + 1);
    } else if (const char* value = std::getenv(arg.c_str())) {
      out[arg] = value;
    }
  }
  return out;
}

Status run_plan(const PlanCliOptions& o) {
  std::string text;
  if (o.file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), {});
  } else {
    text = TRY(read_file(o.file));
  }
  auto file = TRY(dockerfile::parse(text, o.file));
  for (const auto& w : file.warnings) fmt::print(stderr, "{}\n", w);
  plan::PlanOptions options;
  options.target = o.target;
  options.build_args = build_arg_map(o.build_args);
  options.platform = o.platform;
  auto result = TRY(plan::make_plan(file, options));
  if (o.format == "json") {
    fmt::print("{}\n", plan::to_json(result).dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
  } else {
    fmt::print("{}", plan::to_text(result));
  }
  return {};
}

}  // namespace

void add_plan_command(CLI::App& app, Globals& globals) {
  auto opts = std::make_shared<PlanCliOptions>();
  auto* cmd = app.add_subcommand("plan", "Print the resolved build graph of a Dockerfile");
  cmd->add_option("-f,--file", opts->file, "Dockerfile to plan (- for stdin)");
  cmd->add_option("--target", opts->target, "Stage to build (default: the last)");
  cmd->add_option("--build-arg", opts->build_args, "Build argument K=V (K alone: from the environment)");
  cmd->add_option("--platform", opts->platform, "Target platform (native only)");
  cmd->add_option("--format", opts->format, "Output format")->check(CLI::IsMember({"text", "json"}));
  cmd->callback([opts, &globals] { finish(globals, run_plan(*opts)); });
}

}  // namespace cbuild::cli
