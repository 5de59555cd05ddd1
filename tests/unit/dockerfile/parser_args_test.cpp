#include "dockerfile/parser_internal.hpp"
#include "parser_test_support.hpp"

using namespace cbuild::dockerfile;
using namespace cbuild::dockerfile::test;

TEST_CASE("JSON form vs shell form", "[parser]") {
  Dockerfile f = parse_ok("CMD [\"echo\", \"a b\"]\nCMD echo \"a b\"\nCMD []\nCMD [\"\"]\n");
  CHECK(f.instructions[0].args == std::vector<std::string>{"echo", "a b"});
  CHECK(f.instructions[0].json_form);
  CHECK(f.instructions[1].args == std::vector<std::string>{"echo \"a b\""});
  CHECK_FALSE(f.instructions[1].json_form);
  CHECK(dump(f) == "(cmd \"echo\" \"a b\")\n(cmd \"echo \\\"a b\\\"\")\n(cmd)\n(cmd \"\")");
  // Not JSON: falls back to shell form silently.
  CHECK(dump_of("CMD ['a','b']\n") == "(cmd \"['a','b']\")");
  CHECK(dump_of("CMD [\"a\"\n") == "(cmd \"[\\\"a\\\"\")");
  CHECK(dump_of("CMD [\"a\"] x\n") == "(cmd \"[\\\"a\\\"] x\")");
  CHECK(dump_of("CMD [1e999]\n") == "(cmd \"[1e999]\")");  // out of float64 range: Go fails
  CHECK(dump_of("ENTRYPOINT [\"\\u0000\\/\\ud83d\\ude00\\ud800x\"]\n") == "(entrypoint \"\\x00/😀�x\")");
}

TEST_CASE("JSON arrays must hold only strings", "[parser]") {
  std::string e = error_of("FROM a\nCMD [ \"echo\", [ \"nested json\" ] ]\n");
  CHECK(e == "Dockerfile:2: when using JSON array syntax, arrays must be comprised of strings only\n"
             "CMD [ \"echo\", [ \"nested json\" ] ]\n^");
  CHECK_THAT(error_of("RUN [\"a\", 1]\n"), Catch::Contains("comprised of strings only"));
  CHECK_THAT(error_of("COPY [null, \"b\"]\n"), Catch::Contains("comprised of strings only"));
  CHECK_THAT(error_of("HEALTHCHECK CMD [true]\n"), Catch::Contains("comprised of strings only"));
}

TEST_CASE("list instructions split on blanks unless JSON", "[parser]") {
  CHECK(dump_of("COPY [\"test file\", \"/tmp\"]\nADD a\t b\n") == "(copy \"test file\" \"/tmp\")\n(add \"a\" \"b\")");
  CHECK(dump_of("VOLUME /a /b\nEXPOSE 80 443/udp\nFROM x AS y\n") ==
        "(volume \"/a\" \"/b\")\n(expose \"80\" \"443/udp\")\n(from \"x\" \"AS\" \"y\")");
  CHECK(dump_of("COPY \"a b\" c\n") == "(copy \"\\\"a\" \"b\\\"\" \"c\")");  // quotes not special
}

TEST_CASE("flags: extracted from any instruction, quotes removed", "[parser]") {
  CHECK(dump_of("COPY --from=builder --chown=1:1 a b\n") == "(copy [\"--from=builder\" \"--chown=1:1\"] \"a\" \"b\")");
  CHECK(dump_of("RUN --mount=type=cache,target=\"/a b\" make\n") ==
        "(run [\"--mount=type=cache,target=/a b\"] \"make\")");
  CHECK(dump_of("RUN --network=none --network=host x\n") == "(run [\"--network=none\" \"--network=host\"] \"x\")");
  CHECK(dump_of("CMD --doit -- [ ]\n") == "(cmd [\"--doit\"])");
  CHECK(dump_of("COPY -- --a b\n") == "(copy \"--a\" \"b\")");
  CHECK(dump_of("COPY --a\\ b c\n") == "(copy [\"--a b\"] \"c\")");
  CHECK(dump_of("FROM --platform=linux/amd64 a\n") == "(from [\"--platform=linux/amd64\"] \"a\")");
  CHECK(dump_of("RUN --x\n") == "(run [\"--x\"])");
  CHECK(dump_of("RUN -x y\n") == "(run \"-x y\")");
  // Bytes of non-ASCII text in a flag are read one by one as Latin-1, as upstream.
  CHECK(dump_of("COPY --x=\xC3\xA9 a\n") == "(copy [\"--x=Ã©\"] \"a\")");
  CHECK(dump_of("COPY --x=\xC3\xA0 a\n") == "(copy [\"--x=Ã\"] \"a\")");  // 0xA0 is a blank
}

TEST_CASE("ENV and LABEL name/value forms", "[parser]") {
  CHECK(dump_of("ENV name value\n") == "(env \"name\" \"value\" \"\")");
  CHECK(dump_of("ENV name=value name2=value2\n") == "(env \"name\" \"value\" \"=\" \"name2\" \"value2\" \"=\")");
  CHECK(dump_of("ENV a=\"b c\" d='e f' g=h\\ i\n") ==
        "(env \"a\" \"\\\"b c\\\"\" \"=\" \"d\" \"'e f'\" \"=\" \"g\" \"h\\\\ i\" \"=\")");
  CHECK(dump_of("LABEL maintainer foo@bar.com and more\n") == "(label \"maintainer\" \"foo@bar.com and more\" \"\")");
  CHECK(dump_of("ENV\n") == "(env)");
  CHECK(error_of("ENV PATH\n") == "Dockerfile:1: ENV must have two arguments\nENV PATH\n^");
  CHECK_THAT(error_of("LABEL a\n"), Catch::Contains("LABEL must have two arguments"));
  CHECK_THAT(error_of("ENV a=b c\n"),
             Catch::Contains("Syntax error - can't find = in \"c\". Must be of the form: name=value"));
}

TEST_CASE("ARG keeps quotes and does not split at '='", "[parser]") {
  CHECK(dump_of("ARG abc=\"123 456\" def\n") == "(arg \"abc=\\\"123 456\\\"\" \"def\")");
  CHECK(dump_of("ARG\n") == "(arg)");
}

TEST_CASE("HEALTHCHECK: type word then a CMD-like rest", "[parser]") {
  CHECK(dump_of("HEALTHCHECK\n") == "(healthcheck)");
  CHECK(dump_of("HEALTHCHECK NONE\n") == "(healthcheck \"NONE\")");
  CHECK(dump_of("HEALTHCHECK --interval=5s CMD curl -f x\n") ==
        "(healthcheck [\"--interval=5s\"] \"CMD\" \"curl -f x\")");
  Dockerfile f = parse_ok("HEALTHCHECK CMD [\"a\", \"b\"]\n");
  CHECK(f.instructions[0].args == std::vector<std::string>{"CMD", "a", "b"});
  CHECK(f.instructions[0].json_form);
}

TEST_CASE("ONBUILD wraps a whole instruction", "[parser]") {
  CHECK(dump_of("ONBUILD RUN [\"echo\",\"test\"]\n") == "(onbuild (run \"echo\" \"test\"))");
  CHECK(dump_of("ONBUILD COPY --from=a x y\n") == "(onbuild (copy [\"--from=a\"] \"x\" \"y\"))");
  CHECK(dump_of("ONBUILD\n") == "(onbuild)");
  CHECK(dump_of("onbuild onbuild run x\n") == "(onbuild (onbuild (run \"x\")))");
  std::string deep = "FROM a\n";
  for (int i = 0; i < 5000; ++i) deep += "ONBUILD ";
  deep += "RUN x\n";
  CHECK_THAT(error_of(deep), Catch::StartsWith("Dockerfile:2: ONBUILD nested more than 8 levels deep"));
}

TEST_CASE("unknown instructions are kept with one empty argument", "[parser]") {
  Dockerfile f = parse_ok("FROM a\nFOO bar baz\nRUNN x\n");
  CHECK(dump(f) == "(from \"a\")\n(foo \"\")\n(runn \"\")");
  CHECK(is_known_instruction("Run"));
  CHECK(is_known_instruction("HEALTHCHECK"));
  CHECK_FALSE(is_known_instruction("RUNN"));
  CHECK(unknown_instruction_error(f, f.instructions[2]).message ==
        "Dockerfile:3: unknown instruction: RUNN (did you mean RUN?)\nRUNN x\n^");
  CHECK(unknown_instruction_error(f, f.instructions[1]).message ==
        "Dockerfile:2: unknown instruction: FOO (did you mean FROM?)\nFOO bar baz\n^");
  Dockerfile far = parse_ok("FROM a\n  XYZZY plugh\n");
  CHECK(unknown_instruction_error(far, far.instructions[1]).message ==
        "Dockerfile:2: unknown instruction: XYZZY\n  XYZZY plugh\n  ^");
}

TEST_CASE("keywords keep their spelling; the dump lowercases them", "[parser]") {
  Dockerfile f = parse_ok("from a\nRuN x\nWORKD\xC4\xB0R /x\n");
  CHECK(f.instructions[1].keyword == "RuN");
  // Go's unicode.ToLower maps U+0130 to 'i', so this is WORKDIR to upstream too.
  CHECK(dump(f) == "(from \"a\")\n(run \"x\")\n(workdir \"/x\")");
}

TEST_CASE("go_quote follows strconv.Quote", "[parser]") {
  CHECK(go_quote("plain") == "\"plain\"");
  CHECK(go_quote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(go_quote("\a\b\f\n\r\t\v") == "\"\\a\\b\\f\\n\\r\\t\\v\"");
  CHECK(go_quote(std::string("\x00\x1b\x7f", 3)) == "\"\\x00\\x1b\\x7f\"");
  CHECK(go_quote("\xff\xc3") == "\"\\xff\\xc3\"");               // invalid UTF-8 byte by byte
  CHECK(go_quote("\xed\xa0\x80") == "\"\\xed\\xa0\\x80\"");      // encoded surrogate is invalid
  CHECK(go_quote("♥ é ☃ 中") == "\"♥ é ☃ 中\"");
  CHECK(go_quote("\xc2\xa0\xc2\x85\xe2\x80\x8b\xe2\x80\xa8\xef\xbb\xbf\xc2\xad") ==
        "\"\\u00a0\\u0085\\u200b\\u2028\\ufeff\\u00ad\"");
  CHECK(go_quote("\xf3\xa0\x80\x81") == "\"\\U000e0001\"");       // a format character above U+FFFF
  CHECK(go_quote("\xee\x80\x80") == "\"\\ue000\"");                // private use
  CHECK(go_quote("\xf0\x9f\x98\x80") == "\"😀\"");
}

TEST_CASE("parse_words keeps quotes and escapes", "[parser]") {
  using detail::parse_words;
  CHECK(parse_words("a \"b c\" 'd \\' e", '\\') == std::vector<std::string>{"a", "\"b c\"", "'d \\'", "e"});
  CHECK(parse_words("x\\ y z\\", '\\') == std::vector<std::string>{"x\\ y", "z"});
  CHECK(parse_words("\"a\\\"b\" c", '\\') == std::vector<std::string>{"\"a\\\"b\"", "c"});
  CHECK(parse_words("a\xff b", '\\') == std::vector<std::string>{"a\xef\xbf\xbd", "b"});
}

TEST_CASE("JSON arrays of strings, as Go decodes them", "[parser]") {
  using detail::JsonArray;
  using V = std::vector<std::string>;
  const std::pair<const char*, V> valid[] = {
      {"[]", {}},
      {"[\"\"]", {""}},
      {"[\"a\",\"b\"]", {"a", "b"}},
      {"[ \"a\", \"b\" ]", {"a", "b"}},
      {"\t[\t\"a\",\t\"b\"\t]\t", {"a", "b"}},
      {"[\"abc 123\", \"♥\", \"☃\", \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000\"]",
       {"abc 123", "♥", "☃", std::string("\" \\ / \b \f \n \r \t \0", 17)}},
      {"[\"\xff\"]", {"\xef\xbf\xbd"}},         // invalid UTF-8 becomes U+FFFD
      {"[\"\\udc00\\ud800\"]", {"\xef\xbf\xbd\xef\xbf\xbd"}},  // lone surrogates too
  };
  for (const auto& [text, expected] : valid) {
    INFO(text);
    std::vector<std::string> out;
    REQUIRE(detail::parse_json_array(text, out) == JsonArray::ok);
    CHECK(out == expected);
  }
  for (const char* text : {"[\"a\",42,\"b\"]", "[\"a\",123.456,\"b\"]", "[\"a\",{},\"b\"]",
                           "[\"a\",{\"c\": \"d\"},\"b\"]", "[\"a\",[\"c\"],\"b\"]", "[\"a\",true,\"b\"]",
                           "[\"a\",false,\"b\"]", "[\"a\",null,\"b\"]"}) {
    INFO(text);
    std::vector<std::string> out;
    CHECK(detail::parse_json_array(text, out) == JsonArray::not_strings);
  }
  for (const char* text : {"", "a", "[", "[\"a\"", "[\"a\"] x", "['a']", "[\"a\",]", "[01]", "[\"\x01\"]", "{}",
                           "[\"a\", [1e400]]"}) {  // a number out of float64 range fails Go's decoding
    INFO(text);
    std::vector<std::string> out;
    CHECK(detail::parse_json_array(text, out) == JsonArray::not_json);
  }
  std::vector<std::string> out;
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  CHECK(detail::parse_json_array(deep, out) == JsonArray::not_strings);
  deep = "[" + deep + "]";  // deeper than Go's limit of 10000: a syntax error, so shell form
  CHECK(detail::parse_json_array(deep, out) == JsonArray::not_json);
}
