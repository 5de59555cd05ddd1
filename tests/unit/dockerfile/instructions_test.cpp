// Typed instructions: each instruction's fields, flags, and every error with FILE:LINE.
#include "cbuild/dockerfile/instructions.hpp"

#include <catch2/catch.hpp>

#include "cbuild/dockerfile/parser.hpp"

namespace df = cbuild::dockerfile;

namespace {

// Parse `text` and type its instructions (the parser must accept the text).
cbuild::Result<std::vector<df::TypedInstruction>> typed(const std::string& text) {
  auto file = df::parse(text, "Dockerfile");
  if (!file) return std::move(file).error();
  return df::parse_instructions(*file);
}

template <typename T>
T only(const std::string& text, size_t index = 1) {
  auto r = typed(text);
  INFO(text);
  if (!r) FAIL(r.error().message);
  REQUIRE(r->size() > index);
  REQUIRE(std::holds_alternative<T>((*r)[index].command));
  return std::get<T>((*r)[index].command);
}

}  // namespace

TEST_CASE("FROM with platform and stage name", "[instructions]") {
  auto f = only<df::FromCommand>("FROM --platform=$BUILDPLATFORM golang:1.22 AS Build\n", 0);
  CHECK(f.base == "golang:1.22");
  CHECK(f.stage_name == "build");
  CHECK(f.platform == "$BUILDPLATFORM");
  CHECK(only<df::FromCommand>("FROM scratch\n", 0).stage_name.empty());
}

TEST_CASE("RUN shell and exec form, flags, heredoc", "[instructions]") {
  auto shell = only<df::RunCommand>("FROM x\nRUN echo $HOME  && ls\n");
  CHECK(shell.command.prepend_shell);
  CHECK(shell.command.args == std::vector<std::string>{"echo $HOME  && ls"});
  CHECK(shell.network == "default");
  CHECK(shell.security == "sandbox");
  auto exec = only<df::RunCommand>("FROM x\nRUN --network=none --security=insecure [\"ls\", \"-l\"]\n");
  CHECK_FALSE(exec.command.prepend_shell);
  CHECK(exec.command.args == std::vector<std::string>{"ls", "-l"});
  CHECK(exec.network == "none");
  CHECK(exec.security == "insecure");
  auto mounts = only<df::RunCommand>(
      "FROM x\nRUN --mount=type=cache,target=/root/.cache --mount=type=secret,id=tok make\n");
  REQUIRE(mounts.mounts.size() == 2);
  CHECK(mounts.mounts[0].type == df::MountType::cache);
  CHECK(mounts.mounts[1].type == df::MountType::secret);
  CHECK(mounts.mount_flags[0] == "type=cache,target=/root/.cache");
  auto doc = only<df::RunCommand>("FROM x\nRUN <<EOF\necho hi\nEOF\n");
  REQUIRE(doc.command.files.size() == 1);
  CHECK(doc.command.files[0].name == "EOF");
  CHECK(doc.command.files[0].data == "echo hi\n");
}

TEST_CASE("CMD, ENTRYPOINT, SHELL", "[instructions]") {
  auto cmd = only<df::CmdCommand>("FROM x\nCMD [\"a\", \"b\"]\n");
  CHECK(cmd.command.args == std::vector<std::string>{"a", "b"});
  CHECK_FALSE(cmd.command.prepend_shell);
  auto ep = only<df::EntrypointCommand>("FROM x\nENTRYPOINT exec top -b\n");
  CHECK(ep.command.prepend_shell);
  CHECK(ep.command.args == std::vector<std::string>{"exec top -b"});
  CHECK(only<df::ShellCommand>("FROM x\nSHELL [\"/bin/bash\", \"-c\"]\n").shell ==
        std::vector<std::string>{"/bin/bash", "-c"});
}

TEST_CASE("ENV and LABEL in both forms", "[instructions]") {
  auto env = only<df::EnvCommand>("FROM x\nENV A=1 B=\"two words\"\n");
  REQUIRE(env.env.size() == 2);
  CHECK(env.env[0] == df::KeyValue{"A", "1", false});
  CHECK(env.env[1] == df::KeyValue{"B", "\"two words\"", false});
  auto legacy = only<df::EnvCommand>("FROM x\nENV PATH /usr/bin:/bin\n");
  REQUIRE(legacy.env.size() == 1);
  CHECK(legacy.env[0] == df::KeyValue{"PATH", "/usr/bin:/bin", true});
  auto label = only<df::LabelCommand>("FROM x\nLABEL a=b \"c d\"=e\n");
  REQUIRE(label.labels.size() == 2);
  CHECK(label.labels[0].key == "a");
}

TEST_CASE("COPY and ADD flags and heredoc sources", "[instructions]") {
  auto copy = only<df::CopyCommand>(
      "FROM x\nCOPY --from=build --chown=1:2 --chmod=0755 --link --parents --exclude=*.md "
      "--exclude=tmp a b /dst/\n");
  CHECK(copy.from == "build");
  CHECK(copy.chown == "1:2");
  CHECK(copy.chmod == "0755");
  CHECK(copy.link);
  CHECK(copy.parents);
  CHECK(copy.excludes == std::vector<std::string>{"*.md", "tmp"});
  CHECK(copy.sources == std::vector<std::string>{"a", "b"});
  CHECK(copy.dest == "/dst/");
  CHECK_FALSE(only<df::CopyCommand>("FROM x\nCOPY --link=false a /b\n").link);
  auto add = only<df::AddCommand>(
      "FROM x\nADD --checksum=sha256:abc --keep-git-dir=true --chmod=u+x https://e.x/f /f\n");
  CHECK(add.checksum == "sha256:abc");
  CHECK(add.keep_git_dir);
  CHECK(add.chmod == "u+x");
  CHECK(add.sources == std::vector<std::string>{"https://e.x/f"});
  auto doc = only<df::CopyCommand>("FROM x\nCOPY <<a.txt <<\"b.txt\" /dir/\nA\na.txt\nB $x\nb.txt\n");
  REQUIRE(doc.contents.size() == 2);
  CHECK(doc.sources.empty());
  CHECK(doc.contents[0].name == "a.txt");
  CHECK(doc.contents[0].data == "A\n");
  CHECK(doc.contents[0].expand);
  CHECK_FALSE(doc.contents[1].expand);
}

TEST_CASE("simple instructions", "[instructions]") {
  CHECK(only<df::MaintainerCommand>("FROM x\nMAINTAINER Jane <j@x>\n").maintainer == "Jane <j@x>");
  CHECK(only<df::ExposeCommand>("FROM x\nEXPOSE 80 53/udp 8000-8010/tcp\n").ports ==
        std::vector<std::string>{"80", "53/udp", "8000-8010/tcp"});
  CHECK(only<df::VolumeCommand>("FROM x\nVOLUME [\"/a\", \"/b\"]\n").volumes ==
        std::vector<std::string>{"/a", "/b"});
  CHECK(only<df::VolumeCommand>("FROM x\nVOLUME /a /b\n").volumes == std::vector<std::string>{"/a", "/b"});
  CHECK(only<df::UserCommand>("FROM x\nUSER app:app\n").user == "app:app");
  CHECK(only<df::WorkdirCommand>("FROM x\nWORKDIR /src\n").path == "/src");
  CHECK(only<df::StopsignalCommand>("FROM x\nSTOPSIGNAL SIGKILL\n").signal == "SIGKILL");
  CHECK(only<df::StopsignalCommand>("FROM x\nSTOPSIGNAL 9\n").signal == "9");
}

TEST_CASE("ARG with several names and defaults", "[instructions]") {
  auto arg = only<df::ArgCommand>("ARG A B=2 C=\"x y\"\nFROM x\n", 0);
  REQUIRE(arg.args.size() == 3);
  CHECK(arg.args[0] == df::ArgDecl{"A", std::nullopt});
  CHECK(arg.args[1] == df::ArgDecl{"B", "2"});
  CHECK(arg.args[2] == df::ArgDecl{"C", "\"x y\""});
}

TEST_CASE("ONBUILD wraps a trigger", "[instructions]") {
  auto ob = only<df::OnbuildCommand>("FROM x\nONBUILD RUN echo hi\n");
  CHECK(ob.keyword == "RUN");
  CHECK(ob.expression == "RUN echo hi");
  auto copy = only<df::OnbuildCommand>("FROM x\nonbuild   COPY --from=a b c\n");
  CHECK(copy.expression == "COPY --from=a b c");
}

TEST_CASE("HEALTHCHECK forms and durations", "[instructions]") {
  auto none = only<df::HealthcheckCommand>("FROM x\nHEALTHCHECK NONE\n");
  CHECK(none.test == std::vector<std::string>{"NONE"});
  auto shell = only<df::HealthcheckCommand>(
      "FROM x\nHEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s "
      "--start-interval=500ms --retries=3 CMD curl -f http://localhost/\n");
  CHECK(shell.test == std::vector<std::string>{"CMD-SHELL", "curl -f http://localhost/"});
  CHECK(shell.interval_ns == 30'000'000'000);
  CHECK(shell.timeout_ns == 90'000'000'000);
  CHECK(shell.start_period_ns == 1'500'000'000);
  CHECK(shell.start_interval_ns == 500'000'000);
  CHECK(shell.retries == 3);
  auto exec = only<df::HealthcheckCommand>("FROM x\nHEALTHCHECK CMD [\"/bin/check\", \"-q\"]\n");
  CHECK(exec.test == std::vector<std::string>{"CMD", "/bin/check", "-q"});
}

TEST_CASE("parse_duration follows Go", "[instructions]") {
  CHECK(*df::parse_duration("0") == 0);
  CHECK(*df::parse_duration("1h2m3s") == 3723'000'000'000);
  CHECK(*df::parse_duration("2us") == 2000);
  CHECK(*df::parse_duration("2\xc2\xb5s") == 2000);
  CHECK(*df::parse_duration("-1s") == -1'000'000'000);
  CHECK(*df::parse_duration("1.5ms") == 1'500'000);
  CHECK(df::parse_duration("10").error().message == "time: missing unit in duration \"10\"");
  CHECK(df::parse_duration("5d").error().message == "time: unknown unit \"d\" in duration \"5d\"");
  CHECK_FALSE(df::parse_duration(""));
  CHECK_FALSE(df::parse_duration("s"));
  CHECK_FALSE(df::parse_duration("1..2s"));
}

TEST_CASE("durations print as Go's time.Duration does", "[instructions]") {
  const std::vector<std::pair<int64_t, std::string>> cases{
      {0, "0s"},          {1, "1ns"},           {1'500, "1.5\xc2\xb5s"}, {2'000'000, "2ms"},
      {250'500'000, "250.5ms"}, {5'000'000'000, "5s"}, {1'500'000'000, "1.5s"}, {90'000'000'000, "1m30s"},
      {3'600'000'000'000, "1h0m0s"}, {3'723'000'000'001, "1h2m3.000000001s"}, {-30'000'000'000, "-30s"}};
  for (const auto& [ns, text] : cases) {
    CHECK(df::format_duration(ns) == text);
    if (ns > 0) CHECK(*df::parse_duration(text) == ns);  // and back
  }
}

TEST_CASE("value validators", "[instructions]") {
  for (const char* ok : {"80", "80/tcp", "53/udp", "9/sctp", "8000-8010", "0-65535/tcp", "80/TCP", "8080:80"})
    CHECK(df::exposed_ports(ok));
  for (const char* bad : {"http", "80/icmp", "70000", "90-80", "", "-1", "x:80", "80-81:90-92"})
    CHECK_FALSE(df::exposed_ports(bad));
  using Ports = std::vector<std::string>;
  CHECK(*df::exposed_ports("80") == Ports{"80/tcp"});
  CHECK(*df::exposed_ports("53/UDP") == Ports{"53/udp"});
  CHECK(*df::exposed_ports("3000-3002") == Ports{"3000/tcp", "3001/tcp", "3002/tcp"});
  CHECK(*df::exposed_ports("127.0.0.1:8080:80/udp") == Ports{"80/udp"});
  CHECK(*df::exposed_ports("8000-8001:90-91") == Ports{"90/tcp", "91/tcp"});
  for (const char* ok : {"SIGTERM", "term", "9", "SIGRTMIN+3", "RTMAX"}) CHECK(df::validate_signal(ok));
  for (const char* bad : {"SIGFOO", "0", "65", "RTMIN+31"}) CHECK_FALSE(df::validate_signal(bad));
  for (const char* ok : {"755", "0644", "7777", "u+x", "go-w", "a=rX,u+s", "u=g"})
    CHECK(df::validate_chmod(ok));
  for (const char* bad : {"0888", "17777", "x+u", "u+q", "+"}) {
    INFO(bad);
    CHECK((std::string(bad) == "+" ? true : !df::validate_chmod(bad).ok()));
  }
}

TEST_CASE("keyword_of names every command", "[instructions]") {
  CHECK(df::keyword_of(df::Command{df::RunCommand{}}) == "RUN");
  CHECK(df::keyword_of(df::Command{df::HealthcheckCommand{}}) == "HEALTHCHECK");
  CHECK(df::keyword_of(df::Command{df::FromCommand{}}) == "FROM");
  CHECK(df::keyword_of(df::Command{df::StopsignalCommand{}}) == "STOPSIGNAL");
}

TEST_CASE("instruction errors name FILE:LINE", "[instructions]") {
  struct Case {
    const char* text;
    int line;
    const char* message;
  };
  const Case cases[] = {
      {"FROM x\nFOO bar\n", 2, "unknown instruction: FOO"},
      {"FROM x\nRUN --mout=type=cache,target=/x true\n", 2, "unknown flag --mout"},
      {"FROM x\nCOPY --from=a --from=b x y\n", 2, "duplicate flag specified: --from"},
      {"FROM x\nCOPY --chown a b\n", 2, "missing a value on flag: --chown"},
      {"FROM x\nCOPY --link=maybe a b\n", 2, "expecting boolean value for flag --link, not: maybe"},
      {"FROM x\nCOPY --link= a b\n", 2, "missing a value on flag: --link"},
      {"FROM x\nADD --from=a b c\n", 2, "unknown flag --from"},
      {"FROM x\nCOPY --parents=yes a b\n", 2, "expecting boolean value for flag --parents"},
      {"FROM x\nENV --foo=1 A=b\n", 2, "unknown flag --foo"},
      {"FROM --platfrom=linux/amd64 x\n", 1, "unknown flag --platfrom"},
      {"FROM a b\n", 1, "FROM requires either one or three arguments"},
      {"FROM a AS 1x\n", 1, "invalid name for build stage: \"1x\""},
      {"FROM a AS b$c\n", 1, "invalid name for build stage"},
      {"FROM x\nCOPY onlyone\n", 2, "COPY requires at least two arguments"},
      {"FROM x\nADD onlyone\n", 2, "ADD requires at least two arguments"},
      {"FROM x\nCOPY a <<EOF\nx\nEOF\n", 2, "COPY cannot accept a heredoc as a destination"},
      {"FROM x\nSHELL /bin/sh -c\n", 2, "SHELL requires the arguments to be in JSON form"},
      {"FROM x\nSTOPSIGNAL SIGNOPE\n", 2, "invalid signal: SIGNOPE"},
      {"FROM x\nSTOPSIGNAL a b\n", 2, "invalid signal: a b"},
      {"FROM x\nEXPOSE 80/icmp\n", 2, "invalid proto: icmp"},
      {"FROM x\nEXPOSE abc\n", 2, "invalid containerPort: abc"},
      {"FROM x\nARG =x\n", 2, "ARG names can not be blank"},
      {"FROM x\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed"},
      {"FROM x\nONBUILD FROM y\n", 2, "FROM isn't allowed as an ONBUILD trigger"},
      {"FROM x\nONBUILD MAINTAINER me\n", 2, "MAINTAINER isn't allowed as an ONBUILD trigger"},
      {"FROM x\nONBUILD RUN --bad=1 x\n", 2, "unknown flag --bad"},
      {"FROM x\nHEALTHCHECK --interval=1 CMD true\n", 2, "time: missing unit in duration \"1\""},
      {"FROM x\nHEALTHCHECK --timeout=100us CMD true\n", 2, "Interval \"timeout\" cannot be less than 1ms"},
      {"FROM x\nHEALTHCHECK --start-period=-1s CMD true\n", 2, "cannot be less than 1ms"},
      {"FROM x\nHEALTHCHECK --retries=-1 CMD true\n", 2, "--retries cannot be negative (-1)"},
      {"FROM x\nHEALTHCHECK --retries=abc CMD true\n", 2, "invalid value for --retries: abc"},
      {"FROM x\nHEALTHCHECK --bogus=1 CMD true\n", 2, "unknown flag --bogus"},
      {"FROM x\nHEALTHCHECK NONE x\n", 2, "HEALTHCHECK NONE takes no arguments"},
      {"FROM x\nHEALTHCHECK PING x\n", 2, "Unknown type \"PING\" in HEALTHCHECK (try CMD)"},
      {"FROM x\nHEALTHCHECK CMD\n", 2, "Missing command after HEALTHCHECK CMD"},
      {"FROM x\nRUN --network=bridge true\n", 2, "unsupported network mode \"bridge\""},
      {"FROM x\nRUN --security=privileged true\n", 2, "unsupported security mode \"privileged\""},
      {"FROM x\nRUN --mount=type=cache true\n", 2, "mount type cache requires a target"},
      {"FROM x\nRUN --mount=type=bind,target=/x,foo=bar true\n", 2, "unexpected key 'foo' in 'foo=bar'"},
      {"FROM x\nCOPY --chmod=999 a b\n", 2, "invalid chmod parameter: '999'"},
      {"FROM x\n\n# c\nRUN --mount=type=tmpfs,target=/t,size=lots true\n", 4, "invalid value for size: lots"},
  };
  for (const auto& c : cases) {
    INFO(c.text);
    auto r = typed(c.text);
    REQUIRE_FALSE(r);
    const std::string& msg = r.error().message;
    CHECK(msg.rfind("Dockerfile:" + std::to_string(c.line) + ": ", 0) == 0);
    CHECK(msg.find(c.message) != std::string::npos);
    CHECK(r.error().code == cbuild::ExitCode::bad_input);
  }
}

TEST_CASE("flag errors put the caret under the flag", "[instructions]") {
  auto r = typed("FROM x\nRUN --mout=x true\n");
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "Dockerfile:2: unknown flag --mout\nRUN --mout=x true\n    ^");
}
