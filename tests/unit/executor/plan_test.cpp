#include "cbuild/executor/plan.hpp"
#include "cbuild/executor/setup.hpp"
#include "support/executor/fake_syscall.hpp"

#include <sys/mount.h>

#include <catch2/catch.hpp>

#include <algorithm>

using namespace cbuild::executor;
using cbuild::executor::testing::FakeSyscall;

namespace {

ExecSpec overlay_spec() {
  ExecSpec spec;
  spec.rootfs = OverlayRootfs{{"/s/l2", "/s/l1"}, "/s/up", "/s/wk"};
  spec.args = {"/bin/sh", "-c", "true"};
  spec.env = {"A=1"};
  spec.cwd = "/app";
  spec.user = "user";
  return spec;
}

const SetupOp* find_op(const SetupPlan& plan, std::string_view target) {
  for (const auto& op : plan.ops)
    if (op.target == target) return &op;
  return nullptr;
}

}  // namespace

TEST_CASE("plan: overlay root with lowerdirs topmost first and userxattr") {
  SetupPlan plan = make_setup_plan(overlay_spec(), "/st", {});
  CHECK(plan.rootfs == "/st/rootfs");
  CHECK(plan.root_mount.fstype == "overlay");
  CHECK(plan.root_mount.data == "lowerdir=/s/l2:/s/l1,upperdir=/s/up,workdir=/s/wk,userxattr");
  CHECK(plan.process.args == std::vector<std::string>{"/bin/sh", "-c", "true"});
  CHECK(plan.process.env == std::vector<std::string>{"A=1", std::string("PATH=") + k_default_path});
  CHECK(plan.process.cwd == "/app");
  CHECK(plan.process.user == "user");
  CHECK(plan.hostname == "cbuild");
  CHECK_FALSE(plan.loopback_up);
}

TEST_CASE("plan: a directory root is an rbind; PATH from the environment is kept") {
  ExecSpec spec = overlay_spec();
  spec.rootfs = DirRootfs{"/work/root"};
  spec.env = {"PATH=/x"};
  spec.network = NetworkMode::none;
  SetupPlan plan = make_setup_plan(spec, "/st", {});
  CHECK(plan.root_mount.kind == OpKind::bind);
  CHECK(plan.root_mount.recursive);
  CHECK(plan.root_mount.source == "/work/root");
  CHECK(plan.process.env == std::vector<std::string>{"PATH=/x"});
  CHECK(plan.loopback_up);
}

TEST_CASE("plan: /proc, /dev with devices, pts, shm, read-only /sys, generated /etc files") {
  SetupPlan plan = make_setup_plan(overlay_spec(), "/st", {true});
  REQUIRE(find_op(plan, "/proc"));
  CHECK(find_op(plan, "/proc")->fstype == "proc");
  CHECK(find_op(plan, "/dev")->fstype == "tmpfs");
  for (const char* dev : {"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom", "/dev/tty"}) {
    const SetupOp* op = find_op(plan, dev);
    REQUIRE(op);
    CHECK(op->kind == OpKind::bind);
    CHECK(op->source == dev);
  }
  auto pts = std::find_if(plan.ops.begin(), plan.ops.end(),
                          [](const SetupOp& op) { return op.target == "/dev/pts" && op.kind == OpKind::mount; });
  REQUIRE(pts != plan.ops.end());
  CHECK(pts->data == "newinstance,ptmxmode=0666,mode=0620,gid=5");
  CHECK(make_setup_plan(overlay_spec(), "/st", {false}).ops.size() == plan.ops.size());
  const SetupOp* sys = find_op(plan, "/sys");
  REQUIRE(sys);
  CHECK(sys->kind == OpKind::sysfs);
  CHECK((sys->flags & MS_RDONLY) != 0);
  for (const char* name : {"hosts", "resolv.conf", "hostname"}) {
    const SetupOp* op = find_op(plan, std::string("/etc/") + name);
    REQUIRE(op);
    CHECK(op->source == std::string("/st/") + name);
    CHECK_FALSE(op->readonly);
  }
  // /dev entries come after the /dev tmpfs.
  auto index = [&](std::string_view t) { return find_op(plan, t) - plan.ops.data(); };
  CHECK(index("/dev") < index("/dev/null"));
}

TEST_CASE("plan: user mounts in order, secrets on the staging tmpfs, ssh through the proxy socket") {
  ExecSpec spec = overlay_spec();
  spec.mounts = {BindMount{"/ctx", "/src", true}, TmpfsMount{"/tmp", 1 << 20},
                 SecretMount{"/run/secrets/tok", "s3cret", 1000, 1000, 0440},
                 SshMount{"/agent.sock", "/run/ssh.sock", 0, 0, 0600},
                 BindMount{"/cache", "/root/.cache", false}};
  SetupPlan plan = make_setup_plan(spec, "/st", {});
  const SetupOp* src = find_op(plan, "/src");
  REQUIRE(src);
  CHECK(src->readonly);
  CHECK(src->recursive);
  CHECK(find_op(plan, "/tmp")->data == "mode=1777,size=1048576");
  const SetupOp* secret = find_op(plan, "/run/secrets/tok");
  CHECK(secret->kind == OpKind::secret);
  CHECK(secret->content == "s3cret");
  CHECK((secret->uid == 1000 && secret->gid == 1000 && secret->mode == 0440));
  CHECK(plan.secret_staging == "/st/secrets");
  CHECK(find_op(plan, "/run/ssh.sock")->source == "/st/ssh-3.sock");
  CHECK_FALSE(find_op(plan, "/root/.cache")->readonly);
  CHECK(find_op(plan, "/src") < find_op(plan, "/root/.cache"));
}

TEST_CASE("setup: applied in order, slave root first, pivot last") {
  ExecSpec spec = overlay_spec();
  spec.mounts = {SecretMount{"/run/secrets/tok", "s3cret", 5, 6, 0400}, BindMount{"/ctx", "/src", true}};
  spec.network = NetworkMode::none;
  SetupPlan plan = make_setup_plan(spec, "/st", {});
  FakeSyscall sys;
  sys.host_dirs = {"/ctx"};
  auto created = apply_setup(plan, sys);
  REQUIRE(created.ok());
  REQUIRE(sys.calls.size() > 10);
  CHECK(sys.calls.front() == fmt::format("mount none /  {:#x} ", MS_REC | MS_SLAVE));
  CHECK(sys.calls[1].starts_with("mount overlay /st/rootfs overlay 0x0 lowerdir=/s/l2:/s/l1"));
  CHECK(sys.calls[2].starts_with("mount tmpfs /st/secrets tmpfs"));
  CHECK(sys.calls.back() == "pivot_root /st/rootfs");
  CHECK(sys.calls[sys.calls.size() - 2] == "sethostname cbuild");
  CHECK(sys.calls[sys.calls.size() - 3] == "loopback up");
  CHECK(sys.find("write /st/secrets/secret-0") == "write /st/secrets/secret-0 s3cret 5:6 400");
  CHECK(sys.find("bind /st/secrets/secret-0") == "bind /st/secrets/secret-0 /st/rootfs/run/secrets/tok ro");
  CHECK(sys.find("prepare /src") == "prepare /src dir");
  CHECK(sys.find("bind /ctx") == "bind /ctx /st/rootfs/src rec ro");
  CHECK(sys.find("prepare /etc/hosts") == "prepare /etc/hosts file");
  CHECK(sys.find("symlink /st/rootfs/dev/fd") == "symlink /st/rootfs/dev/fd -> /proc/self/fd");
  CHECK(sys.index("mount tmpfs /st/rootfs/dev ") < sys.index("mkdir /st/rootfs/dev/pts"));
  CHECK(sys.index("mkdir /st/rootfs/dev/pts") < sys.index("mount devpts"));
  // Created mount points are reported in order.
  REQUIRE(!created->empty());
  CHECK(created->front().path == "/proc");
}

TEST_CASE("setup: sysfs falls back to a read-only recursive bind of /sys") {
  SetupPlan plan = make_setup_plan(overlay_spec(), "/st", {});
  FakeSyscall sys;
  sys.fail_prefixes = {"mount sysfs"};
  REQUIRE(apply_setup(plan, sys).ok());
  CHECK(sys.find("bind /sys") == "bind /sys /st/rootfs/sys rec ro");
}

TEST_CASE("setup: a failing step stops the sequence and names the target") {
  SetupPlan plan = make_setup_plan(overlay_spec(), "/st", {});
  FakeSyscall sys;
  sys.fail_prefixes = {"bind /dev/urandom"};
  auto r = apply_setup(plan, sys);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.starts_with("set up `/dev/urandom`: bind /dev/urandom"));
  CHECK(sys.find("pivot_root").empty());
  CHECK(sys.find("bind /dev/tty").empty());
}

TEST_CASE("failure message has the exit code, the command and the last lines") {
  ExecResult r;
  r.exit_code = 3;
  r.last_lines = {"compiling", "error: boom"};
  CHECK(failure_message(r, "make all") == "RUN failed (exit code 3): make all\n  compiling\n  error: boom");
}
