#include "cbuild/executor/setup.hpp"

#include <sys/mount.h>

namespace cbuild::executor {
namespace {

struct Context {
  const SetupPlan& plan;
  Syscall& sys;
  std::vector<CreatedPath>& created;

  Result<std::string> target(const SetupOp& op, bool directory) {
    return sys.prepare_target(plan.rootfs, op.target, directory, created);
  }
  // Inside a tmpfs cbuild just mounted: nothing to resolve or track.
  std::string inside(const SetupOp& op) const { return plan.rootfs + op.target; }
};

Status apply_mount(Context& c, const SetupOp& op) {
  std::string target = TRY(c.target(op, true));
  return c.sys.mount(op.source, target, op.fstype, op.flags, op.data);
}

Status apply_bind(Context& c, const SetupOp& op) {
  std::string target = TRY(c.target(op, c.sys.is_directory(op.source)));
  return c.sys.bind(op.source, target, op.recursive, op.readonly);
}

// sysfs can be mounted only by the owner of the network namespace; otherwise bind the host's.
Status apply_sysfs(Context& c, const SetupOp& op) {
  std::string target = TRY(c.target(op, true));
  if (c.sys.mount(op.source, target, op.fstype, op.flags, op.data).ok()) return {};
  return c.sys.bind("/sys", target, true, true);
}

Status apply_mkdir(Context& c, const SetupOp& op) { return c.sys.mkdir(c.inside(op), op.mode); }

Status apply_symlink(Context& c, const SetupOp& op) {
  return c.sys.symlink(op.source, c.inside(op));
}

Status apply_secret(Context& c, const SetupOp& op) {
  std::string staged = c.plan.secret_staging + "/" + op.source;
  TRY(c.sys.write_file(staged, op.content, op.uid, op.gid, op.mode));
  std::string target = TRY(c.target(op, false));
  return c.sys.bind(staged, target, false, true);
}

using ApplyOp = Status (*)(Context&, const SetupOp&);

// Indexed by OpKind.
constexpr ApplyOp k_apply[] = {apply_mount, apply_bind,    apply_sysfs,
                               apply_mkdir, apply_symlink, apply_secret};

}  // namespace

Result<std::vector<CreatedPath>> apply_setup(const SetupPlan& plan, Syscall& sys) {
  std::vector<CreatedPath> created;
  Context c{plan, sys, created};
  // Nothing mounted from here on propagates back to the host.
  TRY(sys.mount("none", "/", "", MS_REC | MS_SLAVE, ""));
  if (plan.root_mount.kind == OpKind::bind)
    TRY(sys.bind(plan.root_mount.source, plan.rootfs, true, false));
  else
    TRY(sys.mount(plan.root_mount.source, plan.rootfs, plan.root_mount.fstype,
                  plan.root_mount.flags, plan.root_mount.data));
  if (!plan.secret_staging.empty())
    TRY(sys.mount("tmpfs", plan.secret_staging, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "mode=700,size=16m"));
  for (const SetupOp& op : plan.ops) {
    Status s = k_apply[static_cast<int>(op.kind)](c, op);
    if (!s) return std::move(s).error().wrap("set up `{}`", op.target);
  }
  if (plan.loopback_up) TRY(sys.loopback_up());
  TRY(sys.sethostname(plan.hostname));
  TRY(sys.pivot_root(plan.rootfs));
  return created;
}

}  // namespace cbuild::executor
