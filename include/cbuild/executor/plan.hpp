#pragma once
/// Container setup as data: the ordered mount operations, the pivot and the process to start,
/// computed from an ExecSpec without touching the system (unit-tested without privileges), then
/// applied in one checked sequence by apply_setup() (setup.hpp).
#include "cbuild/executor/spec.hpp"

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cbuild::executor {

enum class OpKind {
  mount,    ///< mount fstype `data` from `source` on target (created as a directory)
  bind,     ///< bind host `source` on target (created as dir or file like the source)
  sysfs,    ///< read-only sysfs, or a read-only recursive bind of /sys when not permitted
  mkdir,    ///< directory inside an already mounted tmpfs (/dev/pts, /dev/shm)
  symlink,  ///< symlink `target` → `source` (/dev/fd → /proc/self/fd)
  secret,   ///< file with `content`, uid/gid/mode, on a private tmpfs, bound read-only
};

/// One setup step. Targets are container paths, resolved inside the root without following
/// symlinks out of it.
struct SetupOp {
  OpKind kind = OpKind::mount;
  std::string target;
  std::string source;
  std::string fstype;
  unsigned long flags = 0;  ///< MS_* flags
  std::string data;         ///< fs options
  bool readonly = false;    ///< made read-only (recursively) after mounting
  bool recursive = false;   ///< rbind
  mode_t mode = 0;
  uint32_t uid = 0, gid = 0;
  std::string content;
  bool operator==(const SetupOp&) const = default;
};

/// The process started after setup.
struct ProcessPlan {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  std::string user;
};

struct SetupPlan {
  std::string rootfs;  ///< host directory where the root is assembled, then pivoted into
  SetupOp root_mount;  ///< overlay or rbind onto `rootfs`
  std::vector<SetupOp> ops;
  std::string secret_staging;  ///< host directory for the secrets tmpfs (empty: no secrets)
  std::string hostname;
  bool loopback_up = false;
  ProcessPlan process;
};

/// Facts about the host the plan depends on.
struct HostFacts {
  bool gid5_mapped = false;  ///< devpts gid=5 (tty) option usable
};

/// Compute the setup of `spec`, assembling the root at `state_dir`/rootfs. Generated files
/// are expected at `state_dir`/{hosts,resolv.conf,hostname} and ssh proxy sockets at
/// `state_dir`/ssh-<index>.sock (see write_state_files in container.hpp).
SetupPlan make_setup_plan(const ExecSpec& spec, const std::string& state_dir,
                          const HostFacts& host);

/// Docker's default PATH, used when the environment has none.
inline constexpr const char* k_default_path =
    "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

}  // namespace cbuild::executor
