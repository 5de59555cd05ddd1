// .dockerignore parsing and matching, with the tables of moby/patternmatcher's tests.
#include "cbuild/context/ignore.hpp"

#include <catch2/catch.hpp>

using namespace cbuild::context;

namespace {

enum Expect { fail, exact, inexact };

struct Case {
  const char* pattern;
  const char* text;
  Expect expect;
};

// patternmatcher_test.go TestMatches: `exact` matches the path itself, `inexact` only
// through a parent directory.
const Case k_cases[] = {
    {"**", "file", exact},
    {"**", "file/", exact},
    {"**/", "file", exact},
    {"**/", "file/", exact},
    {"**", "/", exact},
    {"**/", "/", exact},
    {"**", "dir/file", exact},
    {"**/", "dir/file", exact},
    {"**", "dir/file/", exact},
    {"**/", "dir/file/", exact},
    {"**/**", "dir/file", exact},
    {"**/**", "dir/file/", exact},
    {"dir/**", "dir/file", exact},
    {"dir/**", "dir/file/", exact},
    {"dir/**", "dir/dir2/file", exact},
    {"dir/**", "dir/dir2/file/", exact},
    {"**/dir", "dir", exact},
    {"**/dir", "dir/file", inexact},
    {"**/dir2/*", "dir/dir2/file", exact},
    {"**/dir2/*", "dir/dir2/file/", inexact},
    {"**/dir2/**", "dir/dir2/dir3/file", exact},
    {"**/dir2/**", "dir/dir2/dir3/file/", exact},
    {"**file", "file", exact},
    {"**file", "dir/file", exact},
    {"**/file", "dir/file", exact},
    {"**file", "dir/dir/file", exact},
    {"**/file", "dir/dir/file", exact},
    {"**/file*", "dir/dir/file", exact},
    {"**/file*", "dir/dir/file.txt", exact},
    {"**/file*txt", "dir/dir/file.txt", exact},
    {"**/file*.txt", "dir/dir/file.txt", exact},
    {"**/file*.txt*", "dir/dir/file.txt", exact},
    {"**/**/*.txt", "dir/dir/file.txt", exact},
    {"**/**/*.txt2", "dir/dir/file.txt", fail},
    {"**/*.txt", "file.txt", exact},
    {"**/**/*.txt", "file.txt", exact},
    {"a**/*.txt", "a/file.txt", exact},
    {"a**/*.txt", "a/dir/file.txt", exact},
    {"a**/*.txt", "a/dir/dir/file.txt", exact},
    {"a/*.txt", "a/dir/file.txt", fail},
    {"a/*.txt", "a/file.txt", exact},
    {"a/*.txt**", "a/file.txt", exact},
    {"a[b-d]e", "ae", fail},
    {"a[b-d]e", "ace", exact},
    {"a[b-d]e", "aae", fail},
    {"a[^b-d]e", "aze", exact},
    {".*", ".foo", exact},
    {".*", "foo", fail},
    {"abc.def", "abcdef", fail},
    {"abc.def", "abc.def", exact},
    {"abc.def", "abcZdef", fail},
    {"abc?def", "abcZdef", exact},
    {"abc?def", "abcdef", fail},
    {"**/foo/bar", "foo/bar", exact},
    {"**/foo/bar", "dir/foo/bar", exact},
    {"**/foo/bar", "dir/dir2/foo/bar", exact},
    {"abc/**", "abc", fail},
    {"abc/**", "abc/def", exact},
    {"abc/**", "abc/def/ghi", exact},
    {"**/.foo", ".foo", exact},
    {"**/.foo", "bar.foo", fail},
    {"a(b)c/def", "a(b)c/def", exact},
    {"a(b)c/def", "a(b)c/xyz", fail},
    {"a.|)$(}+{bc", "a.|)$(}+{bc", exact},
    {"dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", exact},
    {"dist/*.whl", "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", exact},
    {"a\\\\", "a\\", exact},
    {"a\\*b", "a*b", exact},
};

struct MultiCase {
  std::vector<std::string> patterns;
  const char* text;
  bool excluded;
};

const MultiCase k_multi_cases[] = {
    {{"**", "!util/docker/web"}, "util/docker/web/foo", false},
    {{"**", "!util/docker/web", "util/docker/web/foo"}, "util/docker/web/foo", true},
    {{"**", "!dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl"},
     "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl",
     false},
    {{"**", "!dist/*.whl"}, "dist/proxy.py-2.4.0rc3.dev36+g08acad9-py3-none-any.whl", false},
    // The single-test functions of patternmatcher_test.go.
    {{"*"}, "fileutils.go", true},
    {{"*.go"}, "fileutils.go", true},
    {{"!fileutils.go", "*.go"}, "fileutils.go", true},
    {{"docs", "!docs/README.md"}, "docs/README.md", false},
    {{"docs/", "!docs/README.md"}, "docs/README.md", false},
    {{"docs/*", "!docs/README.md"}, "docs/README.md", false},
    {{"*.go", "!fileutils.go"}, "fileutils.go", false},
    {{}, "any/path/there", false},
    // Last match wins, whichever direction.
    {{"*.md", "!README.md", "README.md"}, "README.md", true},
    {{"docs", "!docs/README.md"}, "docs/other.md", true},
    {{"  docs  ", "  !docs/README.md  "}, "docs/README.md", false},
};

/// Matches `text` the way a walk does: parents first, handing their results down.
bool walk_match(const PatternMatcher& m, const std::string& text) {
  PatternMatcher::MatchInfo info;
  for (size_t slash = text.find('/'); slash != std::string::npos; slash = text.find('/', slash + 1)) {
    if (slash == 0) continue;
    PatternMatcher::MatchInfo next;
    m.match(text.substr(0, slash), info, &next);
    info = std::move(next);
  }
  return m.match(text, info, nullptr);
}

}  // namespace

TEST_CASE("single patterns match as patternmatcher's table says", "[ignore]") {
  for (const auto& c : k_cases) {
    INFO("pattern=" << c.pattern << " text=" << c.text);
    auto m = PatternMatcher::create({c.pattern});
    REQUIRE(m.ok());
    CHECK(m->matches_exact(c.text) == (c.expect == exact));
    CHECK(m->matches(c.text) == (c.expect != fail));
    CHECK(walk_match(*m, c.text) == (c.expect != fail));
  }
}

TEST_CASE("pattern lists: exceptions and order", "[ignore]") {
  for (const auto& c : k_multi_cases) {
    INFO("text=" << c.text << " first pattern=" << (c.patterns.empty() ? "" : c.patterns[0]));
    auto m = PatternMatcher::create(c.patterns);
    REQUIRE(m.ok());
    CHECK(m->matches(c.text) == c.excluded);
    CHECK(walk_match(*m, c.text) == c.excluded);
  }
}

TEST_CASE("Go's match table through the ignore matcher (parents match too)", "[ignore]") {
  // patternmatcher's TestMatch: filepath.Match cases run through Matches.
  const std::tuple<const char*, const char*, int> cases[] = {
      {"abc", "abc", 1},    {"*", "abc", 1},        {"a*", "ab/c", 1},
      {"a*/b", "abc/b", 1}, {"a*/b", "a/c/b", 0},   {"ab[^c]", "abc", 0},
      {"a\\*b", "a*b", 1},  {"a?b", "a\u263Ab", 1}, {"[a-\u03B6]*", "\u03B1", 1},
      {"a?b", "a/b", 0},    {"[\\]a]", "]", 1},     {"[x\\-]", "-", 1},
      {"[]a]", "]", -1},    {"[-]", "-", -1},       {"[x-]", "x", -1},
      {"\\", "a", -1},      {"[a-b-c]", "a", -1},   {"[", "a", -1},
      {"[^bc", "a", -1},    {"a[", "a", -1},        {"*x", "xxx", 1},
  };
  for (auto [pattern, text, want] : cases) {
    INFO("pattern=" << pattern << " text=" << text);
    auto m = PatternMatcher::create({pattern});
    if (want < 0) {
      CHECK_FALSE(m.ok());
      continue;
    }
    REQUIRE(m.ok());
    CHECK(m->matches(text) == (want == 1));
  }
}

TEST_CASE("bad pattern lists are refused", "[ignore]") {
  auto bang = PatternMatcher::create({"!"});
  REQUIRE_FALSE(bang.ok());
  CHECK(bang.error().message == "illegal exclusion pattern: \"!\"");
  CHECK_FALSE(PatternMatcher::create({"["}).ok());
  CHECK_FALSE(PatternMatcher::create({"[z-a]"}).ok());  // Go's regexp refuses the range
  CHECK(PatternMatcher::create({"docs", "config", ""}).ok());
}

TEST_CASE("has_exceptions and the walk-into rule for excluded directories", "[ignore]") {
  auto plain = PatternMatcher::create({"docs", "!docs/api/README.md", "!keep/**"});
  REQUIRE(plain.ok());
  CHECK(plain->has_exceptions());
  CHECK(plain->must_walk_excluded_dir("docs"));
  CHECK(plain->must_walk_excluded_dir("docs/api"));
  CHECK_FALSE(plain->must_walk_excluded_dir("docs/other"));
  CHECK(plain->must_walk_excluded_dir("keep"));
  CHECK_FALSE(plain->must_walk_excluded_dir("node_modules"));

  auto glob = PatternMatcher::create({"*", "!**/*.c"});
  REQUIRE(glob.ok());
  CHECK(glob->must_walk_excluded_dir("anything"));  // a wildcard exception may match anywhere

  auto none = PatternMatcher::create({"docs"});
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_exceptions());
  CHECK_FALSE(none->must_walk_excluded_dir("docs"));
}

TEST_CASE("parse_ignore_file follows ignorefile.ReadAll", "[ignore]") {
  const char* text =
      "test1\n"
      "/test2\n"
      "/a/file/here\n"
      "\n"
      "lastfile\n"
      "# this is a comment\n"
      "! /inverted/abs/path\n"
      "!\n"
      "! ";
  std::vector<std::string> want{"test1", "test2", "a/file/here", "lastfile", "!inverted/abs/path", "!", "!"};
  CHECK(parse_ignore_file(text) == want);

  CHECK(parse_ignore_file("\xEF\xBB\xBF"
                          "node_modules\r\n  dist/  \n") == std::vector<std::string>{"node_modules", "dist"});
  CHECK(parse_ignore_file(" # not a comment\n./a/../b//c\n") ==
        std::vector<std::string>{"# not a comment", "b/c"});
  CHECK(parse_ignore_file("/\n") == std::vector<std::string>{"/"});
}
