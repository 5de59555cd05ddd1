#pragma once
/// Run one command in a rootless container (the executor proper).
///
/// Process tree: cbuild → helper (joins the build user namespace, see userns.hpp; in new
/// mount, ipc, uts [, net] namespaces; waits)
/// → init = pid 1 of a new pid namespace (applies the SetupPlan, pivots, forks the command,
/// reaps orphans; when the command exits, init exits and the kernel kills what is left)
/// → the command (uid/gid/groups of USER, cwd, env, stdin /dev/null).
/// All mounts live in the container's own mount namespace: they vanish with its last process,
/// so nothing can be left mounted on the host.
#include "cbuild/executor/spec.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::executor {

/// Run `spec`. Returns the exit code (a non-zero exit is not an Error) once every process of
/// the container is gone and its state directory removed. Errors: setup failures
/// (`ExitCode::failure`), and `ExitCode::interrupted` after SIGINT/SIGTERM when
/// install_interrupt_handlers() is in effect (the pid namespace is killed first).
/// Safe to call from several threads at once (each call has its own namespaces but for the
/// shared build user namespace).
Result<ExecResult> run_container(const ExecSpec& spec);

}  // namespace cbuild::executor
