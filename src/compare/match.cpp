// Matching cbuild's report steps with a docker log's steps.
#include "cbuild/compare/match.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdlib>
#include <functional>

namespace cbuild::compare {

namespace {

bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// Splits `text` into literal pieces around variable references ($NAME, ${...}); a
// reference becomes a boundary between pieces. Returns false when there is none.
bool split_on_variables(std::string_view text, std::vector<std::string>& pieces) {
  pieces.assign(1, "");
  bool any = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      pieces.back() += text.substr(i, 2);
      ++i;
      continue;
    }
    if (c == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      size_t close = text.find('}', i + 2);
      if (close != std::string_view::npos) {
        pieces.emplace_back();
        any = true;
        i = close;
        continue;
      }
    }
    if (c == '$' && i + 1 < text.size() && is_name_char(text[i + 1]) &&
        !std::isdigit(static_cast<unsigned char>(text[i + 1]))) {
      size_t end = i + 1;
      while (end < text.size() && is_name_char(text[end])) ++end;
      pieces.emplace_back();
      any = true;
      i = end - 1;
      continue;
    }
    pieces.back() += c;
  }
  return any;
}

// True when `literal` is pieces[0] + anything + pieces[1] + … + anything + pieces.back().
bool wildcard_match(const std::vector<std::string>& pieces, std::string_view literal) {
  if (literal.substr(0, pieces.front().size()) != pieces.front()) return false;
  size_t pos = pieces.front().size();
  for (size_t i = 1; i + 1 < pieces.size(); ++i) {
    if (pieces[i].empty()) continue;
    size_t found = literal.find(pieces[i], pos);
    if (found == std::string_view::npos) return false;
    pos = found + pieces[i].size();
  }
  const std::string& last = pieces.back();
  return literal.size() >= pos + last.size() && literal.substr(literal.size() - last.size()) == last;
}

std::string keyword(std::string_view normalized) { return std::string(normalized.substr(0, normalized.find(' '))); }

bool same_stage(const CbuildStep& c, const DockerStep& d) {
  if (!c.stage_name.empty() && !d.stage_name.empty()) return c.stage_name == d.stage_name;
  if (d.stage >= 0) return c.stage == d.stage;
  return false;
}

}  // namespace

Result<CbuildReport> parse_cbuild_report(std::string_view text) {
  CbuildReport report;
  try {
    auto j = nlohmann::json::parse(text);
    if (j.value("version", 0) != 1) return make_error(ExitCode::bad_input, "report version {} is not 1", j.value("version", 0));
    for (const auto& s : j.at("steps")) {
      CbuildStep step;
      step.stage = s.at("stage").get<int>();
      step.stage_name = s.value("stage_name", "");
      step.index = s.value("index", 0);
      step.instruction = s.at("instruction").get<std::string>();
      step.cached = s.value("cached", false);
      step.executed = s.value("executed", false);
      step.reason = s.value("reason", "");
      step.seconds = s.value("seconds", 0.0);
      if (is_file_step(step.instruction)) report.steps.push_back(std::move(step));
    }
    report.seconds = j.at("totals").value("seconds", 0.0);
  } catch (const nlohmann::json::exception& e) {
    return make_error(ExitCode::bad_input, "read cbuild report: {}", e.what());
  }
  return report;
}

std::string normalize_instruction(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  for (char& c : out) {
    if (c == ' ') break;
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

bool instructions_match(std::string_view a, std::string_view b) {
  std::string na = normalize_instruction(a), nb = normalize_instruction(b);
  if (na == nb) return true;
  if (keyword(na) != keyword(nb)) return false;
  std::vector<std::string> pieces;
  if (split_on_variables(na, pieces) && wildcard_match(pieces, nb)) return true;
  return split_on_variables(nb, pieces) && wildcard_match(pieces, na);
}

std::vector<StepRow> match_steps(const std::vector<CbuildStep>& cbuild, const std::vector<DockerStep>& docker) {
  std::vector<int> partner(cbuild.size(), -1);
  std::vector<bool> taken(docker.size(), false);
  using Test = std::function<bool(const CbuildStep&, const DockerStep&)>;
  // Strictest first, so a loose test never steals a step a strict one would pair.
  const Test k_passes[] = {
      [](const CbuildStep& c, const DockerStep& d) {
        return normalize_instruction(c.instruction) == normalize_instruction(d.instruction);
      },
      [](const CbuildStep& c, const DockerStep& d) { return instructions_match(c.instruction, d.instruction); },
      [](const CbuildStep& c, const DockerStep& d) {
        return c.index == d.index &&
               keyword(normalize_instruction(c.instruction)) == keyword(normalize_instruction(d.instruction));
      },
  };
  for (const Test& test : k_passes) {
    for (size_t i = 0; i < cbuild.size(); ++i) {
      if (partner[i] >= 0) continue;
      int best = -1;
      for (size_t j = 0; j < docker.size(); ++j) {
        if (taken[j] || !same_stage(cbuild[i], docker[j]) || !test(cbuild[i], docker[j])) continue;
        if (best < 0 || std::abs(docker[j].index - cbuild[i].index) < std::abs(docker[best].index - cbuild[i].index))
          best = static_cast<int>(j);
      }
      if (best >= 0) {
        partner[i] = best;
        taken[best] = true;
      }
    }
  }
  std::vector<StepRow> rows;
  for (size_t i = 0; i < cbuild.size(); ++i) {
    StepRow row{cbuild[i].stage, cbuild[i].stage_name, cbuild[i].index, cbuild[i].instruction, cbuild[i], std::nullopt};
    if (partner[i] >= 0) row.docker = docker[partner[i]];
    rows.push_back(std::move(row));
  }
  for (size_t j = 0; j < docker.size(); ++j) {
    if (taken[j]) continue;
    rows.push_back({std::max(docker[j].stage, 0), docker[j].stage_name, docker[j].index, docker[j].instruction,
                    std::nullopt, docker[j]});
  }
  return rows;
}

}  // namespace cbuild::compare
