#pragma once
// Helpers for the COPY/ADD tests: real files in temporary directories, and ownership
// read back either from the inode (root) or from the override_stat xattr (unprivileged).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <utility>

#include "cbuild/build/copy.hpp"
#include "cbuild/layer/override_stat.hpp"
#include "cbuild/util/fs.hpp"

namespace copy_test {

namespace fs = std::filesystem;
using namespace cbuild;

inline bool is_root() { return ::geteuid() == 0; }

inline TempDir temp_dir(const char* prefix) {
  auto dir = TempDir::create(prefix);
  REQUIRE(dir.ok());
  return std::move(dir).value();
}

inline void write(const fs::path& path, std::string_view content, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  REQUIRE(write_file_atomic(path, content, mode).ok());
  REQUIRE(::chmod(path.c_str(), mode) == 0);
}

inline std::string read(const fs::path& path) {
  auto text = read_file(path);
  REQUIRE(text.ok());
  return *text;
}

inline void set_mtime(const fs::path& path, int64_t sec, long nsec = 0) {
  timespec t[2] = {{static_cast<time_t>(sec), nsec}, {static_cast<time_t>(sec), nsec}};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), t, AT_SYMLINK_NOFOLLOW) == 0);
}

inline struct stat lstat_of(const fs::path& path) {
  struct stat st {};
  INFO(path);
  REQUIRE(::lstat(path.c_str(), &st) == 0);
  return st;
}

inline mode_t mode_of(const fs::path& path) { return lstat_of(path).st_mode & 07777; }

/// The owner (container ids) a file has: the override_stat record when there is one
/// (unprivileged run), else the inode's owner.
inline std::pair<uint32_t, uint32_t> owner_of(const fs::path& path) {
  char buf[256];
  ssize_t n = ::lgetxattr(path.c_str(), layer::k_override_stat_xattr.data(), buf, sizeof buf);
  if (n > 0) {
    auto st = layer::OverrideStat::parse(std::string_view(buf, static_cast<size_t>(n)));
    REQUIRE(st.ok());
    return {st->uid, st->gid};
  }
  struct stat st = lstat_of(path);
  return {st.st_uid, st.st_gid};
}

/// A request placing `items` at `dest`.
inline build::CopyRequest request(std::vector<build::CopyItem> items, std::string dest, bool single = false) {
  build::CopyRequest r;
  r.items = std::move(items);
  r.dest = std::move(dest);
  r.single_file = single;
  return r;
}

inline build::CopyItem item(const fs::path& source, std::string rel, bool in_directory = false) {
  build::CopyItem it;
  it.source = source;
  it.rel = std::move(rel);
  it.in_directory = in_directory;
  return it;
}

inline build::CopyStats copy_ok(const fs::path& root, const build::CopyRequest& r) {
  auto stats = build::copy_into(root, r);
  INFO((stats.ok() ? std::string() : stats.error().message));
  REQUIRE(stats.ok());
  return *stats;
}

inline std::string copy_error(const fs::path& root, const build::CopyRequest& r) {
  auto stats = build::copy_into(root, r);
  REQUIRE_FALSE(stats.ok());
  return stats.error().message;
}

}  // namespace copy_test
