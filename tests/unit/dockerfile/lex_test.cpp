// Shell-word expansion: golden cases from testdata/expansion/*.txt plus API checks.
#include "cbuild/dockerfile/lex.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

namespace df = cbuild::dockerfile;
namespace fs = std::filesystem;

namespace {

std::string show_words(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += "[" + w + "]";
  return out.empty() ? "[]" : out;
}

struct GoldenCounts {
  int cases = 0;
  int failures = 0;
};

// Runs one golden file; every case is checked with CHECK so all failures are listed.
GoldenCounts run_golden(const fs::path& file) {
  std::ifstream in(file);
  REQUIRE(in);
  df::VarMap vars;
  df::LexOptions options;
  std::string mode = "word";
  GoldenCounts counts;
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("ENV ", 0) == 0) {
      auto eq = line.find('=');
      vars[line.substr(4, eq - 4)] = line.substr(eq + 1);
      continue;
    }
    if (line.rfind("ESCAPE ", 0) == 0) {
      options.escape = line[7];
      continue;
    }
    if (line.rfind("MODE ", 0) == 0) {
      mode = line.substr(5);
      continue;
    }
    auto bar = line.find(" | ");
    REQUIRE(bar != std::string::npos);
    std::string input = line.substr(0, bar), expected = line.substr(bar + 3);
    if (expected == "<empty>") expected.clear();
    df::LexOptions opts = options;
    opts.raw_quotes = mode == "raw";
    opts.skip_unset = mode == "skip";
    auto result = df::Lexer(opts).process(input, vars);
    std::string got;
    if (!result)
      got = "error: " + result.error().message;
    else
      got = mode == "words" ? show_words(result->words) : result->word;
    bool ok = expected.rfind("error: ", 0) == 0 ? !result && got.find(expected.substr(7)) != std::string::npos
                                                : result && got == expected;
    ++counts.cases;
    if (!ok) ++counts.failures;
    INFO(file.filename().string() << ":" << number << " mode " << mode << " input {" << input << "}");
    CHECK(got == (ok ? got : expected));
  }
  return counts;
}

}  // namespace

TEST_CASE("expansion golden files", "[lex]") {
  fs::path dir = fs::path(CBUILD_SOURCE_DIR) / "testdata" / "expansion";
  int files = 0, cases = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    auto counts = run_golden(entry.path());
    ++files;
    cases += counts.cases;
    CHECK(counts.failures == 0);
  }
  CHECK(files >= 3);
  CHECK(cases >= 100);
}

TEST_CASE("process_word and process_words agree with process", "[lex]") {
  df::VarMap vars{{"A", "1 2"}};
  df::Lexer lexer;
  auto word = lexer.process_word("x $A", vars);
  REQUIRE(word);
  CHECK(*word == "x 1 2");
  auto words = lexer.process_words("x $A", vars);
  REQUIRE(words);
  CHECK(*words == std::vector<std::string>{"x", "1", "2"});
}

TEST_CASE("expansion reports variables used and missing", "[lex]") {
  df::VarMap vars{{"SET", "v"}};
  auto r = df::Lexer().process("$SET ${MISSING:-d} ${SET#x}", vars);
  REQUIRE(r);
  CHECK(r->matched == std::set<std::string>{"SET"});
  CHECK(r->unmatched == std::set<std::string>{"MISSING"});
}

TEST_CASE("expansion errors name the word", "[lex]") {
  auto r = df::Lexer().process("${X:?is required}", {});
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "failed to process \"${X:?is required}\": X: is required");
  CHECK(r.error().code == cbuild::ExitCode::bad_input);
}

TEST_CASE("raw escapes keep the escape character", "[lex]") {
  df::LexOptions opts;
  opts.raw_escapes = true;
  opts.raw_quotes = true;
  auto r = df::Lexer(opts).process_word(R"(a\ b "c\"d" $V)", {{"V", "v"}});
  REQUIRE(r);
  CHECK(*r == R"(a\ b "c\"d" v)");
}

TEST_CASE("glob_match", "[lex]") {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const Case cases[] = {{"*", "", true},          {"*", "abc", true},         {"a?c", "abc", true},
                        {"a?c", "ac", false},     {"*.gz", "x.tar.gz", true}, {"a*b*c", "aXbYc", true},
                        {"a*b*c", "aXbY", false}, {R"(\*)", "*", true},       {R"(\*)", "x", false},
                        {"[ab]", "[ab]", true},   {"[ab]", "a", false}};
  for (const auto& c : cases) {
    INFO(c.pattern << " ~ " << c.text);
    auto r = df::glob_match(c.pattern, c.text);
    REQUIRE(r);
    CHECK(*r == c.match);
  }
  CHECK_FALSE(df::glob_match(R"(\x)", "x"));
}

TEST_CASE("long values expand in reasonable time", "[lex]") {
  // Replacement scans every start position; a long non-matching value must stay cheap.
  df::VarMap vars{{"V", std::string(20000, 'a')}};
  auto r = df::Lexer().process_word("${V//a*b/x}${V%%b*}${V/a/b}", vars);
  REQUIRE(r);
  CHECK(r->size() == 2 * 20000 + 20000);
  CHECK(r->substr(40000, 1) == "b");
}
