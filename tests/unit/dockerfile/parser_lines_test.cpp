#include "parser_test_support.hpp"

using namespace cbuild::dockerfile;
using namespace cbuild::dockerfile::test;

namespace {
std::pair<int, int> lines_of(const Instruction& in) { return {in.start_line, in.end_line}; }
}  // namespace

TEST_CASE("continuations: joined without separator, indentation kept", "[parser]") {
  CHECK(dump_of("RUN echo hello\\\n  world\n") == "(run \"echo hello  world\")");
  CHECK(dump_of("RUN echo good\\\nbye\n") == "(run \"echo goodbye\")");
  CHECK(dump_of("RUN a \\  \t\n\tb\n") == "(run \"a \\tb\")");  // blanks after the escape dropped
  CHECK(dump_of("RUN a\\\n\\\n b\n") == "(run \"a b\")");      // a line holding only the escape
}

TEST_CASE("continuations: comment and blank lines inside are skipped", "[parser]") {
  Dockerfile f = parse_ok("RUN a \\\n# comment\n\n   \n  # indented comment \\\n  b\nRUN c\n");
  REQUIRE(f.instructions.size() == 2);
  CHECK(f.instructions[0].args == std::vector<std::string>{"a   b"});
  CHECK(lines_of(f.instructions[0]) == std::pair{1, 6});
  CHECK(lines_of(f.instructions[1]) == std::pair{7, 7});
  REQUIRE(f.warnings.size() == 1);  // the empty continuation line
  CHECK(f.warnings[0].rfind("Dockerfile:3: empty continuation line", 0) == 0);
}

TEST_CASE("continuations: escaped escape and comment lines do not continue", "[parser]") {
  CHECK(dump_of("RUN a\\\\\nRUN b\n") == "(run \"a\\\\\\\\\")\n(run \"b\")");
  CHECK(dump_of("# comment \\\nRUN b\n") == "(run \"b\")");
  CHECK(dump_of("RUN a # not a comment\n") == "(run \"a # not a comment\")");
}

TEST_CASE("continuations: end of file ends the instruction", "[parser]") {
  Dockerfile f = parse_ok("FROM a\nRUN x \\");
  CHECK(dump(f) == "(from \"a\")\n(run \"x\")");
  CHECK(lines_of(f.instructions[1]) == std::pair{2, 2});
  CHECK(lines_of(parse_ok("RUN x \\\n\n\n").instructions[0]) == std::pair{1, 3});
}

TEST_CASE("line numbers: start and end of each instruction", "[parser]") {
  Dockerfile f = parse_ok("\n# c\nFROM a\n\nRUN a \\\n  b \\\n\n  c\nCOPY <<EOF /x\nhello\nEOF\nUSER u");
  REQUIRE(f.instructions.size() == 4);
  CHECK(lines_of(f.instructions[0]) == std::pair{3, 3});
  CHECK(lines_of(f.instructions[1]) == std::pair{5, 8});
  CHECK(lines_of(f.instructions[2]) == std::pair{9, 11});
  CHECK(lines_of(f.instructions[3]) == std::pair{12, 12});
  CHECK(f.instructions[0].comments == std::vector<std::string>{"c"});
  CHECK(f.lines.size() == 12);
}

TEST_CASE("CRLF files parse like LF files", "[parser]") {
  Dockerfile f = parse_ok("FROM a\r\nRUN x \\\r\n  y\r\nCOPY <<EOF /x\r\nbody\r\nEOF\r\n");
  CHECK(dump(f) == "(from \"a\")\n(run \"x   y\")\n(copy \"<<EOF\" \"/x\")");
  CHECK(f.instructions[2].heredocs.at(0).content == "body\r\n");
  CHECK(f.lines[0] == "FROM a");
}

TEST_CASE("a UTF-8 byte order mark is dropped from the first line only", "[parser]") {
  Dockerfile f = parse_ok("\xEF\xBB\xBF# escape=`\nFROM a\n");
  CHECK(f.directives.escape == '`');
  CHECK(dump_of("FROM a\n\xEF\xBB\xBFRUN x\n") == "(from \"a\")\n(\xEF\xBB\xBFrun \"\")");
}

TEST_CASE("lines over 65535 bytes are rejected", "[parser]") {
  std::string ok = "RUN " + std::string(65531, 'x');
  REQUIRE(ok.size() == 65535);
  CHECK(parse_ok(ok + "\n").instructions.at(0).args.at(0).size() == 65531);
  CHECK(parse_ok(ok).instructions.size() == 1);
  std::string e = error_of("FROM a\n" + ok + "x\n");
  CHECK(e.rfind("Dockerfile:2: dockerfile line greater than max allowed size of 65535\n...", 0) == 0);
  CHECK(e.size() < 400);  // the line is shown as a window, not in full
  CHECK_THAT(error_of("\xEF\xBB\xBF" + ok + "\n"), Catch::Contains("max allowed size of 65535"));
}

TEST_CASE("comments above an instruction are kept", "[parser]") {
  Dockerfile f = parse_ok("# one\n  #   two  \n\n# three\nFROM a\n#\n# four\nRUN x\nRUN y\n");
  CHECK(f.instructions[0].comments == std::vector<std::string>{"one", "two", "three"});
  CHECK(f.instructions[1].comments == std::vector<std::string>{"four"});
  CHECK(f.instructions[2].comments.empty());
}

TEST_CASE("files without instructions are rejected", "[parser]") {
  CHECK(error_of("") == "Dockerfile: file with no instructions");
  CHECK_THAT(error_of("# just\n\n# comments\n"), Catch::StartsWith("Dockerfile:3: file with no instructions"));
}

TEST_CASE("continuations: one warning per instruction with empty continuation lines", "[parser]") {
  Dockerfile f = parse_ok(
      "\nFROM alpine:3.6\n\nRUN valid \\\n    continuation\n\nRUN something \\\n\n    following \\\n\n"
      "    more\n\nRUN another \\\n\n    thing\n\nRUN non-indented \\\n# this is a comment\n   after-comment\n\n"
      "RUN indented \\\n    # this is an indented comment\n    comment\n\t");
  REQUIRE(f.warnings.size() == 2);
  CHECK_THAT(f.warnings[0], Catch::StartsWith("Dockerfile:8: empty continuation line found in: RUN something     "
                                              "following     more"));
  CHECK_THAT(f.warnings[1], Catch::Contains("RUN another     thing"));
  CHECK(dump(f) ==
        "(from \"alpine:3.6\")\n(run \"valid     continuation\")\n(run \"something     following     more\")\n"
        "(run \"another     thing\")\n(run \"non-indented    after-comment\")\n(run \"indented     comment\")");
}
