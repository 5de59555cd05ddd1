#pragma once
/// Plain-data description of one container run (a build step): root filesystem, process,
/// identity, network, mounts and where its output goes. Nothing here touches the system.
#include "cbuild/executor/idmap.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cbuild::executor {

namespace fs = std::filesystem;

/// Root from an overlay: read-only lowerdirs (topmost first) + writable upperdir/workdir
/// (same filesystem). Mounted inside the step's user namespace with `userxattr`.
struct OverlayRootfs {
  std::vector<fs::path> lowerdirs;
  fs::path upperdir;
  fs::path workdir;
};

/// Root from a plain directory the step may modify (native snapshotter).
struct DirRootfs {
  fs::path path;
};

using RootfsSource = std::variant<OverlayRootfs, DirRootfs>;

enum class NetworkMode {
  host,  ///< share the host's network (docker build's default: apt-get works)
  none,  ///< a new network namespace with only `lo`, up
};

/// Bind mount of a host file or directory (context/stage binds, cache directories).
struct BindMount {
  fs::path source;
  std::string target;  ///< absolute path in the container
  bool readonly = true;
};

/// A fresh tmpfs (`RUN --mount=type=tmpfs`).
struct TmpfsMount {
  std::string target;
  uint64_t size_bytes = 0;  ///< 0: kernel default (half of RAM)
};

/// A secret file. Its content is written only to a private tmpfs inside the step's mount
/// namespace, never to the host disk or the layer.
struct SecretMount {
  std::string target;  ///< e.g. /run/secrets/<id>
  std::string content;
  uint32_t uid = 0;  ///< container ids
  uint32_t gid = 0;
  mode_t mode = 0400;
};

/// An ssh agent socket forwarded into the container (cbuild proxies connections to
/// `agent_socket`, so the container side can have its own uid/gid/mode).
struct SshMount {
  fs::path agent_socket;
  std::string target;  ///< e.g. /run/buildkit/ssh_agent.0
  uint32_t uid = 0;
  uint32_t gid = 0;
  mode_t mode = 0600;
};

using Mount = std::variant<BindMount, TmpfsMount, SecretMount, SshMount>;

enum class Stream { out, err };

/// Everything needed to run one command in a container.
struct ExecSpec {
  RootfsSource rootfs;
  std::vector<std::string> args;  ///< exec form; SHELL for shell form is the caller's job
  /// "K=V" entries (image Env + ENV + build args). PATH and HOME get Docker's defaults when
  /// absent (HOME from the user's passwd entry).
  std::vector<std::string> env;
  std::string cwd = "/";  ///< created (0755, container root) when missing
  std::string user;       ///< "" = root; name or uid, optionally ":group"
  std::string hostname = "cbuild";
  NetworkMode network = NetworkMode::host;
  std::vector<Mount> mounts;
  /// Extra lines for /etc/hosts after the localhost entries ("10.0.0.1 db").
  std::vector<std::string> extra_hosts;
  /// Content for /etc/resolv.conf; empty: the host's /etc/resolv.conf.
  std::string resolv_conf;
  /// Output streaming: when set, called from the calling thread with each chunk read.
  std::function<void(Stream, std::string_view)> on_output;
  /// Without on_output: fds the process writes to directly (-1: discard).
  int stdout_fd = -1;
  int stderr_fd = -1;
  /// Directory for the run's private state (mount point, generated files); default $TMPDIR.
  fs::path state_parent;
  /// The user namespace map; default: host_id_map().
  const IdMap* id_map = nullptr;
};

/// A path cbuild created in the root filesystem as a mount point; it is removed from the diff
/// when still empty, as BuildKit does, and its parent's mtime restored when the step did not
/// change the parent after the creation.
struct CreatedPath {
  std::string path;  ///< container path
  bool directory = false;
  int64_t parent_mtime_sec = 0;  ///< the parent's mtime before creation
  int64_t parent_mtime_nsec = 0;
  int64_t parent_after_sec = 0;  ///< the parent's mtime right after creation
  int64_t parent_after_nsec = 0;
  bool operator==(const CreatedPath&) const = default;
};

/// Outcome of a run that started: the process's exit code and the data to report a failure.
struct ExecResult {
  int exit_code = 0;  ///< 128+N when killed by signal N (as shells report it)
  /// The last lines of combined output (at most k_last_lines), for failure messages.
  std::vector<std::string> last_lines;
  /// Mount points cbuild created in the root filesystem, in creation order.
  std::vector<CreatedPath> created;
  double seconds = 0;
};

inline constexpr size_t k_last_lines = 10;

/// "RUN failed (exit code N): <command>" followed by the last output lines, indented.
std::string failure_message(const ExecResult& result, std::string_view command);

}  // namespace cbuild::executor
