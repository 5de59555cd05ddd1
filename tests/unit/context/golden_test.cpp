// Golden .dockerignore cases: testdata/dockerignore/<case>/{dockerignore,tree,expected}.
#include <catch2/catch.hpp>

#include "cbuild/context/context.hpp"
#include "context_fixture.hpp"

using namespace cbuild;
using namespace cbuild::context;
using cbuild::context::test::ContextDir;

namespace {

std::vector<std::string> lines_of(const fs::path& p) {
  auto text = read_file(p);
  REQUIRE(text.ok());
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = std::min(text->find('\n', pos), text->size());
    if (end > pos) out.push_back(text->substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

}  // namespace

TEST_CASE("golden .dockerignore cases", "[ignore][golden]") {
  fs::path root = fs::path(CBUILD_SOURCE_DIR) / "testdata/dockerignore";
  int cases = 0;
  for (const auto& entry : fs::directory_iterator(root)) {
    if (!entry.is_directory()) continue;
    ++cases;
    INFO("case " << entry.path().filename().string());
    ContextDir d;
    for (const auto& path : lines_of(entry.path() / "tree")) {
      if (path.ends_with('/'))
        d.dir(path);
      else
        d.file(path, path);
    }
    d.file(".dockerignore", read_file(entry.path() / "dockerignore").value());
    auto ctx = Context::open(d.root());
    REQUIRE(ctx.ok());
    std::vector<std::string> got;
    for (const auto& e : ctx->entries()) got.push_back(e.path);
    CHECK(got == lines_of(entry.path() / "expected"));
  }
  CHECK(cases >= 3);
}
