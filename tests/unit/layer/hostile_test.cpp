// Hostile archives: each must fail with an error naming the archive and the entry, and
// nothing may be created or changed outside the target directory.
#include <catch2/catch.hpp>

#include "cbuild/layer/applier.hpp"
#include "cbuild/layer/compression.hpp"
#include "unit/layer/layer_test_support.hpp"

using namespace cbuild;
using namespace cbuild::layer;
using namespace cbuild::layer::test;

namespace {

/// A sandbox: `outside/` holds a sentinel file, `target/` is where layers go.
struct Sandbox {
  TempDir tmp = TempDir::create("layer-h").value();
  fs::path outside = tmp.path() / "outside";
  fs::path target = tmp.path() / "target";

  Sandbox() {
    write_text(outside / "secret", "sentinel");
    fs::create_directories(target);
  }

  std::vector<std::string> outside_listing() const {
    std::vector<std::string> out;
    for (auto it = fs::recursive_directory_iterator(tmp.path()); it != fs::recursive_directory_iterator();
         ++it) {
      const auto& e = *it;
      if (e.path().filename() == "target") it.disable_recursion_pending();
      auto rel = e.path().lexically_relative(tmp.path()).string();
      if (!rel.starts_with("target") && rel != "layer.tar") out.push_back(rel);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  /// Applies `data` and returns the error message (the test fails if it succeeds).
  std::string reject(const std::string& data, const ApplyOptions& options = {}) {
    auto before = outside_listing();
    auto archive = save(tmp.path(), "layer.tar", data);
    auto r = apply_layer(archive, target, options);
    CHECK(outside_listing() == before);
    CHECK(read_file(outside / "secret").value() == "sentinel");
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(archive.string()));
    CHECK(r.error().code == ExitCode::bad_input);
    return r.error().message;
  }
};

}  // namespace

TEST_CASE("hostile: `..` components are rejected") {
  Sandbox s;
  for (std::string name : {"../outside/pwned", "a/../../outside/pwned", "ok/../../x"}) {
    auto msg = s.reject(TarBuilder().file("fine", "ok").file(name, "evil").finish());
    CHECK_THAT(msg, Catch::Contains("`" + name + "`") && Catch::Contains(".."));
  }
}

TEST_CASE("hostile: absolute names are rejected") {
  Sandbox s;
  std::string name = (s.outside / "pwned").string();
  auto msg = s.reject(TarBuilder().file(name, "evil").finish());
  CHECK_THAT(msg, Catch::Contains(name) && Catch::Contains("absolute"));
  CHECK_FALSE(fs::exists(s.target / s.outside.relative_path() / "pwned"));
}

TEST_CASE("hostile: a symlink followed by a file under it is rejected") {
  Sandbox s;
  SECTION("absolute symlink to a directory outside") {
    auto msg = s.reject(TarBuilder().symlink("etc", s.outside.string()).file("etc/secret", "evil").finish());
    CHECK_THAT(msg, Catch::Contains("`etc/secret`") && Catch::Contains("symlink"));
  }
  SECTION("relative symlink climbing out") {
    auto msg =
        s.reject(TarBuilder().dir("a/").symlink("a/up", "../../outside").file("a/up/new", "evil").finish());
    CHECK_THAT(msg, Catch::Contains("`a/up/new`"));
  }
  SECTION("symlink to /etc, as in issue 3") {
    auto msg = s.reject(TarBuilder().symlink("etc", "/etc").file("etc/cbuild-hostile-test", "evil").finish());
    CHECK_FALSE(fs::exists("/etc/cbuild-hostile-test"));
    CHECK_THAT(msg, Catch::Contains("`etc/cbuild-hostile-test`"));
  }
  SECTION("whiteout through a symlink") {
    s.reject(TarBuilder().symlink("x", s.outside.string()).file("x/.wh.secret", "").finish());
  }
  SECTION("opaque marker through a symlink") {
    s.reject(TarBuilder().symlink("x", s.outside.string()).file("x/.wh..wh..opq", "").finish());
  }
  SECTION("a pre-existing symlink in the target is not followed either") {
    fs::create_symlink(s.outside, s.target / "planted");
    s.reject(TarBuilder().file("planted/secret", "evil").finish());
  }
}

TEST_CASE("hostile: a file entry replaces a planted symlink instead of writing through it") {
  Sandbox s;
  auto tar = TarBuilder().symlink("f", (s.outside / "secret").string()).file("f", "replaced").finish();
  REQUIRE(apply_layer(save(s.tmp.path(), "layer.tar", tar), s.target).ok());
  CHECK(read_file(s.outside / "secret").value() == "sentinel");
  CHECK(read_file(s.target / "f").value() == "replaced");
}

TEST_CASE("hostile: hardlinks must point inside the target") {
  Sandbox s;
  SECTION("relative escape") {
    auto msg = s.reject(TarBuilder().hardlink("h", "../outside/secret").finish());
    CHECK_THAT(msg, Catch::Contains("`h`") && Catch::Contains("hardlink target"));
  }
  SECTION("absolute") { s.reject(TarBuilder().hardlink("h", (s.outside / "secret").string()).finish()); }
  SECTION("through a symlink") {
    s.reject(TarBuilder().symlink("d", s.outside.string()).hardlink("h", "d/secret").finish());
  }
  SECTION("missing target") {
    auto msg = s.reject(TarBuilder().hardlink("h", "nothing-here").finish());
    CHECK_THAT(msg, Catch::Contains("nothing-here"));
  }
  SECTION("a hardlink to a symlink links the symlink, and a later write replaces it") {
    auto tar = TarBuilder()
                   .symlink("sl", (s.outside / "secret").string())
                   .hardlink("h", "sl")
                   .file("h", "evil")
                   .finish();
    REQUIRE(apply_layer(save(s.tmp.path(), "layer.tar", tar), s.target).ok());
    CHECK(read_file(s.outside / "secret").value() == "sentinel");
  }
}

TEST_CASE("hostile: symlink loops") {
  Sandbox s;
  auto msg = s.reject(TarBuilder().symlink("l1", "l2").symlink("l2", "l1").file("l1/x", "x").finish());
  CHECK_THAT(msg, Catch::Contains("`l1/x`") && Catch::Contains("symlink"));
}

TEST_CASE("hostile: whiteouts naming `.` or `..`") {
  Sandbox s;
  write_text(s.target / "a/keep", "k");
  s.reject(TarBuilder().file("a/.wh...", "").finish());
  s.reject(TarBuilder().file("a/.wh..", "").finish());
  CHECK(fs::exists(s.target / "a/keep"));
}

TEST_CASE("hostile: huge names and PAX headers") {
  Sandbox s;
  SECTION("name longer than PATH_MAX") {
    auto msg = s.reject(TarBuilder().file(std::string(5000, 'n'), "x").finish());
    CHECK_THAT(msg, Catch::Contains("longer than"));
  }
  SECTION("component longer than NAME_MAX") {
    s.reject(TarBuilder().file("d/" + std::string(300, 'n'), "x").finish());
  }
  SECTION("a PAX header of several megabytes") {
    std::string big(3 << 20, 'v');
    auto msg = s.reject(TarBuilder().xattr("user.big", big).file("f", "x").finish());
    CHECK_THAT(msg, Catch::Contains("`f`") || Catch::Contains("entry after"));
  }
}

TEST_CASE("hostile: truncated and corrupt archives") {
  Sandbox s;
  std::string tar = TarBuilder().file("a", std::string(100000, 'a')).file("b", "b").finish();
  SECTION("truncated in file data") {
    auto msg = s.reject(tar.substr(0, 50000));
    CHECK_THAT(msg, Catch::Contains("`a`") || Catch::Contains("after `a`"));
  }
  SECTION("truncated gzip") {
    StringSink sink;
    auto c = Compressor::create({Compression::gzip, 0, 1}, sink).value();
    REQUIRE(c->write(tar).ok());
    REQUIRE(c->finish().ok());
    auto msg = s.reject(sink.data().substr(0, sink.data().size() / 2));
    CHECK_THAT(msg, Catch::Contains("decompress") || Catch::Contains("truncated"));
  }
  SECTION("archive_diff_id reports corrupt compression too") {
    StringSink sink;
    auto c = Compressor::create({Compression::zstd, 0, 1}, sink).value();
    REQUIRE(c->write(tar).ok());
    REQUIRE(c->finish().ok());
    auto path = save(s.tmp.path(), "cut.zst", sink.data().substr(0, sink.data().size() - 20));
    auto r = archive_diff_id(path);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Catch::Contains(path.string()) && Catch::Contains("zstd"));
  }
  SECTION("gzip magic followed by garbage") {
    auto msg =
        s.reject(std::string("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03", 10) + std::string(4000, '\x5a'));
    CHECK_THAT(msg, Catch::Contains("gzip"));
  }
  SECTION("not an archive at all") { s.reject(std::string(3000, 'z')); }
  SECTION("empty file") { s.reject(""); }
}
