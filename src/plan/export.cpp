// The plan as JSON and as text, and instructions shown after expansion.
#include <fmt/format.h>

#include "plan_internal.hpp"

namespace cbuild::plan {

namespace df = dockerfile;

namespace detail {
namespace {

std::string trimmed(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string shown(const std::string& v) {
  bool plain = !v.empty() && v.find_first_of(" \t\"'\\$") == std::string::npos;
  if (plain) return v;
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string pairs(std::string_view keyword, const std::vector<df::KeyValue>& kvs) {
  std::string out(keyword);
  for (const auto& kv : kvs) out += " " + shown(kv.key) + "=" + shown(kv.value);
  return out;
}

template <typename Copy>
std::string copy_text(std::string_view keyword, const Copy& c, const std::vector<std::string>& extra_flags) {
  std::string out(keyword);
  for (const auto& f : extra_flags) out += " " + f;
  if (!c.chown.empty()) out += " --chown=" + c.chown;
  if (!c.chmod.empty()) out += " --chmod=" + c.chmod;
  if (c.link) out += " --link";
  for (const auto& e : c.excludes) out += " --exclude=" + e;
  for (const auto& s : c.sources) out += " " + s;
  for (const auto& h : c.contents) out += " <<" + h.name;
  return out + " " + c.dest;
}

struct Renderer {
  const std::string& original;
  std::string operator()(const df::LabelCommand& c) const { return pairs("LABEL", c.labels); }
  std::string operator()(const df::EnvCommand& c) const { return pairs("ENV", c.env); }
  std::string operator()(const df::ExposeCommand& c) const {
    std::string out = "EXPOSE";
    for (const auto& p : c.ports) out += " " + p;
    return out;
  }
  std::string operator()(const df::CopyCommand& c) const {
    std::vector<std::string> flags;
    if (!c.from.empty()) flags.push_back("--from=" + c.from);
    if (c.parents) flags.push_back("--parents");
    return copy_text("COPY", c, flags);
  }
  std::string operator()(const df::AddCommand& c) const {
    std::vector<std::string> flags;
    if (!c.checksum.empty()) flags.push_back("--checksum=" + c.checksum);
    if (c.keep_git_dir) flags.push_back("--keep-git-dir");
    return copy_text("ADD", c, flags);
  }
  std::string operator()(const df::VolumeCommand& c) const {
    std::string out = "VOLUME";
    for (const auto& v : c.volumes) out += " " + shown(v);
    return out;
  }
  std::string operator()(const df::UserCommand& c) const { return "USER " + c.user; }
  std::string operator()(const df::WorkdirCommand& c) const { return "WORKDIR " + c.path; }
  std::string operator()(const df::StopsignalCommand& c) const { return "STOPSIGNAL " + c.signal; }
  std::string operator()(const df::ArgCommand& c) const {
    std::string out = "ARG";
    for (const auto& a : c.args) out += " " + a.key + (a.value ? "=" + shown(*a.value) : "");
    return out;
  }
  // Not expanded: shown as written.
  template <typename T>
  std::string operator()(const T&) const {
    auto nl = original.find('\n');
    return trimmed(nl == std::string::npos ? original : original.substr(0, nl));
  }
};

}  // namespace

std::string render(const df::Command& command, const std::string& original) {
  return std::visit(Renderer{original}, command);
}

}  // namespace detail

namespace {

using nlohmann::json;

std::string_view base_kind(StageBase::Kind k) {
  switch (k) {
    case StageBase::Kind::scratch:
      return "scratch";
    case StageBase::Kind::image:
      return "image";
    case StageBase::Kind::stage:
      return "stage";
  }
  return "scratch";
}

json env_json(const EnvList& env) {
  json out = json::array();
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

json args_json(const std::vector<BuildArg>& args) {
  json out = json::array();
  for (const auto& a : args)
    out.push_back({{"name", a.name}, {"value", a.value}, {"cache_relevant", a.cache_relevant}});
  return out;
}

json mount_json(const df::MountSpec& m) {
  json j = {{"type", df::to_string(m.type)}, {"target", m.target}, {"readonly", m.readonly}};
  if (!m.from.empty()) j["from"] = m.from;
  if (!m.source.empty()) j["source"] = m.source;
  if (!m.id.empty()) j["id"] = m.id;
  if (m.type == df::MountType::cache) j["sharing"] = df::to_string(m.sharing);
  if (m.required) j["required"] = true;
  if (m.mode) j["mode"] = fmt::format("{:04o}", *m.mode);
  if (m.uid) j["uid"] = *m.uid;
  if (m.gid) j["gid"] = *m.gid;
  if (m.size) j["size"] = *m.size;
  if (m.env) j["env"] = *m.env;
  return j;
}

json step_json(const Step& s) {
  json deps = {{"parent", s.deps.parent},
               {"stages", s.deps.stages},
               {"images", s.deps.images},
               {"context", s.deps.context_paths},
               {"urls", s.deps.urls}};
  json j = {{"index", s.index},
            {"line", s.line},
            {"keyword", s.keyword},
            {"text", s.text},
            {"original", s.original},
            {"env", env_json(s.env)},
            {"args", args_json(s.args)},
            {"workdir", s.workdir},
            {"user", s.user},
            {"shell", s.shell},
            {"deps", deps}};
  if (s.from_onbuild) j["from_onbuild"] = true;
  if (const auto* run = std::get_if<df::RunCommand>(&s.command)) {
    json mounts = json::array();
    for (const auto& m : run->mounts) mounts.push_back(mount_json(m));
    j["mounts"] = mounts;
    j["network"] = run->network;
    j["security"] = run->security;
  }
  return j;
}

}  // namespace

nlohmann::json to_json(const Plan& plan) {
  json stages = json::array();
  for (const Stage& st : plan.stages) {
    json base = {{"kind", base_kind(st.base.kind)}};
    if (st.base.kind == StageBase::Kind::image) base["image"] = st.base.image;
    if (st.base.kind == StageBase::Kind::stage) base["stage"] = st.base.stage;
    json steps = json::array();
    for (const Step& s : st.steps) steps.push_back(step_json(s));
    stages.push_back({{"index", st.index},
                      {"name", st.name},
                      {"line", st.line},
                      {"base", base},
                      {"from", st.base_name},
                      {"platform", st.platform.str()},
                      {"base_config_known", st.base_config_known},
                      {"onbuild", st.onbuild},
                      {"env", env_json(st.env)},
                      {"workdir", st.workdir},
                      {"user", st.user},
                      {"steps", steps}});
  }
  return {{"version", 1},
          {"target", plan.target},
          {"build_platform", plan.build_platform.str()},
          {"platform", plan.target_platform.str()},
          {"stages", stages},
          {"warnings", plan.warnings}};
}

namespace {

std::string stage_label(const Plan& plan, int index) {
  const Stage* s = plan.stage(index);
  return s && !s->name.empty() ? fmt::format("stage {} ({})", index, s->name)
                               : fmt::format("stage {}", index);
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (const auto& x : v) out += (out.empty() ? "" : std::string(sep)) + x;
  return out;
}

std::string needs_text(const Plan& plan, const Step& s) {
  std::vector<std::string> parts;
  parts.push_back(s.deps.parent < 0 ? "base" : fmt::format("step {}", s.deps.parent + 1));
  for (int i : s.deps.stages) parts.push_back(stage_label(plan, i));
  for (const auto& i : s.deps.images) parts.push_back("image " + i);
  if (!s.deps.context_paths.empty()) parts.push_back("context: " + join(s.deps.context_paths, ", "));
  if (!s.deps.urls.empty()) parts.push_back("url: " + join(s.deps.urls, ", "));
  return join(parts, "; ");
}

}  // namespace

std::string to_text(const Plan& plan) {
  std::string out =
      fmt::format("target: {}\nplatform: {}\n", stage_label(plan, plan.target), plan.target_platform.str());
  for (const Stage& st : plan.stages) {
    std::string base;
    switch (st.base.kind) {
      case StageBase::Kind::scratch:
        base = "scratch";
        break;
      case StageBase::Kind::image:
        base = "image " + st.base.image;
        break;
      case StageBase::Kind::stage:
        base = stage_label(plan, st.base.stage);
        break;
    }
    out += fmt::format("\n{}: FROM {} [{}]  line {}{}\n", stage_label(plan, st.index), base,
                       st.platform.str(), st.line, st.base_config_known ? "" : "  (base config unknown)");
    for (const Step& s : st.steps) {
      out += fmt::format("  {:>2}. {}{}\n", s.index + 1, s.text, s.from_onbuild ? "  (ONBUILD trigger)" : "");
      out += fmt::format("      line {}; needs: {}\n", s.line, needs_text(plan, s));
      if (const auto* run = std::get_if<df::RunCommand>(&s.command)) {
        for (const auto& m : run->mounts) out += fmt::format("      mount: {}\n", mount_json(m).dump());
      }
      std::vector<std::string> args;
      for (const auto& a : s.args)
        args.push_back(a.name + "=" + a.value + (a.cache_relevant ? "" : " (not cached)"));
      if (!args.empty() && (s.keyword == "RUN")) out += "      args: " + join(args, " ") + "\n";
    }
    if (!st.onbuild.empty()) out += "  onbuild: " + join(st.onbuild, " | ") + "\n";
  }
  for (const auto& w : plan.warnings) out += "\n" + w + "\n";
  return out;
}

}  // namespace cbuild::plan
