#include "cbuild/util/fs.hpp"

#include <catch2/catch.hpp>

using namespace cbuild;

namespace {
Result<int> parse_positive(int v) {
  if (v <= 0) return make_error(ExitCode::bad_input, "not positive: {}", v);
  return v;
}
Result<int> doubled(int v) { return TRY(parse_positive(v)) * 2; }
}  // namespace

TEST_CASE("TRY propagates errors and unwraps values") {
  CHECK(doubled(3).value() == 6);
  auto r = doubled(-1);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message == "not positive: -1");
  CHECK(r.error().code == ExitCode::bad_input);
}

TEST_CASE("atomic file appears only on commit") {
  auto dir = TempDir::create("cbuild-test-").value();
  auto dest = dir.path() / "f";
  {
    auto f = AtomicFile::create(dest).value();
    REQUIRE(f.write("hello").ok());
    CHECK_FALSE(fs::exists(dest));
  }
  CHECK_FALSE(fs::exists(dest));
  CHECK(fs::is_empty(dir.path()));
  REQUIRE(write_file_atomic(dest, "data").ok());
  CHECK(read_file(dest).value() == "data");
}

TEST_CASE("read_file names the path on error") {
  auto r = read_file("/nonexistent/cbuild-x");
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("`/nonexistent/cbuild-x`") != std::string::npos);
}

TEST_CASE("temp dir removes read-only trees") {
  fs::path p;
  {
    auto dir = TempDir::create("cbuild-test-").value();
    p = dir.path();
    fs::create_directories(p / "a/b");
    fs::permissions(p / "a", fs::perms::owner_read | fs::perms::owner_exec);
  }
  CHECK_FALSE(fs::exists(p));
}
