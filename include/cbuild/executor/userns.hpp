#pragma once
/// Run a C++ function as root of the build user namespace (the same ownership view as the
/// steps): to unpack, read, chown or remove snapshot files whose host owners are subordinate
/// ids. The function runs in a forked child; its returned string (or error message) comes
/// back through a pipe. The namespace is mapped once per process and id map (newuidmap and
/// newgidmap run once, not per call); each child joins it with setns. No process is kept
/// for it: an open descriptor holds it, and it disappears when cbuild exits.
#include "cbuild/executor/idmap.hpp"
#include "cbuild/util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace cbuild::executor {

/// Run `fn` in a child process inside the build user namespace mapped with `map` (default:
/// host_id_map()), as container uid/gid 0. `fn` must not rely on threads of the caller nor
/// call run_in_userns or run_container itself. `extra_namespaces`: more CLONE_NEW* flags
/// (e.g. CLONE_NEWNS to try a mount), new for each call. Safe to call from several threads.
Result<std::string> run_in_userns(const std::function<Result<std::string>()>& fn,
                                  const IdMap* map = nullptr, int extra_namespaces = 0);

/// Make a file, directory or symlink the parent created container root's (as root: chown it,
/// not what a symlink points to, to the host id of container 0; unprivileged, the caller
/// already is container root).
Status own_for_container(const std::filesystem::path& path, const IdMap* map = nullptr);

/// Give `path` container owner `uid`:`gid` and `mode` (e.g. a cache mount directory on first
/// creation, `RUN --mount=type=cache,uid=,gid=,mode=`): as root by chown to the mapped host
/// ids, otherwise from inside the user namespace when the owner is not container root.
Status set_container_owner(const std::filesystem::path& path, uint32_t uid, uint32_t gid,
                           mode_t mode, const IdMap* map = nullptr);

/// Remove a tree whose files may belong to mapped ids (a step's upperdir, a snapshot): as
/// root directly, otherwise the contents from inside the user namespace, then the directory.
Status remove_tree_mapped(const std::filesystem::path& path, const IdMap* map = nullptr);

}  // namespace cbuild::executor
