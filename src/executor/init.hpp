#pragma once
// Module-private: the container side of run_container (runs in forked children).
#include "cbuild/executor/plan.hpp"

#include <sys/types.h>

namespace cbuild::executor {

/// Descriptors the children write to (-1: none).
struct ChildIo {
  int stdout_fd = -1;
  int stderr_fd = -1;
  int report_fd = -1;  ///< "pid N" and "created d|f SEC NSEC PATH" lines
  int error_fd = -1;   ///< setup error message
};

/// Exit status the helper returns when setup failed (the message is on error_fd).
inline constexpr int k_setup_failed = 255;

/// Body of the namespace helper: forks pid 1 of the new pid namespace, reports its pid and
/// waits for it. Returns the command's exit code.
int run_namespace_helper(const SetupPlan& plan, const ChildIo& io);

}  // namespace cbuild::executor
