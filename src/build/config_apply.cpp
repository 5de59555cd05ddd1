#include "config_apply.hpp"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cbuild/dockerfile/parser.hpp"
#include "cbuild/image/media_types.hpp"

namespace cbuild::build {
namespace {

namespace df = dockerfile;

std::string join_path(const std::string& base, const std::string& path) {
  if (path.starts_with("/")) return path;
  fs::path p = fs::path(base.empty() ? "/" : base) / path;
  std::string s = p.lexically_normal().string();
  if (s.size() > 1 && s.ends_with("/")) s.pop_back();
  return s;
}

std::vector<std::string> command_args(const df::CommandLine& cl, const plan::Step& step) {
  if (!cl.prepend_shell) return cl.args;
  std::vector<std::string> out = shell_of(step);
  out.push_back(cl.args.empty() ? "" : cl.args.front());
  return out;
}

/// Go's %v of a []string, as BuildKit's history prints VOLUME, SHELL and EXPOSE: "[a b]".
std::string go_list(const std::vector<std::string>& items) { return fmt::format("[{}]", fmt::join(items, " ")); }

/// Go's %q of a []string, as BuildKit's history prints CMD and ENTRYPOINT: `["a" "b"]`.
std::string go_quoted_list(const std::vector<std::string>& items) {
  std::vector<std::string> quoted;
  for (const auto& i : items) quoted.push_back(df::go_quote(i));
  return go_list(quoted);
}

/// `K=V` pairs as BuildKit's history prints ENV and LABEL: unquoted.
std::string pairs(std::string_view keyword, const std::vector<df::KeyValue>& kvs) {
  std::string out(keyword);
  for (const auto& kv : kvs) out += " " + kv.key + "=" + kv.value;
  return out;
}

/// A COPY's or ADD's history text: flags BuildKit records (not --from, --link, --exclude),
/// the sources, heredoc names and the destination.
template <typename Copy>
std::string copy_text(std::string_view keyword, const Copy& c, bool parents) {
  std::string out(keyword);
  if (parents) out += " --parents";
  if (!c.chown.empty()) out += " --chown=" + c.chown;
  if (!c.chmod.empty()) out += " --chmod=" + c.chmod;
  for (const auto& src : c.sources) out += " " + src;
  for (const auto& h : c.contents) out += " <<" + h.name;
  return out + " " + c.dest;
}

/// A RUN's history text: the declared args with the values the step sees ("|N K=V ..."), then
/// the command line.
std::string run_text(const plan::Step& step) {
  std::vector<std::string> words;
  if (!step.declared_args.empty()) {
    const auto vars = plan::step_vars(step.env, step.args);
    words.push_back(fmt::format("|{}", step.declared_args.size()));
    for (const auto& name : step.declared_args) {
      auto it = vars.find(name);
      words.push_back(name + "=" + (it == vars.end() ? std::string() : it->second));
    }
  }
  for (auto& a : run_history_args(step)) words.push_back(std::move(a));
  return fmt::format("RUN {}", fmt::join(words, " "));
}

void add_history(StageState& state, std::string created_by, std::string created, bool empty) {
  image::HistoryEntry h;
  h.created = std::move(created);
  h.created_by = std::move(created_by);
  h.comment = "buildkit.dockerfile.v0";
  h.empty_layer = empty;
  state.config.history.push_back(std::move(h));
}

}  // namespace

std::optional<std::string> created_by(const plan::Step& step) {
  return std::visit(
      [&](const auto& cmd) -> std::optional<std::string> {
        using T = std::decay_t<decltype(cmd)>;
        if constexpr (std::is_same_v<T, df::RunCommand>) {
          return run_text(step) + " # buildkit";
        } else if constexpr (std::is_same_v<T, df::CopyCommand>) {
          return copy_text("COPY", cmd, cmd.parents) + " # buildkit";
        } else if constexpr (std::is_same_v<T, df::AddCommand>) {
          return copy_text("ADD", cmd, false) + " # buildkit";
        } else if constexpr (std::is_same_v<T, df::WorkdirCommand>) {
          return "WORKDIR " + join_path(step.workdir, cmd.path);
        } else if constexpr (std::is_same_v<T, df::EnvCommand>) {
          return pairs("ENV", cmd.env);
        } else if constexpr (std::is_same_v<T, df::LabelCommand>) {
          return pairs("LABEL", cmd.labels);
        } else if constexpr (std::is_same_v<T, df::ArgCommand>) {
          std::vector<std::string> decls;
          for (const auto& a : cmd.args) decls.push_back(a.value ? a.key + "=" + *a.value : a.key);
          return fmt::format("ARG {}", fmt::join(decls, " "));
        } else if constexpr (std::is_same_v<T, df::ExposeCommand>) {
          std::vector<std::string> ports;
          for (const auto& p : cmd.ports)  // checked when planned
            if (auto each = df::exposed_ports(p)) ports.insert(ports.end(), each->begin(), each->end());
          return "EXPOSE " + go_list(ports);
        } else if constexpr (std::is_same_v<T, df::VolumeCommand>) {
          return "VOLUME " + go_list(cmd.volumes);
        } else if constexpr (std::is_same_v<T, df::ShellCommand>) {
          return "SHELL " + go_list(cmd.shell);
        } else if constexpr (std::is_same_v<T, df::CmdCommand>) {
          return "CMD " + go_quoted_list(command_args(cmd.command, step));
        } else if constexpr (std::is_same_v<T, df::EntrypointCommand>) {
          return "ENTRYPOINT " + go_quoted_list(command_args(cmd.command, step));
        } else if constexpr (std::is_same_v<T, df::HealthcheckCommand>) {
          return fmt::format("HEALTHCHECK {{Test:{} Interval:{} Timeout:{} StartPeriod:{} StartInterval:{} Retries:{}}}",
                             go_list(cmd.test), df::format_duration(cmd.interval_ns),
                             df::format_duration(cmd.timeout_ns), df::format_duration(cmd.start_period_ns),
                             df::format_duration(cmd.start_interval_ns), cmd.retries);
        } else if constexpr (std::is_same_v<T, df::UserCommand>) {
          return "USER " + cmd.user;
        } else if constexpr (std::is_same_v<T, df::StopsignalCommand>) {
          return "STOPSIGNAL " + cmd.signal;
        } else if constexpr (std::is_same_v<T, df::MaintainerCommand>) {
          return "MAINTAINER " + cmd.maintainer;
        } else {
          return std::nullopt;  // FROM, ONBUILD: no entry
        }
      },
      step.command);
}

void start_stage_config(StageState& state, const plan::Stage& stage) {
  state.config.os = stage.platform.os.empty() ? state.config.os : stage.platform.os;
  state.config.architecture = stage.platform.arch.empty() ? state.config.architecture : stage.platform.arch;
  state.config.variant = stage.platform.variant;
  state.config.config.on_build.clear();
  state.cmd_set = false;  // a CMD of the stage built on is inherited, not this stage's
}

Status apply_metadata(StageState& state, const plan::Stage&, const plan::Step& step, const std::string& now) {
  auto& c = state.config.config;
  std::visit(
      [&](const auto& cmd) {
        using T = std::decay_t<decltype(cmd)>;
        if constexpr (std::is_same_v<T, df::EnvCommand>) {
          for (const auto& kv : cmd.env) c.set_env(kv.key, kv.value);
        } else if constexpr (std::is_same_v<T, df::LabelCommand>) {
          for (const auto& kv : cmd.labels) c.labels[kv.key] = kv.value;
        } else if constexpr (std::is_same_v<T, df::ExposeCommand>) {
          for (const auto& p : cmd.ports)  // checked when planned
            if (auto ports = df::exposed_ports(p)) c.exposed_ports.insert(ports->begin(), ports->end());
        } else if constexpr (std::is_same_v<T, df::VolumeCommand>) {
          for (const auto& v : cmd.volumes) c.volumes.insert(v);
        } else if constexpr (std::is_same_v<T, df::UserCommand>) {
          c.user = cmd.user;
        } else if constexpr (std::is_same_v<T, df::CmdCommand>) {
          c.cmd = command_args(cmd.command, step);
          if (c.cmd->empty()) c.cmd.reset();  // `CMD []`: none, as BuildKit leaves the field out
          if (cmd.command.prepend_shell) c.args_escaped = true;
          state.cmd_set = true;
        } else if constexpr (std::is_same_v<T, df::EntrypointCommand>) {
          c.entrypoint = command_args(cmd.command, step);
          if (c.entrypoint->empty()) c.entrypoint.reset();  // `ENTRYPOINT []`: none
          if (!state.cmd_set) c.cmd.reset();  // a CMD inherited from the base goes, this stage's stays
        } else if constexpr (std::is_same_v<T, df::ShellCommand>) {
          c.shell = cmd.shell;
        } else if constexpr (std::is_same_v<T, df::StopsignalCommand>) {
          c.stop_signal = cmd.signal;
        } else if constexpr (std::is_same_v<T, df::HealthcheckCommand>) {
          image::HealthConfig h;
          h.test = cmd.test;
          h.interval = cmd.interval_ns;
          h.timeout = cmd.timeout_ns;
          h.start_period = cmd.start_period_ns;
          h.start_interval = cmd.start_interval_ns;
          h.retries = cmd.retries;
          c.healthcheck = h;
        } else if constexpr (std::is_same_v<T, df::OnbuildCommand>) {
          c.on_build.push_back(cmd.expression);
        } else if constexpr (std::is_same_v<T, df::MaintainerCommand>) {
          state.config.author = cmd.maintainer;
        }
      },
      step.command);
  if (auto text = created_by(step)) add_history(state, std::move(*text), state.created.empty() ? now : state.created, true);
  return {};
}

void add_layer_step(StageState& state, const plan::Step& step, const StepResult& result, const std::string& now) {
  if (const auto* w = std::get_if<df::WorkdirCommand>(&step.command))
    state.config.config.working_dir = join_path(step.workdir, w->path);
  bool new_layer = !result.snapshot.empty() && result.snapshot != state.snapshot;
  if (new_layer) {
    image::Descriptor d;
    d.media_type = std::string(image::media::k_oci_layer);
    d.digest = result.diff_id;
    d.size = static_cast<int64_t>(result.size);
    state.layers.push_back({d, std::nullopt});
    state.config.diff_ids.push_back(result.diff_id);
    state.size += result.size;
    state.snapshot = result.snapshot;
    state.created = result.created.empty() ? now : result.created;
  }
  add_history(state, created_by(step).value_or(step.text), result.created.empty() ? now : result.created, !new_layer);
  state.identity = result.identity;
}

void finish_stage_config(StageState& state, const plan::Stage& stage) {
  auto& c = state.config.config;
  c.env.clear();
  for (const auto& [k, v] : stage.env) c.env.push_back(k + "=" + v);
  c.working_dir = stage.config_workdir;
  c.user = stage.user;
}

}  // namespace cbuild::build
