// Parsers for BuildKit `--progress=plain` and legacy `docker build` logs.
#include "cbuild/compare/docker_log.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <map>
#include <optional>

namespace cbuild::compare {

namespace {

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl;
    std::string_view line = text.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    lines.push_back(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return lines;
}

bool starts_with_icase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(text[i])) != std::toupper(static_cast<unsigned char>(prefix[i])))
      return false;
  return true;
}

std::string_view first_word(std::string_view text) {
  size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  size_t end = text.find_first_of(" \t", start);
  return text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
}

std::optional<int> to_int(std::string_view s) {
  int v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "build 2/4" / "stage-1 2/3" / "linux/amd64 build 2/4": the stage label and i.
struct VertexLabel {
  int stage = -1;
  std::string stage_name;
  int index = 0;
};

std::optional<VertexLabel> parse_label(std::string_view label) {
  // A single-stage build shows no stage label: `[2/3]`.
  size_t space = label.rfind(' ');
  std::string_view fraction = space == std::string_view::npos ? label : label.substr(space + 1);
  size_t slash = fraction.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto i = to_int(fraction.substr(0, slash));
  auto n = to_int(fraction.substr(slash + 1));
  if (!i || !n) return std::nullopt;
  VertexLabel out;
  out.index = *i;
  if (space == std::string_view::npos) {
    out.stage = 0;
    return out;
  }
  std::string_view name = label.substr(0, space);
  if (size_t sp = name.rfind(' '); sp != std::string_view::npos) name = name.substr(sp + 1);  // platform prefix
  constexpr std::string_view k_unnamed = "stage-";
  if (name.substr(0, k_unnamed.size()) == k_unnamed) {
    if (auto s = to_int(name.substr(k_unnamed.size()))) {
      out.stage = *s;
      return out;
    }
  }
  out.stage_name = std::string(name);
  return out;
}

}  // namespace

bool is_file_step(std::string_view instruction) {
  static constexpr std::array<std::string_view, 4> k_file_steps = {"RUN", "COPY", "ADD", "WORKDIR"};
  std::string_view word = first_word(instruction);
  return std::any_of(k_file_steps.begin(), k_file_steps.end(),
                     [&](std::string_view k) { return word.size() == k.size() && starts_with_icase(word, k); });
}

DockerBuilder detect_builder(std::string_view text) {
  for (std::string_view line : split_lines(text)) {
    if (line.substr(0, 5) == "Step " && line.find(" : ") != std::string_view::npos) return DockerBuilder::legacy;
    if (line.substr(0, 1) == "#" && line.size() > 1 && std::isdigit(static_cast<unsigned char>(line[1])))
      return DockerBuilder::buildkit;
  }
  return DockerBuilder::buildkit;
}

DockerLog parse_buildkit_log(std::string_view text) {
  DockerLog log;
  log.builder = DockerBuilder::buildkit;
  std::vector<int> order;          // vertex numbers of steps, first appearance
  std::map<int, DockerStep> steps;  // by vertex number
  for (std::string_view line : split_lines(text)) {
    if (line.substr(0, 6) == "ERROR:" || line.substr(0, 7) == "error: ") log.failed = true;
    if (line.size() < 2 || line[0] != '#') continue;
    size_t sp = line.find(' ');
    if (sp == std::string_view::npos) continue;
    auto vertex = to_int(line.substr(1, sp - 1));
    if (!vertex) continue;
    std::string_view rest = line.substr(sp + 1);
    auto found = steps.find(*vertex);
    if (!rest.empty() && rest[0] == '[') {
      size_t close = rest.find(']');
      if (close == std::string_view::npos || found != steps.end()) continue;
      auto label = parse_label(rest.substr(1, close - 1));
      std::string_view instruction = rest.substr(std::min(rest.size(), close + 2));
      if (!label || !is_file_step(instruction)) continue;  // internal vertices and FROM
      DockerStep step;
      step.stage = label->stage;
      step.stage_name = label->stage_name;
      step.index = label->index;
      step.instruction = std::string(instruction);
      steps.emplace(*vertex, std::move(step));
      order.push_back(*vertex);
      continue;
    }
    if (found == steps.end()) continue;
    if (rest == "CACHED") {
      found->second.cached = true;
    } else if (rest.substr(0, 5) == "DONE ") {
      std::string_view secs = rest.substr(5);
      if (!secs.empty() && secs.back() == 's') secs.remove_suffix(1);
      found->second.seconds = std::strtod(std::string(secs).c_str(), nullptr);
    } else if (rest.substr(0, 6) == "ERROR:" || rest.substr(0, 9) == "CANCELED ") {
      found->second.failed = true;
      log.failed = true;
    }
  }
  for (int v : order) log.steps.push_back(std::move(steps.at(v)));
  return log;
}

DockerLog parse_legacy_log(std::string_view text) {
  DockerLog log;
  log.builder = DockerBuilder::legacy;
  int stage = -1;
  int position = 1;  // FROM is step 1 of a stage, as in BuildKit's and cbuild's numbering
  DockerStep* current = nullptr;
  std::string stage_name;
  for (std::string_view line : split_lines(text)) {
    if (line.substr(0, 5) == "Step ") {
      size_t colon = line.find(" : ");
      if (colon == std::string_view::npos) continue;
      std::string_view instruction = line.substr(colon + 3);
      current = nullptr;
      if (starts_with_icase(first_word(instruction), "FROM") && first_word(instruction).size() == 4) {
        ++stage;
        position = 1;
        stage_name.clear();
        // "FROM image AS name"
        std::string lower(instruction);
        std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
        if (size_t as = lower.rfind(" as "); as != std::string::npos) {
          stage_name = std::string(first_word(std::string_view(lower).substr(as + 4)));
        }
        continue;
      }
      if (!is_file_step(instruction)) continue;
      DockerStep step;
      step.stage = std::max(stage, 0);
      step.stage_name = stage_name;
      step.index = ++position;
      step.instruction = std::string(instruction);
      log.steps.push_back(std::move(step));
      current = &log.steps.back();
      continue;
    }
    if (line == " ---> Using cache" && current) current->cached = true;
    bool error = line.substr(0, 12) == "The command " || line.find(" failed: ") != std::string_view::npos ||
                 line.substr(0, 18) == "Error response fro";
    if (error) {
      log.failed = true;
      if (current) current->failed = true;
    }
  }
  return log;
}

DockerLog parse_docker_log(std::string_view text) {
  return detect_builder(text) == DockerBuilder::legacy ? parse_legacy_log(text) : parse_buildkit_log(text);
}

}  // namespace cbuild::compare
