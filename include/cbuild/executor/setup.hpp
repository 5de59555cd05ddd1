#pragma once
/// The straight-line application of a SetupPlan inside the step's namespaces (as their root),
/// up to and including pivot_root. Every call goes through the Syscall seam.
#include "cbuild/executor/plan.hpp"
#include "cbuild/executor/syscall.hpp"

#include <vector>

namespace cbuild::executor {

/// Apply `plan`; returns the mount points created in the root filesystem.
Result<std::vector<CreatedPath>> apply_setup(const SetupPlan& plan, Syscall& sys);

}  // namespace cbuild::executor
