// `cbuild build -`: a tar stream context extracted safely, hostile entries refused.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <catch2/catch.hpp>

#include "cbuild/context/context.hpp"
#include "context_fixture.hpp"

using namespace cbuild;
using namespace cbuild::context;

namespace {

struct TarEntry {
  std::string name;
  mode_t type = AE_IFREG;
  std::string data;  // file content, or symlink / hardlink target
  bool hardlink = false;
  mode_t perm = 0644;
};

/// Writes a tar (gzip-compressed when asked) of `entries` to a file and opens it.
UniqueFd make_tar(const fs::path& path, const std::vector<TarEntry>& entries, bool gzip = false) {
  struct archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (gzip) archive_write_add_filter_gzip(a);
  REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
  for (const auto& e : entries) {
    struct archive_entry* ae = archive_entry_new();
    archive_entry_set_pathname(ae, e.name.c_str());
    archive_entry_set_mtime(ae, 1'600'000'000, 0);
    if (e.hardlink) {
      archive_entry_set_filetype(ae, AE_IFREG);
      archive_entry_set_hardlink(ae, e.data.c_str());
    } else {
      archive_entry_set_filetype(ae, e.type);
      if (e.type == AE_IFLNK) archive_entry_set_symlink(ae, e.data.c_str());
      if (e.type == AE_IFREG) archive_entry_set_size(ae, static_cast<la_int64_t>(e.data.size()));
      if (e.type == AE_IFCHR) archive_entry_set_rdev(ae, makedev(1, 3));
    }
    archive_entry_set_perm(ae, e.perm);
    REQUIRE(archive_write_header(a, ae) == ARCHIVE_OK);
    if (e.type == AE_IFREG && !e.hardlink) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(ae);
  }
  archive_write_close(a);
  archive_write_free(a);
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  return fd;
}

}  // namespace

TEST_CASE("a tar context is extracted and scanned with its .dockerignore", "[tar]") {
  TempDir work = TempDir::create("cbuild-tar-test-").value();
  auto fd = make_tar(work.path() / "ctx.tar.gz",
                     {{"./Dockerfile", AE_IFREG, "FROM scratch\n"},
                      {".dockerignore", AE_IFREG, "**/*.log\n"},
                      {"src/", AE_IFDIR, "", false, 0755},
                      {"src/main.c", AE_IFREG, "int main;", false, 0755},
                      {"src/debug.log", AE_IFREG, "noise"},
                      {"src/link", AE_IFLNK, "main.c"},
                      {"src/hard", AE_IFREG, "src/main.c", true}},
                     true);
  auto dir = extract_tar_context(fd.get(), work.path());
  REQUIRE(dir.ok());
  CHECK(dir->path().parent_path() == work.path());
  auto ctx = Context::open(dir->path());
  REQUIRE(ctx.ok());
  const Entry* main_c = ctx->find("src/main.c");
  REQUIRE(main_c);
  CHECK(main_c->mode == 0755);
  CHECK(main_c->mtime_ns == 1'600'000'000'000'000'000);
  CHECK(main_c->nlink == 2);
  CHECK(ctx->find("src/link")->link_target == "main.c");
  CHECK_FALSE(ctx->find("src/debug.log"));
  CHECK(read_file(dir->path() / "src/hard").value() == "int main;");
}

TEST_CASE("hostile tar entries are refused and nothing escapes", "[tar]") {
  TempDir work = TempDir::create("cbuild-tar-test-").value();
  fs::path outside = work.path() / "outside";
  struct Hostile {
    std::vector<TarEntry> entries;
    std::string message;
  };
  const std::vector<Hostile> cases = {
      {{{(outside / "abs").string(), AE_IFREG, "x"}}, "is an absolute path"},
      {{{"../outside", AE_IFREG, "x"}}, "escapes the context"},
      {{{"a/../../outside", AE_IFREG, "x"}}, "escapes the context"},
      {{{"dev", AE_IFCHR, ""}}, "is a device node"},
      {{{"h", AE_IFREG, "../outside", true}}, "escapes the context"},
      {{{"link", AE_IFLNK, outside.string()}, {"link/evil", AE_IFREG, "x"}}, "entry `link/evil`"},
      {{{"dirlink", AE_IFLNK, work.path().string()}, {"h2", AE_IFREG, "dirlink/outside", true}},
       "through a symlink"},
  };
  fs::create_directories(outside);
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto fd = make_tar(work.path() / fmt::format("bad{}.tar", i), cases[i].entries);
    auto dir = extract_tar_context(fd.get(), work.path());
    REQUIRE_FALSE(dir.ok());
    CHECK(dir.error().code == ExitCode::bad_input);
    CHECK_THAT(dir.error().message,
               Catch::StartsWith("extract context: ") && Catch::Contains(cases[i].message));
    CHECK(fs::is_empty(outside));
  }
}

TEST_CASE("a stream that is not a tar is an error", "[tar]") {
  TempDir work = TempDir::create("cbuild-tar-test-").value();
  REQUIRE(write_file_atomic(work.path() / "junk", std::string(2000, 'j')).ok());
  UniqueFd fd(::open((work.path() / "junk").c_str(), O_RDONLY | O_CLOEXEC));
  auto dir = extract_tar_context(fd.get(), work.path());
  REQUIRE_FALSE(dir.ok());
  CHECK_THAT(dir.error().message, Catch::StartsWith("read context archive"));
}
