#include "cbuild/compare/match.hpp"

#include <catch2/catch.hpp>

#include "recorded.hpp"

using namespace cbuild;
using namespace cbuild::compare;

namespace {
CbuildReport report(const std::string& name) {
  auto r = parse_cbuild_report(recorded(name));
  REQUIRE(r);
  return *r;
}

DockerStep docker_step(int stage, std::string name, int index, std::string text, bool cached = false) {
  DockerStep s;
  s.stage = stage;
  s.stage_name = std::move(name);
  s.index = index;
  s.instruction = std::move(text);
  s.cached = cached;
  return s;
}

CbuildStep cbuild_step(int stage, std::string name, int index, std::string text) {
  CbuildStep s;
  s.stage = stage;
  s.stage_name = std::move(name);
  s.index = index;
  s.instruction = std::move(text);
  return s;
}
}  // namespace

TEST_CASE("normalize_instruction collapses whitespace and upper-cases the keyword") {
  CHECK(normalize_instruction("  run   echo  a\t&&\n b  ") == "RUN echo a && b");
  CHECK(normalize_instruction("COPY a.txt .") == "COPY a.txt .");
}

TEST_CASE("instructions_match: variables on either side stand for any text") {
  CHECK(instructions_match("RUN echo $X > out.txt &&   cat a.txt >> out.txt",
                           "RUN echo hello > out.txt && cat a.txt >> out.txt"));
  CHECK(instructions_match("RUN echo world >> /out.txt", "RUN   echo ${Y} >> /out.txt"));
  CHECK(instructions_match("RUN mkdir -p /data && echo ${N:-0} > /data/n", "RUN mkdir -p /data &&     echo 4 > /data/n"));
  CHECK_FALSE(instructions_match("RUN echo $X > out.txt", "RUN echo hello > other.txt"));
  CHECK_FALSE(instructions_match("RUN echo $X", "COPY echo hello"));
  CHECK_FALSE(instructions_match("RUN echo a", "RUN echo b"));
  CHECK(instructions_match("RUN echo \\$HOME", "RUN   echo \\$HOME"));  // escaped: literal
  CHECK_FALSE(instructions_match("RUN echo \\$HOME", "RUN echo /root"));
}

TEST_CASE("parse_cbuild_report keeps filesystem steps with reasons") {
  CbuildReport r = report("named-cbuild-edit.report.json");
  REQUIRE(r.steps.size() == 5);
  CHECK(r.steps[0].instruction == "WORKDIR /src");
  CHECK(r.steps[0].cached);
  CHECK(r.steps[1].reason == "file changed: a.txt");
  CHECK(r.steps[3].stage == 1);
  CHECK(r.steps[3].stage_name.empty());
  CHECK(r.seconds > 0);
  CHECK_FALSE(parse_cbuild_report("{\"version\":2,\"steps\":[]}"));
  CHECK_FALSE(parse_cbuild_report("not json"));
}

TEST_CASE("match_steps pairs every step of the recorded BuildKit and legacy logs") {
  CbuildReport r = report("named-cbuild-edit.report.json");
  for (const char* log : {"named-buildkit-edit.log", "named-legacy-edit.log"}) {
    INFO(log);
    auto rows = match_steps(r.steps, parse_docker_log(recorded(log)).steps);
    REQUIRE(rows.size() == 5);
    for (const auto& row : rows) {
      REQUIRE(row.cbuild);
      REQUIRE(row.docker);
      CHECK(instructions_match(row.cbuild->instruction, row.docker->instruction));
      CHECK(row.cbuild->stage_name == row.stage_name);
    }
    CHECK(rows[0].docker->cached);
    CHECK_FALSE(rows[1].docker->cached);
  }
}

TEST_CASE("match_steps: unnamed stage 0, named stage `final`, build-arg expanded by BuildKit") {
  CbuildReport r = report("unnamed-cbuild.report.json");
  for (const char* log : {"unnamed-buildkit.log", "unnamed-legacy.log"}) {
    INFO(log);
    auto rows = match_steps(r.steps, parse_docker_log(recorded(log)).steps);
    REQUIRE(rows.size() == 4);
    for (const auto& row : rows) REQUIRE(row.docker);
    CHECK(rows[0].docker->index == 2);
    CHECK(rows[2].docker->stage_name == "final");
    CHECK(rows[3].docker->instruction == "RUN cat /data/n /data/b.txt");
  }
}

TEST_CASE("match_steps keeps stages apart and falls back to position and keyword") {
  std::vector<CbuildStep> cb = {cbuild_step(0, "a", 2, "RUN make"), cbuild_step(1, "b", 2, "RUN make"),
                                cbuild_step(1, "b", 3, "COPY --chown=$U x /x")};
  std::vector<DockerStep> dk = {docker_step(-1, "b", 2, "RUN make", true), docker_step(-1, "a", 2, "RUN  make"),
                                docker_step(-1, "b", 3, "COPY --chown=1000 y /y"),
                                docker_step(-1, "b", 4, "RUN only-docker")};
  auto rows = match_steps(cb, dk);
  REQUIRE(rows.size() == 4);
  REQUIRE(rows[0].docker);
  CHECK(rows[0].docker->stage_name == "a");
  CHECK_FALSE(rows[0].docker->cached);
  REQUIRE(rows[1].docker);
  CHECK(rows[1].docker->cached);
  REQUIRE(rows[2].docker);  // text differs: paired by stage, index and keyword
  CHECK(rows[2].docker->instruction == "COPY --chown=1000 y /y");
  CHECK_FALSE(rows[3].cbuild);  // docker-only steps come last
  CHECK(rows[3].instruction == "RUN only-docker");

  // A step cbuild ran that docker did not (e.g. docker failed before it).
  auto partial = match_steps(cb, {});
  REQUIRE(partial.size() == 3);
  CHECK_FALSE(partial[0].docker);
}
