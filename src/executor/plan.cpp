#include "cbuild/executor/plan.hpp"

#include <sys/mount.h>

#include <fmt/format.h>

namespace cbuild::executor {
namespace {

constexpr unsigned long k_nosuid_nodev_noexec = MS_NOSUID | MS_NODEV | MS_NOEXEC;

// Host devices bound into the /dev tmpfs (a tmpfs mounted in a user namespace cannot hold
// working device nodes, binds of the host's can).
constexpr const char* k_devices[] = {"null", "zero", "full", "random", "urandom", "tty"};

// /dev symlinks every container expects.
constexpr std::pair<const char*, const char*> k_dev_links[] = {
    {"/dev/fd", "/proc/self/fd"},       {"/dev/stdin", "/proc/self/fd/0"},
    {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
    {"/dev/ptmx", "pts/ptmx"},          {"/dev/core", "/proc/kcore"},
};

SetupOp mount_op(std::string fstype, std::string target, unsigned long flags, std::string data) {
  SetupOp op;
  op.kind = OpKind::mount;
  op.source = fstype;
  op.fstype = std::move(fstype);
  op.target = std::move(target);
  op.flags = flags;
  op.data = std::move(data);
  return op;
}

SetupOp bind_op(std::string source, std::string target, bool readonly, bool recursive) {
  SetupOp op;
  op.kind = OpKind::bind;
  op.source = std::move(source);
  op.target = std::move(target);
  op.flags = MS_BIND | (recursive ? MS_REC : 0);
  op.readonly = readonly;
  op.recursive = recursive;
  return op;
}

SetupOp simple_op(OpKind kind, std::string target, std::string source = {}, mode_t mode = 0) {
  SetupOp op;
  op.kind = kind;
  op.target = std::move(target);
  op.source = std::move(source);
  op.mode = mode;
  return op;
}

SetupOp root_mount(const RootfsSource& rootfs, const std::string& at) {
  if (auto* dir = std::get_if<DirRootfs>(&rootfs)) {
    SetupOp op = bind_op(dir->path.string(), at, false, true);
    return op;
  }
  const auto& ovl = std::get<OverlayRootfs>(rootfs);
  std::string lower;
  for (const auto& l : ovl.lowerdirs) lower += (lower.empty() ? "" : ":") + l.string();
  std::string data;
  if (!lower.empty()) data = "lowerdir=" + lower + ",";
  data += fmt::format("upperdir={},workdir={},userxattr", ovl.upperdir.string(),
                      ovl.workdir.string());
  SetupOp op = mount_op("overlay", at, 0, std::move(data));
  return op;
}

void add_system_mounts(std::vector<SetupOp>& ops, const HostFacts& host) {
  ops.push_back(mount_op("proc", "/proc", k_nosuid_nodev_noexec, ""));
  ops.push_back(mount_op("tmpfs", "/dev", MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k"));
  for (const char* dev : k_devices)
    ops.push_back(bind_op(fmt::format("/dev/{}", dev), fmt::format("/dev/{}", dev), false, false));
  ops.push_back(simple_op(OpKind::mkdir, "/dev/pts", "", 0755));
  ops.push_back(mount_op("devpts", "/dev/pts", MS_NOSUID | MS_NOEXEC,
                         host.gid5_mapped ? "newinstance,ptmxmode=0666,mode=0620,gid=5"
                                          : "newinstance,ptmxmode=0666,mode=0620"));
  ops.push_back(simple_op(OpKind::mkdir, "/dev/shm", "", 01777));
  ops.push_back(mount_op("tmpfs", "/dev/shm", k_nosuid_nodev_noexec, "mode=1777,size=65536k"));
  for (auto [link, to] : k_dev_links) ops.push_back(simple_op(OpKind::symlink, link, to));
  SetupOp sys = simple_op(OpKind::sysfs, "/sys", "sysfs");
  sys.fstype = "sysfs";
  sys.flags = k_nosuid_nodev_noexec | MS_RDONLY;
  sys.readonly = true;
  ops.push_back(sys);
}

struct UserMountVisitor {
  std::vector<SetupOp>& ops;
  const std::string& state_dir;
  size_t index;

  void operator()(const BindMount& m) const {
    ops.push_back(bind_op(m.source.string(), m.target, m.readonly, true));
  }
  void operator()(const TmpfsMount& m) const {
    std::string data = "mode=1777";
    if (m.size_bytes) data += fmt::format(",size={}", m.size_bytes);
    ops.push_back(mount_op("tmpfs", m.target, MS_NOSUID | MS_NODEV, data));
  }
  void operator()(const SecretMount& m) const {
    SetupOp op = simple_op(OpKind::secret, m.target, fmt::format("secret-{}", index), m.mode);
    op.uid = m.uid;
    op.gid = m.gid;
    op.content = m.content;
    op.readonly = true;
    ops.push_back(std::move(op));
  }
  void operator()(const SshMount& m) const {
    ops.push_back(bind_op(fmt::format("{}/ssh-{}.sock", state_dir, index), m.target, false, false));
  }
};

bool has_key(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return true;
  return false;
}

}  // namespace

SetupPlan make_setup_plan(const ExecSpec& spec, const std::string& state_dir,
                          const HostFacts& host) {
  SetupPlan plan;
  plan.rootfs = state_dir + "/rootfs";
  plan.root_mount = root_mount(spec.rootfs, plan.rootfs);
  add_system_mounts(plan.ops, host);
  for (const char* name : {"hosts", "resolv.conf", "hostname"})
    plan.ops.push_back(
        bind_op(fmt::format("{}/{}", state_dir, name), fmt::format("/etc/{}", name), false, false));
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    std::visit(UserMountVisitor{plan.ops, state_dir, i}, spec.mounts[i]);
    if (std::holds_alternative<SecretMount>(spec.mounts[i])) plan.secret_staging = state_dir + "/secrets";
  }
  plan.hostname = spec.hostname;
  plan.loopback_up = spec.network == NetworkMode::none;
  plan.process.args = spec.args;
  plan.process.env = spec.env;
  if (!has_key(plan.process.env, "PATH")) plan.process.env.push_back(std::string("PATH=") + k_default_path);
  plan.process.cwd = spec.cwd.empty() ? "/" : spec.cwd;
  plan.process.user = spec.user;
  return plan;
}

}  // namespace cbuild::executor
