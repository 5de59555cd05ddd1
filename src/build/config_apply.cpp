#include "config_apply.hpp"

#include <fmt/format.h>

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
  std::vector<std::string> out = step.shell.empty() ? std::vector<std::string>{"/bin/sh", "-c"} : step.shell;
  out.push_back(cl.args.empty() ? "" : cl.args.front());
  return out;
}

std::string port_with_proto(std::string p) {
  return p.find('/') == std::string::npos ? p + "/tcp" : p;
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

void start_stage_config(StageState& state, const plan::Stage& stage) {
  state.config.os = stage.platform.os.empty() ? state.config.os : stage.platform.os;
  state.config.architecture = stage.platform.arch.empty() ? state.config.architecture : stage.platform.arch;
  state.config.variant = stage.platform.variant;
  state.config.config.on_build.clear();
}

Status apply_metadata(StageState& state, const plan::Stage&, const plan::Step& step, const std::string& now) {
  auto& c = state.config.config;
  std::string created_by = step.text;
  bool history = true;
  std::visit(
      [&](const auto& cmd) {
        using T = std::decay_t<decltype(cmd)>;
        if constexpr (std::is_same_v<T, df::EnvCommand>) {
          for (const auto& kv : cmd.env) c.set_env(kv.key, kv.value);
        } else if constexpr (std::is_same_v<T, df::LabelCommand>) {
          for (const auto& kv : cmd.labels) c.labels[kv.key] = kv.value;
        } else if constexpr (std::is_same_v<T, df::ExposeCommand>) {
          for (const auto& p : cmd.ports) c.exposed_ports.insert(port_with_proto(p));
        } else if constexpr (std::is_same_v<T, df::VolumeCommand>) {
          for (const auto& v : cmd.volumes) c.volumes.insert(v);
        } else if constexpr (std::is_same_v<T, df::UserCommand>) {
          c.user = cmd.user;
        } else if constexpr (std::is_same_v<T, df::CmdCommand>) {
          c.cmd = command_args(cmd.command, step);
          if (cmd.command.prepend_shell) c.args_escaped = true;
        } else if constexpr (std::is_same_v<T, df::EntrypointCommand>) {
          c.entrypoint = command_args(cmd.command, step);
          c.cmd.reset();  // ENTRYPOINT resets a CMD inherited from the base (a later CMD sets it again)
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
        } else {
          history = false;  // ARG (and anything else without a config effect)
        }
      },
      step.command);
  if (history) add_history(state, created_by, state.created.empty() ? now : state.created, true);
  return {};
}

void add_layer_step(StageState& state, const plan::Step& step, const StepResult& result, const std::string& now) {
  if (const auto* w = std::get_if<df::WorkdirCommand>(&step.command))
    state.config.config.working_dir = join_path(step.workdir, w->path);
  std::string created_by = step.text + (step.keyword == "WORKDIR" ? "" : " # buildkit");
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
  add_history(state, created_by, result.created.empty() ? now : result.created, !new_layer);
  state.identity = result.identity;
}

void finish_stage_config(StageState& state, const plan::Stage& stage) {
  auto& c = state.config.config;
  c.env.clear();
  for (const auto& [k, v] : stage.env) c.env.push_back(k + "=" + v);
  c.working_dir = stage.workdir;
  c.user = stage.user;
}

}  // namespace cbuild::build
