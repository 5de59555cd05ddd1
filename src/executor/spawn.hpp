#pragma once
// Module-private: pipes and forking a child into new namespaces with the build id map.
#include "cbuild/executor/idmap.hpp"
#include "cbuild/util/fd.hpp"
#include "cbuild/util/result.hpp"

#include <sys/types.h>

#include <functional>
#include <mutex>
#include <string>

namespace cbuild::executor {

struct Pipe {
  UniqueFd read, write;
  static Result<Pipe> create();
};

/// Held from creating a child's pipes until the parent has closed its copies of the child's
/// ends: a child forked meanwhile by another thread would inherit them, and a reader sees EOF
/// only once every copy of the write end is closed (so one step would wait for another).
/// Every fork of a process that does not exec at once happens under this lock.
std::unique_lock<std::mutex> lock_child_pipes();

/// Fork a child that joins the build user namespace of `map` (build_userns.hpp), becomes
/// uid/gid 0 there, unshares the other namespaces of `ns_flags` (CLONE_NEWUSER in it is
/// implied) and calls `child` (which returns the exit status; it is never returned from).
/// The child dies with the calling thread (PR_SET_PDEATHSIG). Returns once the namespaces
/// exist, with the child's pid. Call with lock_child_pipes() held.
Result<pid_t> spawn_in_namespaces(int ns_flags, const IdMap& map, const std::function<int()>& child);

/// waitpid without EINTR; returns the exit code, or 128+N when killed by signal N.
int wait_exit_code(pid_t pid);

/// Read everything until EOF.
std::string read_all(int fd);

/// Read up to `size` bytes, stopping early only at EOF or an error; returns the count read.
size_t read_exact(int fd, void* buf, size_t size);

/// Die when the parent does; returns false when it is already gone.
bool die_with_parent(pid_t expected_parent);

}  // namespace cbuild::executor
