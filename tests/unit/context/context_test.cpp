// Scanning a context directory with .dockerignore applied, as BuildKit sends it.
#include "cbuild/context/context.hpp"

#include <catch2/catch.hpp>

#include "context_fixture.hpp"

using namespace cbuild;
using namespace cbuild::context;
using cbuild::context::test::ContextDir;

namespace {

std::vector<std::string> paths_of(const Context& ctx) {
  std::vector<std::string> out;
  for (const auto& e : ctx.entries()) out.push_back(e.path);
  return out;
}

std::vector<std::string> scan_with(const ContextDir& dir, std::vector<std::string> patterns) {
  auto m = PatternMatcher::create(patterns);
  REQUIRE(m.ok());
  auto ctx = Context::scan(dir.root(), *m);
  REQUIRE(ctx.ok());
  return paths_of(*ctx);
}

void make_tree(const ContextDir& d) {
  d.file("Dockerfile", "FROM scratch\n");
  d.file("a.txt", "a");
  d.file("a.log", "log");
  d.file("docs/README.md", "readme");
  d.file("docs/other.md", "other");
  d.file("docs/api/index.md", "api");
  d.file("src/main.c", "int main;");
  d.file("src/x/y/deep.log", "deep");
  d.file("build/out.o", "o");
  d.file("sub/build/keep.o", "o");
}

}  // namespace

TEST_CASE("a scan lists everything in walk order without patterns", "[context]") {
  ContextDir d;
  make_tree(d);
  d.symlink("a.txt", "link");
  auto paths = scan_with(d, {});
  std::vector<std::string> want{"Dockerfile",
                                "a.log",
                                "a.txt",
                                "build",
                                "build/out.o",
                                "docs",
                                "docs/README.md",
                                "docs/api",
                                "docs/api/index.md",
                                "docs/other.md",
                                "link",
                                "src",
                                "src/main.c",
                                "src/x",
                                "src/x/y",
                                "src/x/y/deep.log",
                                "sub",
                                "sub/build",
                                "sub/build/keep.o"};
  CHECK(paths == want);
  auto m = PatternMatcher::create({});
  auto ctx = Context::scan(d.root(), *m);
  REQUIRE(ctx.ok());
  const Entry* link = ctx->find("link");
  REQUIRE(link);
  CHECK(link->type == FileType::symlink);
  CHECK(link->link_target == "a.txt");
  const Entry* docs = ctx->find("docs");
  REQUIRE(docs);
  size_t i = ctx->index_of(*docs);
  CHECK(ctx->subtree_end(i) - i - 1 == 4);  // README.md, api, api/index.md, other.md
}

TEST_CASE("dockerignore: double star matches any number of directories", "[context]") {
  ContextDir d;
  make_tree(d);
  auto paths = scan_with(d, {"**/*.log"});
  CHECK(std::find(paths.begin(), paths.end(), "a.log") == paths.end());
  CHECK(std::find(paths.begin(), paths.end(), "src/x/y/deep.log") == paths.end());
  CHECK(std::find(paths.begin(), paths.end(), "src/x/y") != paths.end());  // dirs stay
}

TEST_CASE("dockerignore: a leading slash is the context root and not any level", "[context]") {
  ContextDir d;
  make_tree(d);
  auto patterns = parse_ignore_file("/build\n");
  auto paths = scan_with(d, patterns);
  CHECK(std::find(paths.begin(), paths.end(), "build") == paths.end());
  CHECK(std::find(paths.begin(), paths.end(), "build/out.o") == paths.end());
  CHECK(std::find(paths.begin(), paths.end(), "sub/build/keep.o") != paths.end());
}

TEST_CASE("dockerignore: ! re-includes a file inside an excluded directory", "[context]") {
  ContextDir d;
  make_tree(d);
  auto paths = scan_with(d, {"docs", "!docs/README.md"});
  std::vector<std::string> docs;
  for (const auto& p : paths)
    if (p.starts_with("docs")) docs.push_back(p);
  CHECK(docs == std::vector<std::string>{"docs", "docs/README.md"});

  // A wildcard exception makes the walk enter every excluded directory.
  auto only_c = scan_with(d, {"*", "!**/*.c"});
  CHECK(only_c == std::vector<std::string>{"src", "src/main.c"});

  // An exception below an excluded directory that is not on its way is never reached.
  auto api = scan_with(d, {"docs", "!docs/api/index.md"});
  std::vector<std::string> docs2;
  for (const auto& p : api)
    if (p.starts_with("docs")) docs2.push_back(p);
  CHECK(docs2 == std::vector<std::string>{"docs", "docs/api", "docs/api/index.md"});
}

TEST_CASE("excludes_below: whether the patterns left out something at or below a path", "[context]") {
  ContextDir d;
  make_tree(d);
  d.file("src-old/x", "x");  // sorts between "src" and what is below it in byte order
  auto scan = [&](std::vector<std::string> patterns) {
    auto m = PatternMatcher::create(std::move(patterns));
    REQUIRE(m.ok());
    auto ctx = Context::scan(d.root(), *m);
    REQUIRE(ctx.ok());
    return std::move(*ctx);
  };
  auto none = scan({});
  CHECK_FALSE(none.excludes_below("."));
  CHECK_FALSE(none.excludes_below("src"));
  auto logs = scan({"**/*.log", "build"});
  CHECK(logs.excludes_below("."));
  CHECK(logs.excludes_below("src"));  // src/x/y/deep.log
  CHECK(logs.excludes_below("src/x"));
  CHECK(logs.excludes_below("src/x/y/deep.log"));
  CHECK(logs.excludes_below("build"));
  CHECK_FALSE(logs.excludes_below("docs"));
  CHECK_FALSE(logs.excludes_below("sub"));  // sub/build: "build" is anchored at the root
  CHECK_FALSE(logs.excludes_below("src-old"));
  CHECK_FALSE(logs.excludes_below("sr"));
  // Inside an excluded directory walked for an exception, what stays out is recorded.
  auto docs = scan({"docs", "!docs/README.md"});
  CHECK(docs.excludes_below("docs"));
  CHECK(docs.excludes_below("docs/api"));
  CHECK_FALSE(docs.excludes_below("src"));
}

TEST_CASE("dockerignore: last matching pattern wins", "[context]") {
  ContextDir d;
  make_tree(d);
  auto paths = scan_with(d, {"*.txt", "!a.txt", "a.*"});
  CHECK(std::find(paths.begin(), paths.end(), "a.txt") == paths.end());
  CHECK(std::find(paths.begin(), paths.end(), "a.log") == paths.end());
  auto paths2 = scan_with(d, {"a.*", "!a.txt"});
  CHECK(std::find(paths2.begin(), paths2.end(), "a.txt") != paths2.end());
  CHECK(std::find(paths2.begin(), paths2.end(), "a.log") == paths2.end());
}

TEST_CASE("Dockerfile and .dockerignore are sent unless excluded (BuildKit)", "[context]") {
  ContextDir d;
  make_tree(d);
  d.file(".dockerignore", "*.log\n");
  auto ctx = Context::open(d.root(), d.root() / "Dockerfile");
  REQUIRE(ctx.ok());
  CHECK(ctx->find(".dockerignore"));
  CHECK(ctx->find("Dockerfile"));
  CHECK_FALSE(ctx->find("a.log"));
  CHECK(ctx->ignore_file().path == d.root() / ".dockerignore");

  d.file(".dockerignore", "Dockerfile\n.dockerignore\n");
  auto ctx2 = Context::open(d.root(), d.root() / "Dockerfile");
  REQUIRE(ctx2.ok());
  CHECK_FALSE(ctx2->find(".dockerignore"));
  CHECK_FALSE(ctx2->find("Dockerfile"));
}

TEST_CASE("<Dockerfile>.dockerignore takes precedence over .dockerignore", "[context]") {
  ContextDir d;
  make_tree(d);
  d.file(".dockerignore", "a.txt\n");
  d.file("ci/build.Dockerfile", "FROM scratch\n");
  d.file("ci/build.Dockerfile.dockerignore", "# only logs\n*.log\n");
  auto ctx = Context::open(d.root(), d.root() / "ci/build.Dockerfile");
  REQUIRE(ctx.ok());
  CHECK(ctx->ignore_file().path == d.root() / "ci/build.Dockerfile.dockerignore");
  CHECK(ctx->find("a.txt"));
  CHECK_FALSE(ctx->find("a.log"));

  auto plain = Context::open(d.root(), d.root() / "Dockerfile");
  REQUIRE(plain.ok());
  CHECK_FALSE(plain->find("a.txt"));
  CHECK(plain->find("a.log"));

  auto from_stdin = Context::open(d.root());
  REQUIRE(from_stdin.ok());
  CHECK(from_stdin->ignore_file().path == d.root() / ".dockerignore");
}

TEST_CASE("a malformed .dockerignore names the file", "[context]") {
  ContextDir d;
  d.file(".dockerignore", "ok\n[\n");
  auto ctx = Context::open(d.root());
  REQUIRE_FALSE(ctx.ok());
  CHECK_THAT(ctx.error().message,
             Catch::Contains(".dockerignore") && Catch::Contains("syntax error in pattern `[`"));
}

TEST_CASE("resolve follows symlinks inside the context only", "[context]") {
  ContextDir d;
  d.file("real/f.txt", "x");
  d.symlink("real", "dirlink");
  d.symlink("/real/f.txt", "abs");
  d.symlink("../../../real", "up");
  d.symlink("loop2", "loop1");
  d.symlink("loop1", "loop2");
  auto m = PatternMatcher::create({});
  auto ctx = Context::scan(d.root(), *m);
  REQUIRE(ctx.ok());
  CHECK(ctx->resolve("dirlink/f.txt", true).value() == std::optional<std::string>("real/f.txt"));
  CHECK(ctx->resolve("abs", true).value() == std::optional<std::string>("real/f.txt"));
  CHECK(ctx->resolve("abs", false).value() == std::optional<std::string>("abs"));
  CHECK(ctx->resolve("up/f.txt", true).value() == std::optional<std::string>("real/f.txt"));
  CHECK(ctx->resolve("real/missing", true).value() == std::nullopt);
  CHECK(ctx->resolve(".", true).value() == std::optional<std::string>("."));
  CHECK_FALSE(ctx->resolve("loop1", true).ok());
}
