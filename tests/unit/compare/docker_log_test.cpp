#include "cbuild/compare/docker_log.hpp"

#include <catch2/catch.hpp>

#include "recorded.hpp"

using namespace cbuild;
using namespace cbuild::compare;

namespace {
std::vector<std::string> instructions(const DockerLog& log) {
  std::vector<std::string> out;
  for (const auto& s : log.steps) out.push_back(s.instruction);
  return out;
}

std::vector<bool> hits(const DockerLog& log) {
  std::vector<bool> out;
  for (const auto& s : log.steps) out.push_back(s.cached);
  return out;
}
}  // namespace

TEST_CASE("detect_builder tells BuildKit and legacy logs apart") {
  CHECK(detect_builder(recorded("named-buildkit-cold.log")) == DockerBuilder::buildkit);
  CHECK(detect_builder(recorded("named-legacy-cold.log")) == DockerBuilder::legacy);
  CHECK(detect_builder(recorded("fail-legacy.log")) == DockerBuilder::legacy);
}

TEST_CASE("BuildKit log: stage labels, internal and FROM vertices left out, first-appearance order") {
  DockerLog log = parse_buildkit_log(recorded("named-buildkit-cold.log"));
  CHECK_FALSE(log.failed);
  CHECK(instructions(log) == std::vector<std::string>{"WORKDIR /src", "COPY a.txt .",
                                                      "RUN echo hello > out.txt &&   cat a.txt >> out.txt",
                                                      "COPY --from=build /src/out.txt /out.txt",
                                                      "RUN   echo world >> /out.txt"});
  REQUIRE(log.steps.size() == 5);
  CHECK(log.steps[0].stage_name == "build");
  CHECK(log.steps[0].stage == -1);
  CHECK(log.steps[0].index == 2);
  CHECK(log.steps[3].stage_name.empty());
  CHECK(log.steps[3].stage == 1);  // [stage-1 2/3]
  CHECK(log.steps[3].index == 2);
  CHECK(log.steps[2].seconds == Approx(0.6));
  // The base image's WORKDIR was already in docker's cache; nothing else was.
  CHECK(hits(log) == std::vector<bool>{true, false, false, false, false});
}

TEST_CASE("BuildKit log: warm rebuild is all hits, edit misses from the changed COPY on") {
  CHECK(hits(parse_buildkit_log(recorded("named-buildkit-warm.log"))) == std::vector<bool>(5, true));
  DockerLog edit = parse_buildkit_log(recorded("named-buildkit-edit.log"));
  CHECK(hits(edit) == std::vector<bool>{true, false, false, false, false});
  CHECK(edit.steps[0].instruction == "WORKDIR /src");  // #4 FROM printed twice, still left out
}

TEST_CASE("BuildKit log: unnamed `stage-0`, named `final`, a single stage has no label") {
  DockerLog log = parse_buildkit_log(recorded("unnamed-buildkit.log"));
  REQUIRE(log.steps.size() == 4);
  CHECK(log.steps[0].stage == 0);
  CHECK(log.steps[0].instruction == "RUN mkdir -p /data &&     echo 4 > /data/n");
  CHECK(log.steps[2].stage_name == "final");

  DockerLog fail = parse_buildkit_log(recorded("fail-buildkit.log"));
  CHECK(fail.failed);
  REQUIRE(fail.steps.size() == 2);
  CHECK(fail.steps[0].stage == 0);
  CHECK(fail.steps[0].index == 2);
  CHECK_FALSE(fail.steps[0].failed);
  CHECK(fail.steps[1].failed);
  CHECK(fail.steps[1].instruction == "RUN echo failing; exit 3");
}

TEST_CASE("BuildKit log: platform prefix and a vertex printed twice") {
  DockerLog log = parse_buildkit_log(
      "#7 [linux/amd64 app 3/5] RUN make\n#7 0.1 building\n#7 DONE 2.5s\n#7 [linux/amd64 app 3/5] RUN make\n"
      "#7 CACHED\n#8 exporting to image\n#8 DONE 0.1s\n");
  REQUIRE(log.steps.size() == 1);
  CHECK(log.steps[0].stage_name == "app");
  CHECK(log.steps[0].index == 3);
  CHECK(log.steps[0].cached);
  CHECK(log.steps[0].seconds == Approx(2.5));
}

TEST_CASE("legacy log: stages from FROM, only filesystem steps, `Using cache` is a hit") {
  DockerLog cold = parse_legacy_log(recorded("named-legacy-cold.log"));
  CHECK(instructions(cold) == std::vector<std::string>{"WORKDIR /src", "COPY a.txt .",
                                                       "RUN echo $X > out.txt &&   cat a.txt >> out.txt",
                                                       "COPY --from=build /src/out.txt /out.txt",
                                                       "RUN   echo ${Y} >> /out.txt"});
  CHECK(cold.steps[0].stage == 0);
  CHECK(cold.steps[0].stage_name == "build");
  CHECK(cold.steps[0].index == 2);
  CHECK(cold.steps[2].index == 4);
  CHECK(cold.steps[3].stage == 1);
  CHECK(cold.steps[3].stage_name.empty());
  CHECK(cold.steps[3].index == 2);
  CHECK(hits(cold) == std::vector<bool>(5, false));
  CHECK(hits(parse_legacy_log(recorded("named-legacy-warm.log"))) == std::vector<bool>(5, true));
  CHECK(hits(parse_legacy_log(recorded("named-legacy-edit.log"))) ==
        std::vector<bool>{true, false, false, false, false});

  DockerLog unnamed = parse_legacy_log(recorded("unnamed-legacy.log"));
  REQUIRE(unnamed.steps.size() == 4);
  CHECK(unnamed.steps[2].stage == 1);
  CHECK(unnamed.steps[2].stage_name == "final");

  DockerLog fail = parse_docker_log(recorded("fail-legacy.log"));
  CHECK(fail.builder == DockerBuilder::legacy);
  CHECK(fail.failed);
  REQUIRE(fail.steps.size() == 2);
  CHECK_FALSE(fail.steps[0].failed);
  CHECK(fail.steps[1].failed);
}

TEST_CASE("is_file_step keeps RUN COPY ADD WORKDIR in any case") {
  CHECK(is_file_step("RUN x"));
  CHECK(is_file_step("copy a b"));
  CHECK(is_file_step("  ADD a b"));
  CHECK(is_file_step("WORKDIR /x"));
  CHECK_FALSE(is_file_step("ENV a=b"));
  CHECK_FALSE(is_file_step("FROM x"));
  CHECK_FALSE(is_file_step("RUNNER x"));
}
