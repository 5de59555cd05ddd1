#pragma once
// A busybox root filesystem for container tests, built inside the build user namespace so
// its files belong to container root (and user 1000 owns /home/user).
#include "cbuild/executor/userns.hpp"
#include "cbuild/util/fs.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>

namespace cbuild::testing {

inline std::vector<std::string> busybox_applets() {
  std::vector<std::string> out;
  FILE* p = ::popen("/bin/busybox --list", "r");
  REQUIRE(p);
  char line[256];
  while (std::fgets(line, sizeof line, p)) {
    std::string name(line);
    while (!name.empty() && name.back() == '\n') name.pop_back();
    if (!name.empty() && name != "busybox") out.push_back(name);
  }
  ::pclose(p);
  return out;
}

/// Fill `root` (an existing directory owned for the container) with busybox, /etc/passwd and
/// /etc/group (root, nobody, user 1000 with supplementary group extra 2000).
inline void make_busybox_rootfs(const fs::path& root) {
  auto applets = busybox_applets();
  std::string busybox = read_file("/bin/busybox").value();
  auto r = executor::run_in_userns([&]() -> Result<std::string> {
    for (const char* d : {"bin", "etc", "root", "home", "home/user", "var", "var/empty"})
      TRY(make_dirs(root / d));
    TRY(make_dirs(root / "tmp"));
    ::chmod((root / "tmp").c_str(), 01777);
    TRY(write_file_atomic(root / "bin/busybox", busybox, 0755));
    for (const auto& a : applets)
      if (::symlink("busybox", (root / "bin" / a).c_str()) != 0 && errno != EEXIST)
        return errno_error("symlink " + a);
    TRY(write_file_atomic(root / "etc/passwd",
                          "root:x:0:0:root:/root:/bin/sh\n"
                          "nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
                          "user:x:1000:1000:user:/home/user:/bin/sh\n"));
    TRY(write_file_atomic(root / "etc/group",
                          "root:x:0:\nnobody:x:65534:\nuser:x:1000:\nextra:x:2000:user\n"));
    if (::chown((root / "home/user").c_str(), 1000, 1000) != 0) return errno_error("chown home");
    return std::string();
  });
  REQUIRE(r.ok());
}

/// A temp directory usable by container root (mode 0711, owned for the container).
inline TempDir container_temp_dir(std::string_view prefix) {
  TempDir dir = TempDir::create(prefix).value();
  ::chmod(dir.path().c_str(), 0711);
  REQUIRE(executor::own_for_container(dir.path()).ok());
  return dir;
}

}  // namespace cbuild::testing
