// `cbuild compare`: states, running both tools, collecting their steps.
#include "cbuild/compare/session.hpp"

#include <chrono>
#include <functional>
#include <cstdlib>
#include <ostream>

#include "cbuild/util/fs.hpp"
#include "process.hpp"

namespace cbuild::compare {

namespace {

using Clock = std::chrono::steady_clock;

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  return s;
}

/// Where states are built: a temporary copy of the context (or clone of its repository),
/// with a function that brings it to each state.
struct Workspace {
  TempDir temp;
  fs::path base;     ///< the root of the copy (the clone's work tree, or the context copy)
  fs::path context;  ///< the context inside the copy
  std::vector<std::string> names;
  std::function<Status(size_t)> enter;  ///< brings the copy to state i
};

// A -f path inside `original` is mapped into `copy`; elsewhere it is used as is.
std::string map_dockerfile(const std::string& file, const fs::path& original, const fs::path& copy) {
  if (file.empty() || file == "-") return file;
  fs::path abs = fs::weakly_canonical(fs::absolute(file));
  fs::path rel = abs.lexically_relative(fs::weakly_canonical(original));
  if (rel.empty() || *rel.begin() == "..") return abs.string();
  return (copy / rel).string();
}

Result<Workspace> git_workspace(const CompareOptions& o, std::string& dockerfile) {
  auto dots = o.git_range.find("..");
  if (dots == std::string::npos || dots == 0 || dots + 2 >= o.git_range.size())
    return make_error(ExitCode::usage, "--git-range `{}`: expected A..B", o.git_range);
  std::string ctx = o.context.string();
  fs::path top = trim(TRY(capture({"git", "-C", ctx, "rev-parse", "--show-toplevel"})));
  std::string prefix = trim(TRY(capture({"git", "-C", ctx, "rev-parse", "--show-prefix"})));
  std::string from = o.git_range.substr(0, dots), to = o.git_range.substr(dots + 2);
  std::vector<std::string> commits = {trim(TRY(capture({"git", "-C", ctx, "rev-parse", "--verify", from + "^{commit}"})))};
  std::string list = TRY(capture({"git", "-C", ctx, "rev-list", "--reverse", from + ".." + to}));
  for (size_t start = 0; start < list.size();) {
    size_t nl = list.find('\n', start);
    std::string c = list.substr(start, nl - start);
    if (!c.empty()) commits.push_back(c);
    if (nl == std::string::npos) break;
    start = nl + 1;
  }
  Workspace w{TRY(TempDir::create("cbuild-compare-")), {}, {}, {}, {}};
  w.base = w.temp.path() / "repo";
  w.context = w.base / prefix;
  TRY(capture({"git", "clone", "-q", "--no-checkout", top.string(), w.base.string()}));
  for (const auto& c : commits) {
    std::string subject = trim(TRY(capture({"git", "-C", ctx, "log", "-1", "--format=%h %s", c})));
    w.names.push_back(subject);
  }
  dockerfile = map_dockerfile(dockerfile, top, w.base);
  fs::path repo = w.base;
  w.enter = [repo, commits](size_t i) -> Status {
    TRY(capture({"git", "-C", repo.string(), "checkout", "-q", "--detach", commits[i]}));
    return {};
  };
  return w;
}

Result<Workspace> edits_workspace(const CompareOptions& o, std::string& dockerfile) {
  auto text = TRY(read_file(o.edits));
  auto states = TRY(parse_edit_script(text));
  Workspace w{TRY(TempDir::create("cbuild-compare-")), {}, {}, {"base"}, {}};
  w.base = w.context = w.temp.path() / "context";
  std::error_code ec;
  fs::copy(o.context, w.context, fs::copy_options::recursive | fs::copy_options::copy_symlinks, ec);
  if (ec) return make_error("copy `{}` to `{}`: {}", o.context.string(), w.context.string(), ec.message());
  for (const auto& s : states) w.names.push_back(s.name);
  dockerfile = map_dockerfile(dockerfile, o.context, w.context);
  fs::path dir = w.context;
  fs::path log = w.temp.path() / "edit.log";
  w.enter = [dir, log, states](size_t i) -> Status {
    if (i == 0) return {};
    const EditState& s = states[i - 1];
    ProcessSpec spec{{"bash", "-e", "-c", s.commands}, dir, {{"COMPARE_STATE", s.name}}, log};
    int rc = TRY(run_process(spec));
    if (rc != 0) {
      auto out = read_file(log);
      return make_error("edit script, state `{}`: exited with {}: {}", s.name, rc, tail_lines(out ? *out : "", 5));
    }
    return {};
  };
  return w;
}

// Flags both tools take the same way.
std::vector<std::string> shared_flags(const CompareOptions& o, const std::string& dockerfile) {
  std::vector<std::string> flags;
  if (!dockerfile.empty()) flags.insert(flags.end(), {"-f", dockerfile});
  if (!o.target.empty()) flags.insert(flags.end(), {"--target", o.target});
  for (const auto& a : o.build_args) flags.insert(flags.end(), {"--build-arg", a});
  flags.insert(flags.end(), {"-t", o.tag});
  return flags;
}

ToolRun timed(const ProcessSpec& spec) {
  ToolRun run;
  auto start = Clock::now();
  auto rc = run_process(spec);
  run.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (!rc || *rc != 0) {
    auto out = read_file(spec.output);
    run.ok = false;
    run.error = rc ? fmt::format("`{}` exited with {}: {}", spec.argv[0], *rc, tail_lines(out ? *out : "", 8))
                   : rc.error().message;
  }
  return run;
}

std::vector<CbuildStep> run_cbuild(const CompareOptions& o, const std::string& dockerfile, const fs::path& context,
                                   const fs::path& scratch, ToolRun& run) {
  std::vector<std::string> argv = {o.cbuild};
  if (!o.root.empty()) argv.insert(argv.end(), {"--root", o.root});
  fs::path report = scratch / "report.json";
  std::error_code ec;
  fs::remove(report, ec);
  argv.insert(argv.end(), {"build", "--progress=plain", "--report", report.string()});
  auto flags = shared_flags(o, dockerfile);
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(context.string());
  run = timed({argv, {}, {}, scratch / "cbuild.log"});
  auto text = read_file(report);
  if (!text) return {};
  auto parsed = parse_cbuild_report(*text);
  if (!parsed) {
    run.ok = false;
    run.error = parsed.error().message;
    return {};
  }
  return parsed->steps;
}

std::vector<DockerStep> run_docker(const CompareOptions& o, const std::string& dockerfile, const fs::path& context,
                                   const fs::path& scratch, ToolRun& run) {
  std::vector<std::string> argv = {o.docker, "build", "--progress=plain"};
  auto flags = shared_flags(o, dockerfile);
  argv.insert(argv.end(), flags.begin(), flags.end());
  argv.push_back(context.string());
  fs::path log = scratch / "docker.log";
  std::string buildkit = o.builder == DockerBuilder::buildkit ? "1" : "0";
  run = timed({argv, {}, {{"DOCKER_BUILDKIT", buildkit}}, log});
  auto text = read_file(log);
  if (!text) return {};
  auto parsed = o.builder == DockerBuilder::buildkit ? parse_buildkit_log(*text) : parse_legacy_log(*text);
  return parsed.steps;
}

Result<std::vector<DockerStep>> recorded_docker(const fs::path& file, ToolRun& run, DockerBuilder& builder) {
  auto text = TRY(read_file(file));
  DockerLog log = parse_docker_log(text);
  builder = log.builder;
  run.ok = !log.failed;
  if (log.failed) run.error = fmt::format("the log `{}` shows a failed build", file.string());
  for (const auto& s : log.steps) run.seconds += s.seconds;
  return log.steps;
}

}  // namespace

Result<std::vector<EditState>> parse_edit_script(std::string_view text) {
  std::vector<EditState> states;
  constexpr std::string_view k_marker = "--- state";
  size_t start = 0;
  int line_no = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    std::string_view line = text.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? text.size() : nl + 1;
    ++line_no;
    if (line.substr(0, k_marker.size()) == k_marker) {
      std::string name = trim(std::string(line.substr(k_marker.size())));
      name.erase(0, name.find_first_not_of(" \t"));
      if (name.empty()) return make_error(ExitCode::bad_input, "edit script:{}: `--- state` needs a NAME", line_no);
      states.push_back({name, ""});
    } else if (!states.empty()) {
      states.back().commands += std::string(line) + "\n";
    }
  }
  if (states.empty()) return make_error(ExitCode::bad_input, "edit script: no `--- state NAME` section");
  return states;
}

Status check_docker(const std::string& docker) {
  auto temp = TRY(TempDir::create("cbuild-compare-docker-"));
  ProcessSpec spec{{docker, "version", "--format", "{{.Server.Version}}"}, {}, {}, temp.path() / "out"};
  int rc = TRY(run_process(spec));
  if (rc == 127)
    return make_error(ExitCode::not_found,
                      "docker client `{}` not found: install docker (Debian: apt-get install docker.io), "
                      "pass --docker PATH, or compare with a recorded log (--docker-log FILE)",
                      docker);
  if (rc != 0) {
    const char* host = std::getenv("DOCKER_HOST");
    auto out = read_file(spec.output);
    return make_error(ExitCode::failure,
                      "no docker daemon answers at `{}` ({}): start one as root with `dockerd &` "
                      "(or `systemctl start docker`), or compare with a recorded log (--docker-log FILE)",
                      host && *host ? host : "unix:///var/run/docker.sock", tail_lines(out ? *out : "", 1));
  }
  return {};
}

Result<Comparison> run_comparison(const CompareOptions& o, std::ostream& progress) {
  if (!o.edits.empty() && !o.git_range.empty())
    return make_error(ExitCode::usage, "give --edits or --git-range, not both");
  bool recorded = !o.docker_logs.empty();
  if (!recorded) TRY(check_docker(o.docker));
  std::string dockerfile = o.dockerfile;
  Workspace w{TRY(TempDir::create("cbuild-compare-")), {}, o.context, {"current"}, [](size_t) { return Status{}; }};
  if (!o.git_range.empty()) w = TRY(git_workspace(o, dockerfile));
  if (!o.edits.empty()) w = TRY(edits_workspace(o, dockerfile));
  if (recorded && o.docker_logs.size() != w.names.size())
    return make_error(ExitCode::usage, "{} --docker-log files for {} states", o.docker_logs.size(), w.names.size());
  auto scratch = TRY(TempDir::create("cbuild-compare-logs-"));
  Comparison c;
  c.builder = o.builder;
  c.recorded = recorded;
  for (size_t i = 0; i < w.names.size(); ++i) {
    StateResult state;
    state.name = w.names[i];
    progress << fmt::format("state {}/{} `{}`: ", i + 1, w.names.size(), state.name) << std::flush;
    TRY(w.enter(i));
    progress << "cbuild" << std::flush;
    auto cb = run_cbuild(o, dockerfile, w.context, scratch.path(), state.cbuild);
    progress << fmt::format(" {:.2f}s, docker", state.cbuild.seconds) << std::flush;
    std::vector<DockerStep> dk;
    if (recorded)
      dk = TRY(recorded_docker(o.docker_logs[i], state.docker, c.builder));
    else
      dk = run_docker(o, dockerfile, w.context, scratch.path(), state.docker);
    progress << fmt::format(" {:.2f}s\n", state.docker.seconds) << std::flush;
    state.rows = match_steps(cb, dk);
    c.states.push_back(std::move(state));
  }
  return c;
}

}  // namespace cbuild::compare
