// The comparison as a table and as JSON.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

#include "cbuild/compare/session.hpp"

namespace cbuild::compare {

namespace {

std::string builder_name(DockerBuilder b) { return b == DockerBuilder::buildkit ? "buildkit" : "legacy"; }

std::string step_label(const StepRow& r) {
  std::string stage = r.stage_name.empty() ? fmt::format("stage-{}", r.stage) : r.stage_name;
  return fmt::format("[{} {}] {}", stage, r.index, r.instruction);
}

template <typename Step>
std::string verdict(const std::optional<Step>& s) {
  if (!s) return "-";
  if constexpr (std::is_same_v<Step, DockerStep>)
    if (s->failed) return "FAIL";
  return s->cached ? "hit" : "miss";
}

std::string clip(const std::string& text, size_t width) {
  return text.size() <= width ? text : text.substr(0, width - 3) + "...";
}

struct Counts {
  int steps = 0, hits = 0;
};

Counts cbuild_counts(const StateResult& s) {
  Counts n;
  for (const auto& r : s.rows)
    if (r.cbuild) ++n.steps, n.hits += r.cbuild->cached;
  return n;
}

Counts docker_counts(const StateResult& s) {
  Counts n;
  for (const auto& r : s.rows)
    if (r.docker) ++n.steps, n.hits += r.docker->cached;
  return n;
}

nlohmann::json tool_json(const ToolRun& run, Counts n) {
  return {{"ok", run.ok}, {"seconds", run.seconds}, {"error", run.error}, {"steps", n.steps}, {"hits", n.hits}};
}

nlohmann::json totals_json(const ToolTotals& t) {
  return {{"steps", t.steps}, {"hits", t.hits}, {"hit_rate", t.hit_rate()}, {"seconds", t.seconds}};
}

}  // namespace

ToolTotals cbuild_totals(const Comparison& c) {
  ToolTotals t;
  for (const auto& s : c.states) {
    Counts n = cbuild_counts(s);
    t.steps += n.steps, t.hits += n.hits, t.seconds += s.cbuild.seconds;
  }
  return t;
}

ToolTotals docker_totals(const Comparison& c) {
  ToolTotals t;
  for (const auto& s : c.states) {
    Counts n = docker_counts(s);
    t.steps += n.steps, t.hits += n.hits, t.seconds += s.docker.seconds;
  }
  return t;
}

std::string render_table(const Comparison& c) {
  constexpr size_t k_step_width = 48;
  std::string docker = "docker " + builder_name(c.builder);
  std::string out;
  for (size_t i = 0; i < c.states.size(); ++i) {
    const StateResult& s = c.states[i];
    out += fmt::format("state {}/{}: {}\n", i + 1, c.states.size(), s.name);
    out += fmt::format("  {:<{}}  {:<6}  {:<6}  {}\n", "STEP", k_step_width, "CBUILD", "DOCKER", "CBUILD MISS REASON");
    for (const auto& r : s.rows)
      out += fmt::format("  {:<{}}  {:<6}  {:<6}  {}\n", clip(step_label(r), k_step_width), k_step_width,
                         verdict(r.cbuild), verdict(r.docker), r.cbuild ? r.cbuild->reason : "");
    Counts cb = cbuild_counts(s), dk = docker_counts(s);
    out += fmt::format("  cbuild {}/{} hits in {:.2f}s; {} {}/{} hits in {:.2f}s{}\n", cb.hits, cb.steps,
                       s.cbuild.seconds, docker, dk.hits, dk.steps, s.docker.seconds,
                       c.recorded ? " (recorded log)" : "");
    if (!s.cbuild.ok) out += "  cbuild FAILED: " + s.cbuild.error + "\n";
    if (!s.docker.ok) out += "  docker FAILED: " + s.docker.error + "\n";
    out += "\n";
  }
  ToolTotals cb = cbuild_totals(c), dk = docker_totals(c);
  out += fmt::format("{:<16}  {:>9}  {:>8}  {:>9}\n", "TOOL", "HITS", "HIT RATE", "TIME");
  out += fmt::format("{:<16}  {:>9}  {:>7.0f}%  {:>8.2f}s\n", "cbuild", fmt::format("{}/{}", cb.hits, cb.steps),
                     cb.hit_rate() * 100, cb.seconds);
  out += fmt::format("{:<16}  {:>9}  {:>7.0f}%  {:>8.2f}s\n", docker, fmt::format("{}/{}", dk.hits, dk.steps),
                     dk.hit_rate() * 100, dk.seconds);
  return out;
}

std::string render_json(const Comparison& c) {
  nlohmann::json states = nlohmann::json::array();
  for (const auto& s : c.states) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& r : s.rows) {
      nlohmann::json row = {{"stage", r.stage},
                            {"stage_name", r.stage_name},
                            {"index", r.index},
                            {"instruction", r.instruction},
                            {"cbuild", nullptr},
                            {"docker", nullptr}};
      if (r.cbuild)
        row["cbuild"] = {{"cached", r.cbuild->cached}, {"reason", r.cbuild->reason}, {"seconds", r.cbuild->seconds}};
      if (r.docker)
        row["docker"] = {{"cached", r.docker->cached},
                         {"failed", r.docker->failed},
                         {"instruction", r.docker->instruction},
                         {"seconds", r.docker->seconds}};
      steps.push_back(std::move(row));
    }
    states.push_back({{"name", s.name},
                      {"cbuild", tool_json(s.cbuild, cbuild_counts(s))},
                      {"docker", tool_json(s.docker, docker_counts(s))},
                      {"steps", std::move(steps)}});
  }
  nlohmann::json j = {{"version", 1},
                      {"docker_builder", builder_name(c.builder)},
                      {"docker_recorded", c.recorded},
                      {"states", std::move(states)},
                      {"totals", {{"cbuild", totals_json(cbuild_totals(c))}, {"docker", totals_json(docker_totals(c))}}}};
  return j.dump(2) + "\n";
}

}  // namespace cbuild::compare
