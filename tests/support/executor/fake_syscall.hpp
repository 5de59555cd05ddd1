#pragma once
// A recording Syscall: every call is appended to `calls` as one readable line; calls whose
// line starts with a prefix in `fail_prefixes` fail with EPERM.
#include "cbuild/executor/syscall.hpp"

#include <fmt/format.h>

#include <set>
#include <string>
#include <vector>

namespace cbuild::executor::testing {

class FakeSyscall final : public Syscall {
 public:
  std::vector<std::string> calls;
  std::vector<std::string> fail_prefixes;
  std::set<std::string> host_dirs;                 // host paths that are directories

  Status mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override {
    return record(fmt::format("mount {} {} {} {:#x} {}", source, target, fstype, flags, data));
  }
  Status bind(const std::string& source, const std::string& target, bool recursive,
              bool readonly) override {
    return record(fmt::format("bind {} {}{}{}", source, target, recursive ? " rec" : "",
                              readonly ? " ro" : ""));
  }
  bool is_directory(const std::string& host_path) override { return host_dirs.count(host_path) > 0; }
  Result<std::string> prepare_target(const std::string& rootfs, const std::string& path,
                                     bool directory, std::vector<CreatedPath>& created) override {
    TRY(record(fmt::format("prepare {} {}", path, directory ? "dir" : "file")));
    created.push_back({path, directory, 0, 0, 0, 0});
    return rootfs + path;
  }
  Status mkdir(const std::string& host_path, mode_t mode) override {
    return record(fmt::format("mkdir {} {:o}", host_path, mode));
  }
  Status symlink(const std::string& link_target, const std::string& host_path) override {
    return record(fmt::format("symlink {} -> {}", host_path, link_target));
  }
  Status write_file(const std::string& host_path, const std::string& content, uint32_t uid,
                    uint32_t gid, mode_t mode) override {
    return record(fmt::format("write {} {} {}:{} {:o}", host_path, content, uid, gid, mode));
  }
  Status loopback_up() override { return record("loopback up"); }
  Status sethostname(const std::string& name) override { return record("sethostname " + name); }
  Status pivot_root(const std::string& rootfs) override { return record("pivot_root " + rootfs); }

  /// The first recorded call starting with `prefix`, or "".
  std::string find(std::string_view prefix) const {
    for (const auto& c : calls)
      if (c.starts_with(prefix)) return c;
    return {};
  }
  /// Index of the first call starting with `prefix` (calls.size() when none).
  size_t index(std::string_view prefix) const {
    for (size_t i = 0; i < calls.size(); ++i)
      if (calls[i].starts_with(prefix)) return i;
    return calls.size();
  }

 private:
  Status record(std::string line) {
    for (const auto& p : fail_prefixes)
      if (line.starts_with(p)) {
        calls.push_back(line + " [EPERM]");
        return make_error("{}: Operation not permitted", line);
      }
    calls.push_back(std::move(line));
    return {};
  }
};

}  // namespace cbuild::executor::testing
