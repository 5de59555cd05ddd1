#pragma once
// Module-private: the build user namespace, one per process and id map.
//
// Mapping a user namespace costs two fork+execs of the setuid helpers newuidmap/newgidmap for
// an unprivileged user, so it is done once: the first request forks a process that unshares
// its user namespace, has it mapped, and exits as soon as cbuild holds an open descriptor of
// /proc/PID/ns/user. That descriptor alone keeps the namespace alive (no helper process stays
// around; the namespace dies with cbuild). Every step and every run_in_userns child joins it
// with setns(CLONE_NEWUSER), which user_namespaces(7) allows: cbuild's euid owns the namespace
// and cbuild lives in its parent namespace, so it holds CAP_SYS_ADMIN there; the joining child
// is single-threaded right after fork, as setns requires.
#include "cbuild/executor/idmap.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::executor {

/// A descriptor (O_CLOEXEC, owned by this module, open until exit) of the user namespace mapped
/// with `map`; created on first use. Safe to call from several threads at once.
Result<int> build_userns_fd(const IdMap& map);

}  // namespace cbuild::executor
