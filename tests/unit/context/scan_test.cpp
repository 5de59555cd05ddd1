// The context walk splits the tree between two threads: it must list the same entries, in
// the same order and with the same errors, as one plain recursive walk.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>

#include "cbuild/context/context.hpp"
#include "context_fixture.hpp"
#include "unit/child_process.hpp"

using namespace cbuild;
using namespace cbuild::context;
using cbuild::context::test::ContextDir;

namespace {

/// What a test compares of an entry.
struct Seen {
  std::string path;
  FileType type;
  uint32_t mode;
  uint64_t size, ino;
  int64_t mtime_ns;
  std::string link_target;
  bool operator==(const Seen&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Seen& s) { return os << s.path; }

std::vector<Seen> seen_of(const Context& ctx) {
  std::vector<Seen> out;
  for (const auto& e : ctx.entries())
    out.push_back({e.path, e.type, e.mode, e.size, e.ino, e.mtime_ns, e.link_target});
  return out;
}

/// The reference: one thread, std::filesystem listing, names sorted bytewise, a directory
/// before its contents.
void reference_walk(const fs::path& root, const std::string& rel, std::vector<Seen>& out) {
  std::vector<std::string> names;
  for (const auto& d : fs::directory_iterator(rel.empty() ? root : root / rel))
    names.push_back(d.path().filename().string());
  std::sort(names.begin(), names.end());
  for (const auto& name : names) {
    std::string path = rel.empty() ? name : rel + "/" + name;
    struct stat st;
    REQUIRE(::lstat((root / path).c_str(), &st) == 0);
    Seen s{path, FileType::regular, st.st_mode & 07777u, 0, st.st_ino,
           int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec, ""};
    if (S_ISDIR(st.st_mode)) s.type = FileType::directory;
    if (S_ISLNK(st.st_mode)) {
      s.type = FileType::symlink;
      s.link_target = fs::read_symlink(root / path).string();
    }
    if (S_ISREG(st.st_mode)) s.size = static_cast<uint64_t>(st.st_size);
    out.push_back(s);
    if (S_ISDIR(st.st_mode)) reference_walk(root, path, out);
  }
}

/// Forty top-level directories (so both threads get many), nested directories, symlinks,
/// empty directories, and names that sort around '/' ("a", "a-b", "a.c", "a/x").
void make_wide_tree(const ContextDir& d) {
  for (int i = 0; i < 40; ++i) {
    std::string top = fmt::format("d{:02}", i);
    for (int j = 0; j < 5; ++j) d.file(fmt::format("{}/f{}.txt", top, j), std::string(size_t(i * j), 'x'));
    d.file(top + "/app.log", "log");
    d.file(top + "/keep.log", "keep");
    d.file(fmt::format("{}/sub/deeper/n{}.c", top, i), "int x;");
    d.symlink("../f0.txt", top + "/sub/link");
    if (i % 7 == 0) d.dir(top + "/empty");
  }
  d.file("a", "a");
  d.file("a-b/x", "x");
  d.file("a.c", "c");
  d.dir("a0/a");
  d.symlink("/outside/target", "abs-link");
  d.file("Dockerfile", "FROM scratch\n");
}

Result<Context> scan_patterns(const ContextDir& d, const std::vector<std::string>& patterns) {
  auto m = PatternMatcher::create(patterns);
  REQUIRE(m.ok());
  return Context::scan(d.root(), *m);
}

}  // namespace

TEST_CASE("a wide tree scans as one walk would, in walk order", "[context][scan]") {
  ContextDir d;
  make_wide_tree(d);
  std::vector<Seen> want;
  reference_walk(d.root(), "", want);
  for (int run = 0; run < 3; ++run) {  // the split between the threads differs from run to run
    auto ctx = scan_patterns(d, {});
    REQUIRE(ctx.ok());
    auto got = seen_of(*ctx);
    REQUIRE(got.size() == want.size());
    CHECK(got == want);
    for (size_t i = 1; i < got.size(); ++i) CHECK(walk_order(got[i - 1].path, got[i].path) < 0);
    // Subtree ends: each directory's subtree is the run of paths below it.
    for (size_t i = 0; i < got.size(); ++i) {
      size_t end = i + 1;
      while (end < got.size() && got[end].path.starts_with(got[i].path + "/")) ++end;
      CHECK(ctx->subtree_end(i) == end);
    }
  }
}

TEST_CASE("a wide tree scans with .dockerignore rules as one walk would", "[context][scan]") {
  ContextDir d;
  make_wide_tree(d);
  std::vector<Seen> all;
  reference_walk(d.root(), "", all);
  auto ctx = scan_patterns(d, {"*/*.log", "!d05/keep.log", "d07", "**/deeper", "!d09/sub/deeper/n9.c"});
  REQUIRE(ctx.ok());
  std::vector<Seen> want;
  for (const auto& s : all) {
    const std::string& p = s.path;
    bool top_log = std::count(p.begin(), p.end(), '/') == 1 && p.ends_with(".log");
    bool deeper = p.find("/deeper") != std::string::npos;
    bool excluded = (top_log && p != "d05/keep.log") || p == "d07" || p.starts_with("d07/") ||
                    (deeper && !p.starts_with("d09/sub/deeper"));
    if (!excluded) want.push_back(s);
  }
  CHECK(seen_of(*ctx) == want);
}

TEST_CASE("an unreadable directory fails the scan naming it, unless excluded", "[context][scan]") {
  ContextDir d;
  make_wide_tree(d);
  d.file("d13/secret/x", "x");
  REQUIRE(::chmod(d.root().c_str(), 0755) == 0);  // readable by the unprivileged user below
  REQUIRE(::chmod((d.root() / "d13/secret").c_str(), 0) == 0);
  // Root reads any directory: the scans run as nobody then, in a child.
  auto scan_as_user = [&](const std::vector<std::string>& patterns) -> std::string {
    auto message = [&] {
      auto ctx = scan_patterns(d, patterns);
      return ctx.ok() ? std::string("ok") : ctx.error().message;
    };
    if (::geteuid() != 0) return message();
    auto out = cbuild_test::run_in_child(message, true);
    REQUIRE(out);
    return *out;
  };
  std::string failed = scan_as_user({});
  CHECK(failed == fmt::format("scan context: open `{}`: Permission denied", (d.root() / "d13/secret").string()));
  CHECK(scan_as_user({"d13/secret"}) == "ok");
  // Excluded but entered for an exception, and unreadable: skipped, as fsutil does.
  CHECK(scan_as_user({"d13/secret", "!d13/secret/x"}) == "ok");
  REQUIRE(::chmod((d.root() / "d13/secret").c_str(), 0755) == 0);  // so the fixture can remove it
}
