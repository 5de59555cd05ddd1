// Choosing the context files of a COPY/ADD: globs, directories, --exclude, --parents, errors.
#include "cbuild/context/select.hpp"

#include <catch2/catch.hpp>

#include "context_fixture.hpp"

using namespace cbuild;
using namespace cbuild::context;
using cbuild::context::test::ContextDir;

namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;  // (context path, dest)

struct Fixture {
  ContextDir dir;
  Context ctx;

  static Context scan(const ContextDir& d, std::vector<std::string> ignore) {
    auto m = PatternMatcher::create(ignore);
    REQUIRE(m.ok());
    auto ctx = Context::scan(d.root(), *m);
    REQUIRE(ctx.ok());
    return std::move(*ctx);
  }

  explicit Fixture(std::vector<std::string> ignore = {}) : ctx(scan(populate(dir), ignore)) {}

  static const ContextDir& populate(const ContextDir& d) {
    d.file("home.txt", "1");
    d.file("homer.md", "2");
    d.file("other.txt", "3");
    d.file("secret.key", "k");
    d.file("dir1/file-101.png", "4");
    d.file("dir1/file-102.txt", "5");
    d.file("dir2/file-201.pdf", "6");
    d.file("dir2/sub/file-202.txt", "7");
    d.file("x/y/a.txt", "8");
    d.file("x/y/b.txt", "9");
    d.file("x/y/c.md", "10");
    d.file("src/a.txt", "11");
    d.file("src/x/b.txt", "12");
    d.file("src/x/y/c.txt", "13");
    d.file("src/x/y/d.rs", "14");
    d.symlink("home.txt", "home-link");
    d.symlink("dir1", "dir-link");
    return d;
  }

  Result<Selection> run(std::vector<std::string> sources, std::vector<std::string> excludes = {},
                        bool parents = false) {
    SelectOptions opt;
    opt.sources = std::move(sources);
    opt.excludes = std::move(excludes);
    opt.parents = parents;
    return select_files(ctx, opt);
  }

  Pairs pairs(std::vector<std::string> sources, std::vector<std::string> excludes = {},
              bool parents = false) {
    auto sel = run(std::move(sources), std::move(excludes), parents);
    REQUIRE(sel.ok());
    Pairs out;
    for (const auto& f : sel->files) out.emplace_back(f.entry->path, f.dest);
    return out;
  }
};

}  // namespace

TEST_CASE("a file source keeps its name and several sources add up", "[select]") {
  Fixture f;
  CHECK(f.pairs({"home.txt"}) == Pairs{{"home.txt", "home.txt"}});
  CHECK(f.pairs({"./home.txt", "/other.txt"}) == Pairs{{"home.txt", "home.txt"}, {"other.txt", "other.txt"}});
}

TEST_CASE("a directory source copies its contents", "[select]") {
  Fixture f;
  CHECK(f.pairs({"dir2"}) == Pairs{{"dir2/file-201.pdf", "file-201.pdf"},
                                   {"dir2/sub", "sub"},
                                   {"dir2/sub/file-202.txt", "sub/file-202.txt"}});
  auto all = f.pairs({"."});
  CHECK(all.size() == f.ctx.entries().size());
}

TEST_CASE("globs follow filepath.Match and do not cross /", "[select]") {
  Fixture f;
  CHECK(f.pairs({"hom*"}) ==
        Pairs{{"home.txt", "home-link"}, {"home.txt", "home.txt"}, {"homer.md", "homer.md"}});
  CHECK(f.pairs({"*.txt"}) == Pairs{{"home.txt", "home.txt"}, {"other.txt", "other.txt"}});
  CHECK(f.pairs({"x/*/[ab].txt"}) == Pairs{{"x/y/a.txt", "a.txt"}, {"x/y/b.txt", "b.txt"}});
  // A directory matched by a glob copies its contents.
  CHECK(f.pairs({"dir[1]"}) ==
        Pairs{{"dir1/file-101.png", "file-101.png"}, {"dir1/file-102.txt", "file-102.txt"}});
  // A glob matching nothing selects nothing (BuildKit's AllowEmptyWildcard).
  auto none = f.run({"*.none"});
  REQUIRE(none.ok());
  CHECK(none->files.empty());
  CHECK(none->matches.empty());
}

TEST_CASE("a symlink named by a source is followed under the source's name", "[select]") {
  Fixture f;
  auto sel = f.run({"home-link"});
  REQUIRE(sel.ok());
  REQUIRE(sel->matches.size() == 1);
  CHECK(sel->matches[0].path == "home.txt");
  CHECK(sel->matches[0].name == "home-link");
  CHECK(f.pairs({"home-link"}) == Pairs{{"home.txt", "home-link"}});
  CHECK(f.pairs({"dir-link"}) ==
        Pairs{{"dir1/file-101.png", "file-101.png"}, {"dir1/file-102.txt", "file-102.txt"}});
}

TEST_CASE("COPY --exclude filters inside directories and among glob matches", "[select]") {
  Fixture f;
  CHECK(f.pairs({"dir1", "dir2"}, {"*.png", "*.pdf"}) ==
        Pairs{{"dir1/file-102.txt", "file-102.txt"},
              {"dir2/sub", "sub"},
              {"dir2/sub/file-202.txt", "sub/file-202.txt"}});
  CHECK(f.pairs({"hom*"}, {"*.txt"}) == Pairs{{"home.txt", "home-link"}, {"homer.md", "homer.md"}});
  // Excluding a directory drops everything below it, unless an exception brings some back.
  CHECK(f.pairs({"dir2"}, {"sub"}) == Pairs{{"dir2/file-201.pdf", "file-201.pdf"}});
  CHECK(f.pairs({"src"}, {"x", "!x/y/d.rs"}) ==
        Pairs{{"src/a.txt", "a.txt"}, {"src/x", "x"}, {"src/x/y", "x/y"}, {"src/x/y/d.rs", "x/y/d.rs"}});
  auto bad = f.run({"src"}, {"["});
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Catch::StartsWith("COPY failed: --exclude: syntax error in pattern"));
}

TEST_CASE("COPY --parents keeps paths from the root or from the ./ pivot", "[select]") {
  Fixture f;
  CHECK(f.pairs({"./x/y/a.txt", "src/a.txt"}, {}, true) == Pairs{{"x", "x"},
                                                                 {"x/y", "x/y"},
                                                                 {"x/y/a.txt", "x/y/a.txt"},
                                                                 {"src", "src"},
                                                                 {"src/a.txt", "src/a.txt"}});
  CHECK(f.pairs({"./x/./y/*.txt"}, {}, true) ==
        Pairs{{"x/y", "y"}, {"x/y/a.txt", "y/a.txt"}, {"x/y/b.txt", "y/b.txt"}});
  CHECK(f.pairs({"./x/./y/a.txt"}, {}, true) == Pairs{{"x/y", "y"}, {"x/y/a.txt", "y/a.txt"}});
  // ** crosses directories, as in the Dockerfile reference.
  CHECK(f.pairs({"./src/**/*.txt"}, {}, true) == Pairs{{"src", "src"},
                                                       {"src/a.txt", "src/a.txt"},
                                                       {"src/x", "src/x"},
                                                       {"src/x/b.txt", "src/x/b.txt"},
                                                       {"src/x/y", "src/x/y"},
                                                       {"src/x/y/c.txt", "src/x/y/c.txt"}});
  // A directory pattern brings its whole tree; --exclude still applies.
  CHECK(f.pairs({"src/x"}, {"**/*.rs"}, true) == Pairs{{"src", "src"},
                                                       {"src/x", "src/x"},
                                                       {"src/x/b.txt", "src/x/b.txt"},
                                                       {"src/x/y", "src/x/y"},
                                                       {"src/x/y/c.txt", "src/x/y/c.txt"}});
  // A wildcard before the pivot picks the pivot directories.
  CHECK(f.pairs({"[x]/./y/a.txt"}, {}, true) == Pairs{{"x/y", "y"}, {"x/y/a.txt", "y/a.txt"}});
  auto missing = f.run({"./x/./y/zzz.txt"}, {}, true);
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Catch::Contains("stat x/y/zzz.txt"));
}

TEST_CASE("a missing source is an error naming it", "[select]") {
  Fixture f;
  auto r = f.run({"home.txt", "nope/foo"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ExitCode::bad_input);
  CHECK(r.error().message ==
        "COPY failed: file not found in build context or excluded by .dockerignore: stat nope/foo: file does "
        "not "
        "exist");
}

TEST_CASE("a source excluded by .dockerignore is not found", "[select]") {
  Fixture f({"*.key"});
  auto r = f.run({"secret.key"});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Contains("excluded by .dockerignore: stat secret.key"));
  for (const auto& [path, dest] : f.pairs({"*"})) CHECK(path != "secret.key");
}

TEST_CASE("a source leaving the context is refused", "[select]") {
  Fixture f;
  for (std::string src : {"../x", "a/../../x", ".."}) {
    INFO(src);
    SelectOptions opt;
    opt.sources = {src};
    opt.instruction = "ADD";
    auto r = select_files(f.ctx, opt);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message == "ADD failed: forbidden path outside the build context: " + src);
  }
  // An absolute source is relative to the context root, as in BuildKit.
  CHECK(f.pairs({"/../home.txt"}) == Pairs{{"home.txt", "home.txt"}});
  auto up = f.run({"../x"}, {}, true);
  REQUIRE_FALSE(up.ok());
  CHECK_THAT(up.error().message, Catch::Contains("outside the build context"));
}

TEST_CASE("a malformed glob source is an error", "[select]") {
  Fixture f;
  auto r = f.run({"dir[1"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "COPY failed: syntax error in pattern `dir[1`");
}
