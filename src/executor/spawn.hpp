#pragma once
// Module-private: pipes and forking a child into new namespaces with the build id map.
#include "cbuild/executor/idmap.hpp"
#include "cbuild/util/fd.hpp"
#include "cbuild/util/result.hpp"

#include <sys/types.h>

#include <functional>
#include <string>

namespace cbuild::executor {

struct Pipe {
  UniqueFd read, write;
  static Result<Pipe> create();
};

/// Fork a child that unshares `ns_flags` (which must include CLONE_NEWUSER), waits until the
/// parent has written `map`, becomes uid/gid 0 in the namespace and calls `child` (which
/// returns the exit status; it is never returned from). The child dies with the calling
/// thread (PR_SET_PDEATHSIG). Returns the child's pid.
Result<pid_t> spawn_in_namespaces(int ns_flags, const IdMap& map, const std::function<int()>& child);

/// waitpid without EINTR; returns the exit code, or 128+N when killed by signal N.
int wait_exit_code(pid_t pid);

/// Read everything until EOF.
std::string read_all(int fd);

/// Die when the parent does; returns false when it is already gone.
bool die_with_parent(pid_t expected_parent);

}  // namespace cbuild::executor
