#include "parser_test_support.hpp"

using namespace cbuild::dockerfile;
using namespace cbuild::dockerfile::test;

TEST_CASE("directives: syntax, escape and check are read from the top", "[parser]") {
  Dockerfile f = parse_ok("# syntax=docker/dockerfile:1\n#escape=`\n# check=skip=all\nFROM a\n");
  CHECK(f.directives.syntax == "docker/dockerfile:1");
  CHECK(f.directives.escape == '`');
  CHECK(f.directives.check == "skip=all");
  REQUIRE(f.instructions.size() == 1);
  CHECK(f.instructions[0].start_line == 4);
  CHECK(f.instructions[0].comments.empty());  // directives are not comments
}

TEST_CASE("directives: key case and spacing", "[parser]") {
  CHECK(parse_ok("# ESCAPE = `\nFROM a\n").directives.escape == '`');
  CHECK(parse_ok("  #  Syntax =  x/y:1  \nFROM a\n").directives.syntax == "x/y:1");
  CHECK(parse_ok("#syntax=a b c\nFROM a\n").directives.syntax == "a b c");
}

TEST_CASE("directives: reading stops at the first other line", "[parser]") {
  SECTION("after a comment") { CHECK(parse_ok("# hello\n# escape=`\nFROM a\n").directives.escape == '\\'); }
  SECTION("after a blank line") { CHECK(parse_ok("\n# escape=`\nFROM a\n").directives.escape == '\\'); }
  SECTION("after an unknown key") { CHECK(parse_ok("# foo=bar\n# escape=`\nFROM a\n").directives.escape == '\\'); }
  SECTION("after an instruction") {
    Dockerfile f = parse_ok("FROM a\n# escape=`\nRUN x \\\n y\n");
    CHECK(f.directives.escape == '\\');
    CHECK(dump(f) == "(from \"a\")\n(run \"x  y\")");
  }
  SECTION("directly followed by comments (no blank line)") {
    Dockerfile f = parse_ok("# escape=`\n# note\nRUN a `\n b\n");
    CHECK(f.directives.escape == '`');
    CHECK(f.instructions[0].args == std::vector<std::string>{"a  b"});
    CHECK(f.instructions[0].comments == std::vector<std::string>{"note"});
  }
}

TEST_CASE("directives: backtick escape makes backslash ordinary", "[parser]") {
  CHECK(dump_of("# escape=`\nRUN dir c:\\ `\n  && echo\n") == "(run \"dir c:\\\\   && echo\")");
  CHECK(dump_of("# escape=`\nCOPY --from=a`b x y\n") == "(copy [\"--from=ab\"] \"x\" \"y\")");
}

TEST_CASE("directives: a repeated key is an error naming the line", "[parser]") {
  std::string e = error_of("# escape=\\\n# ESCAPE=`\nFROM a\n");
  CHECK(e.rfind("Dockerfile:2: only one escape parser directive can be used\n# ESCAPE=`\n^", 0) == 0);
  CHECK_THAT(error_of("#syntax=a\n#syntax=b\nFROM a\n"),
             Catch::Contains("Dockerfile:2: only one syntax parser directive can be used"));
}

TEST_CASE("directives: escape accepts only backslash and backtick", "[parser]") {
  std::string e = error_of("# escape=x\nFROM a\n");
  CHECK(e == "Dockerfile:1: invalid escape token 'x' does not match ` or \\\n# escape=x\n         ^");
  CHECK_THAT(error_of("# escape=\\\\\nFROM a\n"), Catch::Contains("invalid escape token '\\\\'"));
  // Only blanks after '=': like Go's regexp, the value is the last blank.
  CHECK_THAT(error_of("# escape=  \nFROM a\n"), Catch::Contains("invalid escape token ' '"));
}
