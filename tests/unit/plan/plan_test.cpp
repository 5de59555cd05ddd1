// The plan: stages, pruning, dependencies, ARG scoping, expansion per instruction.
#include "cbuild/plan/plan.hpp"

#include <catch2/catch.hpp>

#include "cbuild/dockerfile/parser.hpp"

namespace df = cbuild::dockerfile;
namespace pl = cbuild::plan;

namespace {

cbuild::Result<pl::Plan> plan_of(const std::string& text, const pl::PlanOptions& options = {}) {
  auto file = df::parse(text, "Dockerfile");
  if (!file) return std::move(file).error();
  return pl::make_plan(*file, options);
}

pl::Plan must_plan(const std::string& text, const pl::PlanOptions& options = {}) {
  auto r = plan_of(text, options);
  INFO(text);
  if (!r) FAIL(r.error().message);
  return std::move(*r);
}

std::string must_fail(const std::string& text, const pl::PlanOptions& options = {}) {
  auto r = plan_of(text, options);
  INFO(text);
  REQUIRE_FALSE(r);
  return r.error().message;
}

pl::PlanOptions with_args(std::map<std::string, std::string> args, std::string target = "") {
  pl::PlanOptions o;
  o.build_args = std::move(args);
  o.target = std::move(target);
  return o;
}

std::string env_of(const pl::EnvList& env, const std::string& key) {
  for (const auto& [k, v] : env)
    if (k == key) return v;
  return "<unset>";
}

std::string arg_of(const std::vector<pl::BuildArg>& args, const std::string& name) {
  for (const auto& a : args)
    if (a.name == name) return a.value;
  return "<unset>";
}

// The value ENV X=... got in the last step of the target stage.
std::string last_env(const pl::Plan& plan, const std::string& key) {
  const pl::Stage* s = plan.stage(plan.target);
  REQUIRE(s);
  return env_of(s->env, key);
}

}  // namespace

TEST_CASE("stages, names and bases", "[plan]") {
  auto p = must_plan(
      "FROM scratch AS zero\nFROM busybox AS One\nFROM ONE AS two\nCOPY --from=zero / /\n"
      "FROM later\nCOPY --from=two / /\nCOPY --from=1 / /\n");
  REQUIRE(p.stages.size() == 4);
  CHECK(p.target == 3);
  CHECK(p.stages[0].base.kind == pl::StageBase::Kind::scratch);
  CHECK(p.stages[1].base.kind == pl::StageBase::Kind::image);
  CHECK(p.stages[1].base.image == "busybox");
  CHECK(p.stages[1].name == "one");
  CHECK(p.stages[2].base.kind == pl::StageBase::Kind::stage);
  CHECK(p.stages[2].base.stage == 1);
  CHECK(p.stages[3].base.kind == pl::StageBase::Kind::image);  // not a stage name
  CHECK(p.stages[3].base.image == "later");
  CHECK(p.stages[3].steps[0].deps.stages == std::vector<int>{2});
  CHECK(p.stages[3].steps[1].deps.stages == std::vector<int>{1});
  CHECK(p.stages[2].steps[0].deps.stages == std::vector<int>{0});
}

TEST_CASE("FROM a later stage name is an image reference", "[plan]") {
  auto p = must_plan("FROM b AS a\nFROM scratch AS b\n", with_args({}, "a"));
  REQUIRE(p.stages.size() == 1);
  CHECK(p.stages[0].base.kind == pl::StageBase::Kind::image);
  CHECK(p.stages[0].base.image == "b");
}

TEST_CASE("target selects a stage and prunes the rest", "[plan]") {
  const std::string text =
      "FROM busybox AS base\nRUN true\n"
      "FROM base AS test\nRUN make test\n"
      "FROM busybox AS assets\nRUN make assets\n"
      "FROM base AS release\nCOPY --from=assets /a /a\n"
      "FROM scratch AS unused\n";
  auto all = must_plan(text);
  REQUIRE(all.stages.size() == 1);  // the last stage needs nothing else
  CHECK(all.stages[0].name == "unused");
  auto release = must_plan(text, with_args({}, "release"));
  std::vector<std::string> names;
  for (const auto& s : release.stages) names.push_back(s.name);
  CHECK(names == std::vector<std::string>{"base", "assets", "release"});
  CHECK(release.target == 3);
  auto test = must_plan(text, with_args({}, "TEST"));
  REQUIRE(test.stages.size() == 2);
  CHECK(test.stage(2) == nullptr);
  CHECK(must_fail(text, with_args({}, "nope")) == "Dockerfile: target stage \"nope\" could not be found");
}

TEST_CASE("step dependencies: parent, stages, images, context", "[plan]") {
  auto p = must_plan(
      "FROM busybox AS b\nRUN true\n"
      "FROM alpine\nCOPY a.txt dir/ /dst/\nCOPY --from=b /x /x\nCOPY --from=nginx:1 /etc/nginx /n\n"
      "ADD https://example.com/f.tgz git@github.com:o/r.git local.tar /\n"
      "RUN --mount=type=bind,source=go.sum,target=/go.sum --mount=type=bind,target=/ctx "
      "--mount=type=bind,from=b,target=/b --mount=type=cache,from=golang:1.22,target=/c true\n");
  const auto& steps = p.stage(1)->steps;
  REQUIRE(steps.size() == 5);
  CHECK(steps[0].deps.parent == -1);
  CHECK(steps[0].deps.context_paths == std::vector<std::string>{"a.txt", "dir/"});
  CHECK(steps[1].deps.parent == 0);
  CHECK(steps[1].deps.stages == std::vector<int>{0});
  CHECK(steps[1].deps.context_paths.empty());
  CHECK(steps[2].deps.images == std::vector<std::string>{"nginx:1"});
  CHECK(steps[3].deps.urls ==
        std::vector<std::string>{"https://example.com/f.tgz", "git@github.com:o/r.git"});
  CHECK(steps[3].deps.context_paths == std::vector<std::string>{"local.tar"});
  CHECK(steps[4].deps.context_paths == std::vector<std::string>{"go.sum", "."});
  CHECK(steps[4].deps.stages == std::vector<int>{0});
  CHECK(steps[4].deps.images == std::vector<std::string>{"golang:1.22"});
  REQUIRE(p.stages.size() == 2);  // stage b is needed through COPY --from and the mount
}

TEST_CASE("stage reference errors", "[plan]") {
  CHECK(must_fail("FROM busybox AS a\nCOPY --from=b / /\nFROM a AS b\n")
            .find("circular dependency detected on stage: ") != std::string::npos);
  CHECK(must_fail("FROM busybox AS a\nCOPY --from=a / /\n")
            .find("Dockerfile:1: circular dependency detected on stage: a") == 0);
  CHECK(must_fail("FROM busybox AS a\nCOPY --from=1 / /\nFROM scratch\n", with_args({}, "a"))
            .find("refers to current or future build stage") != std::string::npos);
  CHECK(
      must_fail("FROM busybox AS a\nFROM busybox AS A\n").find("Dockerfile:2: duplicate stage name \"a\"") ==
      0);
  CHECK(must_fail("RUN true\nFROM busybox\n").find("Dockerfile:1: no build stage in current context") == 0);
  CHECK(must_fail("ARG X\n").find("no FROM instruction") != std::string::npos);
  CHECK(must_fail("ARG IMG\nFROM ${IMG}\n").find("Dockerfile:2: base name (${IMG}) should not be blank") ==
        0);
}

TEST_CASE("global ARGs are visible in FROM only unless redeclared", "[plan]") {
  const std::string text =
      "ARG VERSION=1.36\nARG IMAGE=busybox:${VERSION}\nFROM ${IMAGE} AS a\n"
      "ENV SEEN=\"${VERSION:-none}\"\nARG VERSION\nENV AFTER=$VERSION\n";
  auto p = must_plan(text);
  CHECK(p.stages[0].base_name == "busybox:1.36");
  CHECK(last_env(p, "SEEN") == "none");
  CHECK(last_env(p, "AFTER") == "1.36");
  auto overridden = must_plan(text, with_args({{"VERSION", "1.37"}}));
  CHECK(overridden.stages[0].base_name == "busybox:1.37");
  CHECK(last_env(overridden, "AFTER") == "1.37");
}

TEST_CASE("stage ARG defaults, overrides and unset args", "[plan]") {
  const std::string text = "FROM busybox\nARG A=default B C=${A}-c\nENV A=$A B=${B-unset} C=$C\n";
  auto p = must_plan(text);
  CHECK(last_env(p, "A") == "default");
  CHECK(last_env(p, "B") == "unset");
  CHECK(last_env(p, "C") == "default-c");
  auto o = must_plan(text, with_args({{"A", "given"}, {"B", "b"}}));
  CHECK(last_env(o, "A") == "given");
  CHECK(last_env(o, "B") == "b");
  CHECK(last_env(o, "C") == "given-c");
  // A global default redeclared with its own default: the stage default wins.
  auto g = must_plan("ARG A=global\nFROM busybox\nARG A=stage\nENV X=$A\n");
  CHECK(last_env(g, "X") == "stage");
}

TEST_CASE("ARG applies from its line on", "[plan]") {
  auto p = must_plan("FROM busybox\nUSER ${user:-some_user}\nARG user\nUSER $user\n",
                     with_args({{"user", "what_user"}}));
  const auto& steps = p.stages[0].steps;
  CHECK(std::get<df::UserCommand>(steps[0].command).user == "some_user");
  CHECK(std::get<df::UserCommand>(steps[2].command).user == "what_user");
  CHECK(arg_of(steps[0].args, "user") == "<unset>");
  CHECK(arg_of(steps[2].args, "user") == "what_user");
}

TEST_CASE("ENV and ARG of the same name: the later one wins, as in BuildKit", "[plan]") {
  auto before = must_plan("FROM busybox\nARG V=arg\nENV V=env\nENV R=$V\n", with_args({{"V", "cli"}}));
  CHECK(last_env(before, "R") == "env");
  // BuildKit adds a declared arg to the steps' environment, over an earlier ENV (docker
  // 20.10 gives R=arg here); the image keeps the ENV's value.
  auto after = must_plan("FROM busybox\nENV V=env\nARG V=arg\nENV R=$V\n");
  CHECK(last_env(after, "R") == "arg");
  CHECK(last_env(after, "V") == "env");
  auto again = must_plan("FROM busybox\nENV V=env\nARG V=arg\nENV V=env2\nENV R=$V\n");
  CHECK(last_env(again, "R") == "env2");
  auto unset = must_plan("FROM busybox\nENV V=env\nARG V\nENV R=$V\n");  // no value: sets nothing
  CHECK(last_env(unset, "R") == "env");
  auto given = must_plan("FROM busybox\nENV V=env\nARG V\nENV R=$V\n", with_args({{"V", "cli"}}));
  CHECK(last_env(given, "R") == "cli");
  // The steps see the same: step_vars over a RUN's environment and args.
  auto run = must_plan("FROM busybox\nENV V=env\nARG V=arg\nRUN true\nENV V=env2\nRUN true\n");
  const auto& steps = run.stages[0].steps;
  CHECK(pl::step_vars(steps[2].env, steps[2].args).at("V") == "arg");
  CHECK(pl::step_vars(steps[4].env, steps[4].args).at("V") == "env2");
}

TEST_CASE("ARG scope ends with the stage; a child stage inherits it", "[plan]") {
  auto p = must_plan(
      "FROM busybox AS a\nARG X=1\nFROM busybox AS b\nENV Y=${X:-none}\nFROM a AS c\nENV Z=${X:-none}\n"
      "COPY --from=b / /\n");
  CHECK(env_of(p.stage(1)->env, "Y") == "none");
  CHECK(env_of(p.stage(2)->env, "Z") == "1");
}

TEST_CASE("proxy build args need no ARG and never reach the cache key", "[plan]") {
  auto p = must_plan("FROM busybox\nENV E=${HTTP_PROXY:-none}\nRUN curl x\nARG no_proxy\nRUN true\n",
                     with_args({{"HTTP_PROXY", "http://proxy:3128"}, {"no_proxy", "localhost"}}));
  const auto& steps = p.stages[0].steps;
  CHECK(last_env(p, "E") == "none");  // not expandable without ARG
  REQUIRE(steps.size() == 4);
  auto find = [](const std::vector<pl::BuildArg>& args, const std::string& name) {
    for (const auto& a : args)
      if (a.name == name) return a;
    return pl::BuildArg{"<missing>", "", true};
  };
  CHECK(find(steps[1].args, "HTTP_PROXY") == pl::BuildArg{"HTTP_PROXY", "http://proxy:3128", false});
  CHECK(find(steps[3].args, "no_proxy") == pl::BuildArg{"no_proxy", "localhost", false, true});
  CHECK(find(steps[0].args, "HTTP_PROXY").name == "<missing>");  // only RUN gets them
  CHECK(p.warnings.empty());
  CHECK(pl::is_proxy_arg("ALL_PROXY"));
  CHECK_FALSE(pl::is_proxy_arg("PROXY"));
}

TEST_CASE("automatic platform ARGs", "[plan]") {
  const pl::Platform native = pl::native_platform();
  CHECK(native.os == "linux");
  CHECK_FALSE(native.arch.empty());
  auto p = must_plan(
      "FROM --platform=$BUILDPLATFORM busybox:${TARGETARCH} AS a\nENV T=${TARGETPLATFORM:-hidden}\n"
      "ARG TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT\n"
      "ENV T2=$TARGETPLATFORM O=$TARGETOS A=$TARGETARCH BP=$BUILDPLATFORM BO=$BUILDOS BA=$BUILDARCH "
      "V=\"$TARGETVARIANT$BUILDVARIANT\"\n");
  const pl::Stage& s = p.stages[0];
  CHECK(s.base_name == "busybox:" + native.arch);
  CHECK(s.platform == native);
  CHECK(env_of(s.env, "T") == "hidden");
  CHECK(env_of(s.env, "T2") == native.str());
  CHECK(env_of(s.env, "O") == "linux");
  CHECK(env_of(s.env, "A") == native.arch);
  CHECK(env_of(s.env, "BP") == native.str());
  CHECK(env_of(s.env, "BO") == "linux");
  CHECK(env_of(s.env, "BA") == native.arch);
  CHECK(env_of(s.env, "V") == native.variant + native.variant);
  CHECK(must_fail("FROM --platform=windows/arm64 x\n")
            .find("Dockerfile:1: platform windows/arm64 is not supported") == 0);
  pl::PlanOptions other;
  other.platform = "linux/s390x";
  if (native.arch != "s390x") CHECK(must_fail("FROM x\n", other).find("not supported") != std::string::npos);
  pl::PlanOptions same;
  same.platform = native.str();
  CHECK(must_plan("FROM x\n", same).target_platform == native);
}

TEST_CASE("Platform parse and print", "[plan]") {
  CHECK(pl::Platform::parse("linux/arm/v7")->str() == "linux/arm/v7");
  CHECK(pl::Platform::parse("amd64")->str() == "linux/amd64");
  CHECK(pl::Platform::parse("Linux/AMD64")->str() == "linux/amd64");
  CHECK_FALSE(pl::Platform::parse("linux//x"));
  CHECK_FALSE(pl::Platform::parse("a/b/c/d"));
}

TEST_CASE("build args not consumed are reported", "[plan]") {
  auto p = must_plan("ARG USED\nFROM busybox\n", with_args({{"USED", "1"}, {"EXTRA", "2"}}));
  REQUIRE(p.warnings.size() == 1);
  CHECK(p.warnings[0] == "[Warning] One or more build-args [EXTRA] were not consumed");
  auto pruned = must_plan("FROM busybox AS unused\nARG ONLY_HERE\nFROM busybox\nARG USED\n",
                          with_args({{"ONLY_HERE", "1"}, {"USED", "2"}, {"B", "3"}}));
  REQUIRE(pruned.warnings.size() == 1);
  CHECK(pruned.warnings[0] == "[Warning] One or more build-args [B ONLY_HERE] were not consumed");
}

TEST_CASE("which instructions are expanded", "[plan]") {
  auto p = must_plan(
      "FROM busybox\nARG D=/data N=app P=80 S=SIGTERM U=1000 M=0755\n"
      "ENV A=$N B=\"$N two\"\nLABEL \"$N.label\"=$D\nWORKDIR $D\nWORKDIR sub/../rel\nUSER $U:$U\n"
      "VOLUME $D/vol\nEXPOSE $P ${P}1/udp\nSTOPSIGNAL $S\n"
      "COPY --chown=$U --chmod=$M --exclude=$N.tmp $N.txt $D/\n"
      "RUN echo $N\nCMD echo $N\nENTRYPOINT [\"$N\"]\nHEALTHCHECK CMD check $N\nSHELL [\"/bin/$N\"]\n");
  const auto& s = p.stages[0].steps;
  CHECK(std::get<df::EnvCommand>(s[1].command).env[1].value == "app two");
  CHECK(std::get<df::LabelCommand>(s[2].command).labels[0] == df::KeyValue{"app.label", "/data", false});
  CHECK(std::get<df::WorkdirCommand>(s[3].command).path == "/data");
  CHECK(std::get<df::WorkdirCommand>(s[4].command).path == "/data/rel");
  CHECK(s[5].workdir == "/data/rel");
  CHECK(std::get<df::UserCommand>(s[5].command).user == "1000:1000");
  CHECK(std::get<df::VolumeCommand>(s[6].command).volumes == std::vector<std::string>{"/data/vol"});
  CHECK(std::get<df::ExposeCommand>(s[7].command).ports == std::vector<std::string>{"80", "801/udp"});
  CHECK(std::get<df::StopsignalCommand>(s[8].command).signal == "SIGTERM");
  const auto& copy = std::get<df::CopyCommand>(s[9].command);
  CHECK(copy.chown == "1000");
  CHECK(copy.chmod == "0755");
  CHECK(copy.excludes == std::vector<std::string>{"app.tmp"});
  CHECK(copy.sources == std::vector<std::string>{"app.txt"});
  CHECK(copy.dest == "/data/");
  CHECK(s[9].text == "COPY --chown=1000 --chmod=0755 --exclude=app.tmp app.txt /data/");
  CHECK(std::get<df::RunCommand>(s[10].command).command.args == std::vector<std::string>{"echo $N"});
  CHECK(s[10].text == "RUN echo $N");
  CHECK(std::get<df::CmdCommand>(s[11].command).command.args == std::vector<std::string>{"echo $N"});
  CHECK(std::get<df::EntrypointCommand>(s[12].command).command.args == std::vector<std::string>{"$N"});
  CHECK(std::get<df::HealthcheckCommand>(s[13].command).test[1] == "check $N");
  CHECK(std::get<df::ShellCommand>(s[14].command).shell == std::vector<std::string>{"/bin/$N"});
  CHECK(s[15 - 1].shell == std::vector<std::string>{"/bin/sh", "-c"});
  CHECK(p.stages[0].shell == std::vector<std::string>{"/bin/$N"});
  CHECK(arg_of(s[10].args, "N") == "app");  // RUN sees args through its environment
}

TEST_CASE("ENV pairs on one line see the environment before the line", "[plan]") {
  auto p = must_plan("FROM busybox\nENV A=1\nENV A=2 B=$A\n");
  CHECK(last_env(p, "B") == "1");
  CHECK(last_env(p, "A") == "2");
}

TEST_CASE("COPY --from and RUN --mount values are expanded", "[plan]") {
  auto p = must_plan(
      "ARG SRC=builder\nFROM busybox AS builder\nFROM busybox\nARG SRC CACHE=/root/.cache\n"
      "COPY --from=$SRC /a /a\n"
      "RUN --mount=type=cache,target=$CACHE --mount=type=bind,from=${SRC},target=/b "
      "--mount=type=secret,id=tok --mount=type=ssh --mount=type=tmpfs,target=/t,size=${SZ:-1m} true\n");
  const auto& steps = p.stage(1)->steps;
  CHECK(std::get<df::CopyCommand>(steps[1].command).from == "builder");
  CHECK(steps[1].deps.stages == std::vector<int>{0});
  const auto& run = std::get<df::RunCommand>(steps[2].command);
  REQUIRE(run.mounts.size() == 5);
  CHECK(run.mounts[0].target == "/root/.cache");
  CHECK(run.mounts[0].id == "/root/.cache");
  CHECK(run.mounts[1].from == "builder");
  CHECK(run.mounts[2].target == "/run/secrets/tok");
  CHECK(run.mounts[3].target == "/run/buildkit/ssh_agent.0");
  CHECK(run.mounts[4].size == 1u << 20);
  CHECK(steps[2].deps.stages == std::vector<int>{0});
  auto bad = must_fail("FROM busybox\nARG M=0999\nRUN --mount=type=cache,target=/c,mode=$M true\n");
  CHECK(bad.find("Dockerfile:3: --mount=type=cache,target=/c,mode=$M: invalid value 0999 for mode") == 0);
  CHECK(must_fail("FROM busybox\nARG M=99x\nCOPY --chmod=$M a b\n")
            .find("Dockerfile:3: invalid chmod parameter") == 0);
}

TEST_CASE("expansion errors are located; pruned stages are not checked", "[plan]") {
  CHECK(must_fail("FROM busybox\n\nENV A=${REQUIRED:?set}\n")
            .find("Dockerfile:3: failed to process \"${REQUIRED:?set}\": REQUIRED: set") == 0);
  auto p = must_plan("FROM busybox AS broken\nENV A=${REQUIRED:?set}\nFROM busybox AS ok\n");
  CHECK(p.stages.size() == 1);
  CHECK(must_fail("FROM busybox\nEXPOSE ${P:-bad}\n").find("Dockerfile:2: invalid containerPort: bad") == 0);
  CHECK(must_fail("FROM busybox\nSTOPSIGNAL ${S:-NOPE}\n").find("Dockerfile:2: invalid signal: NOPE") == 0);
}

TEST_CASE("each step records the state it runs in", "[plan]") {
  auto p = must_plan("FROM scratch\nENV A=1\nWORKDIR /w\nUSER u\nARG X=2\nRUN true\n");
  const auto& s = p.stages[0].steps;
  CHECK(env_of(s[0].env, "A") == "<unset>");
  CHECK(env_of(s[0].env, "PATH") == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  CHECK(env_of(s[1].env, "A") == "1");
  CHECK(s[1].workdir == "/");
  CHECK(s[2].workdir == "/w");
  CHECK(s[4].user == "u");
  CHECK(s[4].args == std::vector<pl::BuildArg>{{"X", "2", true, true}});
  CHECK(s[4].line == 6);
  CHECK(s[4].deps.parent == 3);
}

TEST_CASE("base image config from the lookup", "[plan]") {
  pl::PlanOptions o;
  int calls = 0;
  o.image_config = [&](const std::string& ref) -> std::optional<pl::ImageConfig> {
    ++calls;
    if (ref != "app:base") return std::nullopt;
    return pl::ImageConfig{{"PATH=/custom/bin", "HOME=/home/app"},
                           "/app",
                           "app",
                           {"/bin/bash", "-c"},
                           {"RUN echo trigger $HOME", "COPY . /app/src"}};
  };
  auto p = must_plan("FROM app:base\nENV H=$HOME\nRUN true\n", o);
  const pl::Stage& s = p.stages[0];
  CHECK(s.base_config_known);
  CHECK(env_of(s.env, "PATH") == "/custom/bin");
  CHECK(env_of(s.env, "H") == "/home/app");
  REQUIRE(s.steps.size() == 4);
  CHECK(s.steps[0].from_onbuild);
  CHECK(s.steps[0].keyword == "RUN");
  CHECK(s.steps[0].workdir == "/app");
  CHECK(s.steps[0].user == "app");
  CHECK(s.steps[0].shell == std::vector<std::string>{"/bin/bash", "-c"});
  CHECK(s.steps[1].deps.context_paths == std::vector<std::string>{"."});
  CHECK_FALSE(s.steps[2].from_onbuild);
  auto unknown = must_plan("FROM other\n", o);
  CHECK_FALSE(unknown.stages[0].base_config_known);
  CHECK(calls == 2);
}

TEST_CASE("the image config's WorkingDir: the base's, even when unset; / from scratch", "[plan]") {
  const std::string text =
      "FROM unset AS a\nRUN pwd\nFROM set AS b\nFROM scratch AS c\nFROM unset AS d\nWORKDIR w\n"
      "FROM a AS e\nFROM d AS f\n";
  // Stage (as --target) and the WorkingDir its image records.
  const std::vector<std::pair<std::string, std::string>> cases{
      {"a", ""},        // as BuildKit: left unset, though RUN steps run in /
      {"b", "/srv"},    // the base's
      {"c", "/"},       // BuildKit's empty image sets /
      {"d", "/w"},      // WORKDIR's
      {"e", ""},        // from a stage: that stage's
      {"f", "/w"}};
  for (const auto& [target, want] : cases) {
    pl::PlanOptions o;
    o.target = target;
    o.image_config = [](const std::string& ref) -> std::optional<pl::ImageConfig> {
      pl::ImageConfig c;
      if (ref == "set") c.working_dir = "/srv";
      return c;
    };
    auto p = must_plan(text, o);
    INFO("target " << target);
    REQUIRE(!p.stages.empty());
    CHECK(p.stages.back().name == target);
    CHECK(p.stages.back().config_workdir == want);
  }
  auto a = must_plan("FROM scratch\nRUN pwd\n");
  CHECK(a.stages[0].steps[0].workdir == "/");
}

TEST_CASE("ONBUILD triggers: recorded, then run by a child stage", "[plan]") {
  auto p = must_plan(
      "FROM busybox AS base\nONBUILD RUN echo built\nONBUILD COPY . /src\n"
      "FROM base AS child\nRUN true\n");
  REQUIRE(p.stages.size() == 2);
  CHECK(p.stages[0].onbuild == std::vector<std::string>{"RUN echo built", "COPY . /src"});
  const auto& steps = p.stages[1].steps;
  REQUIRE(steps.size() == 3);
  CHECK(steps[0].from_onbuild);
  CHECK(steps[0].text == "RUN echo built");
  CHECK(steps[0].line == 4);
  CHECK(steps[1].deps.context_paths == std::vector<std::string>{"."});
  CHECK_FALSE(steps[2].from_onbuild);
}

TEST_CASE("heredoc sources expand unless the delimiter is quoted", "[plan]") {
  auto p = must_plan("FROM busybox\nARG N=x\nCOPY <<a <<\"b\" /dir/\n$N \"q\"\na\n$N\nb\n");
  const auto& copy = std::get<df::CopyCommand>(p.stages[0].steps[1].command);
  REQUIRE(copy.contents.size() == 2);
  CHECK(copy.contents[0].data == "x \"q\"\n");
  CHECK(copy.contents[1].data == "$N\n");
  CHECK(p.stages[0].steps[1].deps.context_paths.empty());
}

TEST_CASE("backtick escape directive applies to expansion", "[plan]") {
  auto p = must_plan("# escape=`\nFROM busybox\nENV A=C:\\dir B=`$A\n");
  CHECK(last_env(p, "A") == "C:\\dir");
  CHECK(last_env(p, "B") == "$A");
}

TEST_CASE("plan exports as JSON and text", "[plan]") {
  auto p = must_plan(
      "FROM busybox AS b\nRUN --mount=type=cache,target=/c true\nFROM scratch\nCOPY --from=b /x /x\n");
  auto j = pl::to_json(p);
  CHECK(j["version"] == 1);
  CHECK(j["target"] == 1);
  REQUIRE(j["stages"].size() == 2);
  CHECK(j["stages"][0]["name"] == "b");
  CHECK(j["stages"][0]["base"]["kind"] == "image");
  CHECK(j["stages"][0]["steps"][0]["mounts"][0]["id"] == "/c");
  CHECK(j["stages"][0]["steps"][0]["mounts"][0]["mode"] == "0755");
  CHECK(j["stages"][1]["steps"][0]["deps"]["stages"] == nlohmann::json::array({0}));
  std::string text = pl::to_text(p);
  CHECK(text.find("stage 0 (b): FROM image busybox") != std::string::npos);
  CHECK(text.find("COPY --from=b /x /x") != std::string::npos);
  CHECK(text.find("needs: base; stage 0 (b)") != std::string::npos);
}
