#include "cbuild/compare/session.hpp"

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

using namespace cbuild;
using namespace cbuild::compare;

TEST_CASE("parse_edit_script: sections, comments before the first, errors") {
  auto states = parse_edit_script("# edits\necho ignored\n--- state one\necho 1 > a\n\n--- state  two words\ntouch a\n");
  REQUIRE(states);
  REQUIRE(states->size() == 2);
  CHECK((*states)[0].name == "one");
  CHECK((*states)[0].commands == "echo 1 > a\n\n");
  CHECK((*states)[1].name == "two words");
  CHECK((*states)[1].commands == "touch a\n");
  CHECK_FALSE(parse_edit_script("echo 1 > a\n"));
  auto unnamed = parse_edit_script("--- state\necho\n");
  REQUIRE_FALSE(unnamed);
  CHECK(unnamed.error().message.find(":1:") != std::string::npos);
}

TEST_CASE("check_docker: a missing client says how to get one") {
  auto s = check_docker("/nonexistent/docker-client");
  REQUIRE_FALSE(s);
  CHECK(s.error().code == ExitCode::not_found);
  CHECK(s.error().message.find("not found") != std::string::npos);
  CHECK(s.error().message.find("--docker-log") != std::string::npos);
}

namespace {
Comparison sample() {
  Comparison c;
  StateResult s;
  s.name = "base";
  s.cbuild.seconds = 0.5;
  s.docker.seconds = 2.0;
  CbuildStep cb;
  cb.stage_name = "build";
  cb.index = 2;
  cb.instruction = "COPY a.txt .";
  cb.reason = "file changed: a.txt";
  DockerStep dk;
  dk.stage_name = "build";
  dk.index = 2;
  dk.instruction = "COPY a.txt .";
  dk.cached = true;
  s.rows.push_back({0, "build", 2, "COPY a.txt .", cb, dk});
  cb.cached = true;
  cb.reason.clear();
  cb.instruction = "RUN make";
  s.rows.push_back({0, "build", 3, "RUN make", cb, std::nullopt});
  c.states.push_back(s);
  s.name = "edit";
  s.docker.ok = false;
  s.docker.error = "`docker` exited with 1";
  c.states.push_back(s);
  return c;
}
}  // namespace

TEST_CASE("totals count each tool's own steps") {
  Comparison c = sample();
  ToolTotals cb = cbuild_totals(c), dk = docker_totals(c);
  CHECK(cb.steps == 4);
  CHECK(cb.hits == 2);
  CHECK(cb.seconds == Approx(1.0));
  CHECK(dk.steps == 2);
  CHECK(dk.hits == 2);
  CHECK(dk.hit_rate() == Approx(1.0));
}

TEST_CASE("render_table shows steps side by side with cbuild's reason") {
  std::string t = render_table(sample());
  CHECK(t.find("state 1/2: base") != std::string::npos);
  CHECK(t.find("[build 2] COPY a.txt .") != std::string::npos);
  CHECK(t.find("miss    hit     file changed: a.txt") != std::string::npos);
  CHECK(t.find("hit     -") != std::string::npos);
  CHECK(t.find("docker FAILED: `docker` exited with 1") != std::string::npos);
  CHECK(t.find("docker buildkit") != std::string::npos);
  CHECK(t.find("2/4") != std::string::npos);
}

TEST_CASE("render_json carries the same data") {
  auto j = nlohmann::json::parse(render_json(sample()));
  CHECK(j["version"] == 1);
  CHECK(j["docker_builder"] == "buildkit");
  REQUIRE(j["states"].size() == 2);
  CHECK(j["states"][0]["steps"][0]["cbuild"]["reason"] == "file changed: a.txt");
  CHECK(j["states"][0]["steps"][0]["docker"]["cached"] == true);
  CHECK(j["states"][0]["steps"][1]["docker"].is_null());
  CHECK(j["states"][1]["docker"]["ok"] == false);
  CHECK(j["totals"]["cbuild"]["hit_rate"] == 0.5);
  CHECK(j["totals"]["docker"]["steps"] == 2);
}
