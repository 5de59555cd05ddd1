#pragma once
/// The seam between the setup sequence and the kernel (youki's `Syscall` trait): the real
/// implementation performs the calls, the fake in tests/support records them.
#include "cbuild/executor/spec.hpp"
#include "cbuild/util/result.hpp"

#include <sys/types.h>

#include <memory>
#include <string>

namespace cbuild::executor {

class Syscall {
 public:
  virtual ~Syscall() = default;
  /// mount(2); `target` is a host path (possibly /proc/self/fd/N).
  virtual Status mount(const std::string& source, const std::string& target,
                       const std::string& fstype, unsigned long flags,
                       const std::string& data) = 0;
  /// Bind host path `source` (with submounts when `recursive`) on `target`, read-only when
  /// asked (set on the detached tree before attaching: open_tree, mount_setattr, move_mount).
  virtual Status bind(const std::string& source, const std::string& target, bool recursive,
                      bool readonly) = 0;
  virtual bool is_directory(const std::string& host_path) = 0;
  /// Resolve container path `path` inside `rootfs` without escaping it, creating missing
  /// components (directories 0755; the last one a directory or empty file). Appends what it
  /// created to `created`. Returns a host path naming the resolved target.
  virtual Result<std::string> prepare_target(const std::string& rootfs, const std::string& path,
                                             bool directory,
                                             std::vector<CreatedPath>& created) = 0;
  virtual Status mkdir(const std::string& host_path, mode_t mode) = 0;
  virtual Status symlink(const std::string& link_target, const std::string& host_path) = 0;
  /// Create `host_path` with `content`, owner and mode.
  virtual Status write_file(const std::string& host_path, const std::string& content,
                            uint32_t uid, uint32_t gid, mode_t mode) = 0;
  virtual Status loopback_up() = 0;
  virtual Status sethostname(const std::string& name) = 0;
  /// pivot_root into `rootfs` through fds and detach the old root.
  virtual Status pivot_root(const std::string& rootfs) = 0;
};

/// The implementation that calls the kernel.
std::unique_ptr<Syscall> make_linux_syscall();

}  // namespace cbuild::executor
