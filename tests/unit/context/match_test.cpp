// Go filepath.Match semantics: the table of Go's own path/filepath match_test.go.
#include "cbuild/context/match.hpp"

#include <catch2/catch.hpp>

using namespace cbuild::context;

namespace {

enum Expect { no, yes, bad };

struct MatchCase {
  const char* pattern;
  const char* name;
  Expect expect;
};

const MatchCase k_go_cases[] = {
    {"abc", "abc", yes},
    {"*", "abc", yes},
    {"*c", "abc", yes},
    {"a*", "a", yes},
    {"a*", "abc", yes},
    {"a*", "ab/c", no},
    {"a*/b", "abc/b", yes},
    {"a*/b", "a/c/b", no},
    {"a*b*c*d*e*/f", "axbxcxdxe/f", yes},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/f", yes},
    {"a*b*c*d*e*/f", "axbxcxdxe/xxx/f", no},
    {"a*b*c*d*e*/f", "axbxcxdxexxx/fff", no},
    {"a*b?c*x", "abxbbxdbxebxczzx", yes},
    {"a*b?c*x", "abxbbxdbxebxczzy", no},
    {"ab[c]", "abc", yes},
    {"ab[b-d]", "abc", yes},
    {"ab[e-g]", "abc", no},
    {"ab[^c]", "abc", no},
    {"ab[^b-d]", "abc", no},
    {"ab[^e-g]", "abc", yes},
    {"a\\*b", "a*b", yes},
    {"a\\*b", "ab", no},
    {"a?b", "a\u263Ab", yes},
    {"a[^a]b", "a\u263Ab", yes},
    {"a???b", "a\u263Ab", no},
    {"a[^a][^a][^a]b", "a\u263Ab", no},
    {"[a-\u03B6]*", "\u03B1", yes},
    {"*[a-\u03B6]", "A", no},
    {"a?b", "a/b", no},
    {"a*b", "a/b", no},
    {"[\\]a]", "]", yes},
    {"[\\-]", "-", yes},
    {"[x\\-]", "x", yes},
    {"[x\\-]", "-", yes},
    {"[x\\-]", "z", no},
    {"[\\-x]", "x", yes},
    {"[\\-x]", "-", yes},
    {"[\\-x]", "a", no},
    {"[]a]", "]", bad},
    {"[-]", "-", bad},
    {"[x-]", "x", bad},
    {"[x-]", "-", bad},
    {"[x-]", "z", bad},
    {"[-x]", "x", bad},
    {"[-x]", "-", bad},
    {"[-x]", "a", bad},
    {"\\", "a", bad},
    {"[a-b-c]", "a", bad},
    {"[", "a", bad},
    {"[^", "a", bad},
    {"[^bc", "a", bad},
    {"a[", "a", bad},
    {"a[", "ab", bad},
    {"a[", "x", bad},
    {"a/b[", "x", bad},
    {"*x", "xxx", yes},
    // Beyond Go's table: '!' is not negation in Go, '*' never crosses '/'.
    {"[!a]", "!", yes},
    {"[!a]", "b", no},
    {"*", "a/b", no},
    {"*/*.go", "cmd/main.go", yes},
    {"*.go", "", no},
    {"", "", yes},
    {"**", "a/b", no},
};

}  // namespace

TEST_CASE("go_match follows Go's filepath.Match table", "[match]") {
  for (const auto& c : k_go_cases) {
    INFO("pattern=" << c.pattern << " name=" << c.name);
    auto r = go_match(c.pattern, c.name);
    if (c.expect == bad) {
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().message == fmt::format("syntax error in pattern `{}`", c.pattern));
      continue;
    }
    REQUIRE(r.ok());
    CHECK(*r == (c.expect == yes));
  }
}

TEST_CASE("a compiled Glob matches repeatedly", "[match]") {
  auto glob = Glob::compile("src/*.[ch]");
  REQUIRE(glob.ok());
  CHECK(glob->matches("src/a.c"));
  CHECK(glob->matches("src/b.h"));
  CHECK_FALSE(glob->matches("src/b.o"));
  CHECK_FALSE(glob->matches("src/x/a.c"));
}

TEST_CASE("has_wildcards sees unescaped wildcard characters", "[match]") {
  CHECK(has_wildcards("a*"));
  CHECK(has_wildcards("a?"));
  CHECK(has_wildcards("[ab]"));
  CHECK_FALSE(has_wildcards("a\\*b"));
  CHECK_FALSE(has_wildcards("plain/path.txt"));
}

TEST_CASE("clean_path is Go's path.Clean", "[match]") {
  const std::pair<const char*, const char*> cases[] = {
      {"", "."},       {".", "."},         {"a/./b", "a/b"},      {"a//b/", "a/b"},
      {"a/../b", "b"}, {"../x", "../x"},   {"a/../../x", "../x"}, {"/../x", "/x"},
      {"/", "/"},      {"./x/./y", "x/y"},
  };
  for (auto [in, want] : cases) {
    INFO(in);
    CHECK(clean_path(in) == want);
  }
}

TEST_CASE("split_wildcards cuts at the first element with a wildcard", "[match]") {
  CHECK(split_wildcards("a/b/*.go/c") == std::pair<std::string, std::string>{"a/b", "*.go/c"});
  CHECK(split_wildcards("*.txt") == std::pair<std::string, std::string>{".", "*.txt"});
  CHECK(split_wildcards("a/b") == std::pair<std::string, std::string>{"a/b", ""});
  CHECK(split_wildcards("./a/\\*") == std::pair<std::string, std::string>{"a/\\*", ""});
}
