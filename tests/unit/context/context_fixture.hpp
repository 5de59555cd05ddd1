#pragma once
// A temporary context directory with helpers to populate it.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>
#include <string_view>

#include "cbuild/util/fs.hpp"

namespace cbuild::context::test {

class ContextDir {
 public:
  ContextDir() : m_dir(TempDir::create("cbuild-context-test-").value()) {}

  const fs::path& root() const { return m_dir.path(); }

  /// Writes `content` at `rel`, creating parent directories.
  void file(std::string_view rel, std::string_view content, mode_t mode = 0644) const {
    fs::path p = root() / rel;
    fs::create_directories(p.parent_path());
    REQUIRE(write_file_atomic(p, content, mode).ok());
    REQUIRE(::chmod(p.c_str(), mode) == 0);
  }
  void dir(std::string_view rel) const { fs::create_directories(root() / rel); }
  void symlink(std::string_view target, std::string_view rel) const {
    fs::path p = root() / rel;
    fs::create_directories(p.parent_path());
    REQUIRE(::symlink(std::string(target).c_str(), p.c_str()) == 0);
  }
  void remove(std::string_view rel) const { fs::remove_all(root() / rel); }

 private:
  TempDir m_dir;
};

}  // namespace cbuild::context::test
