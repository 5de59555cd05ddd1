#include "parser_test_support.hpp"

using namespace cbuild::dockerfile;
using namespace cbuild::dockerfile::test;

TEST_CASE("source_error: FILE:LINE, the line, a caret under the column", "[parser]") {
  Dockerfile f;
  f.path = "sub/Dockerfile";
  f.lines = {"FROM a", "\tRUN --mout=x y"};
  CHECK(source_error(f, 2, "unknown flag: --mout", 5).message ==
        "sub/Dockerfile:2: unknown flag: --mout\n\tRUN --mout=x y\n\t    ^");
  CHECK(source_error(f, 1, "no caret", -1).message == "sub/Dockerfile:1: no caret\nFROM a");
  CHECK(source_error(f, 9, "past the end").message == "sub/Dockerfile: past the end");
  CHECK(source_error(f, 1, "x").code == cbuild::ExitCode::bad_input);
}

TEST_CASE("source_error: control characters are not echoed", "[parser]") {
  Dockerfile f;
  f.path = "Dockerfile";
  f.lines = {"RUN \x1b[31mred"};
  CHECK(source_error(f, 1, "bad", 4).message == "Dockerfile:1: bad\nRUN ?[31mred\n    ^");
}

TEST_CASE("every parse error names FILE:LINE and shows the line with a caret", "[parser]") {
  struct Case {
    const char* text;
    const char* prefix;
  };
  const Case cases[] = {
      {"FROM a\n# escape=x\nRUN \\\n", nullptr},  // not a directive there: parses
      {"# escape=x\nFROM a\n", "Dockerfile:1: invalid escape token"},
      {"#check=a\n#check=b\nFROM a\n", "Dockerfile:2: only one check parser directive"},
      {"FROM a\n\nENV X\n", "Dockerfile:3: ENV must have two arguments"},
      {"FROM a\nLABEL a=b c\n", "Dockerfile:2: Syntax error - can't find = in \"c\""},
      {"FROM a\nRUN [\"a\", {}]\n", "Dockerfile:2: when using JSON array syntax"},
      {"FROM a\nRUN \\\n  [\"a\", \\\n  1]\n", "Dockerfile:2: when using JSON array syntax"},
      {"FROM a\nCOPY <<EOF /x\n", "Dockerfile:2: unterminated heredoc"},
      {"FROM a\nONBUILD ADD <<-EOF /x\n", "Dockerfile:2: unterminated heredoc"},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    auto result = parse(c.text, "Dockerfile");
    if (c.prefix == nullptr) {
      CHECK(result.ok());
      continue;
    }
    REQUIRE_FALSE(result.ok());
    const std::string& message = result.error().message;
    CHECK_THAT(message, Catch::StartsWith(c.prefix));
    // Three lines: message, source line, caret line.
    CHECK(std::count(message.begin(), message.end(), '\n') == 2);
    CHECK(message.back() == '^');
  }
}

TEST_CASE("parsing never fails on odd bytes", "[parser]") {
  std::string text = "FROM a\n";
  for (int c = 0; c < 256; ++c) {
    text += "RUN ";
    text += static_cast<char>(c);
    text += " x\n";
  }
  Dockerfile f = parse_ok(text);
  CHECK(f.instructions.size() == 258);  // the "\n" byte splits its line in two
  CHECK(dump(f).find("(run \"\\x00 x\")") != std::string::npos);
  CHECK(dump_of("RUN \xff\xfe\n") == "(run \"\\xff\\xfe\")");
  // Only blanks after a continuation: the instruction is empty and still kept.
  CHECK(dump_of("\\\n  \\\n") == "(\"\")");
}
