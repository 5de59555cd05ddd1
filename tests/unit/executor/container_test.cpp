// Real containers on a busybox root (needs user namespaces: run as root or as a user with a
// subordinate id range; tests/integration/executor.test.sh runs both).
#include "cbuild/executor/container.hpp"
#include "cbuild/executor/interrupt.hpp"
#include "cbuild/executor/plan.hpp"
#include "cbuild/executor/userns.hpp"
#include "support/executor/busybox.hpp"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <thread>

using namespace cbuild;
using namespace cbuild::executor;
using cbuild::testing::container_temp_dir;

namespace {

const fs::path& busybox_root() {
  static TempDir dir = [] {
    TempDir d = container_temp_dir("cbuild-bb-");
    cbuild::testing::make_busybox_rootfs(d.path());
    return d;
  }();
  return dir.path();
}

struct Run {
  TempDir scratch = container_temp_dir("cbuild-ct-");
  ExecSpec spec;
  std::string output;
  Result<ExecResult> result = make_error("not run");

  explicit Run(std::string script) {
    for (const char* d : {"upper", "work"}) {
      REQUIRE(make_dirs(scratch.path() / d).ok());
      REQUIRE(own_for_container(scratch.path() / d).ok());
    }
    spec.rootfs = OverlayRootfs{{busybox_root()}, scratch.path() / "upper", scratch.path() / "work"};
    spec.args = {"/bin/sh", "-c", std::move(script)};
    spec.on_output = [this](Stream, std::string_view data) { output.append(data); };
  }
  ~Run() {
    (void)remove_tree_mapped(scratch.path() / "upper");
    (void)remove_tree_mapped(scratch.path() / "work");
  }
  Run& go() {
    result = run_container(spec);
    if (!result) FAIL(result.error().message);
    return *this;
  }
  int code() const { return result->exit_code; }
  fs::path upper() const { return scratch.path() / "upper"; }
};

// A process whose command line contains `marker` is alive.
bool process_alive(const std::string& marker) {
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto text = read_file(entry.path() / "cmdline");
    if (!text) continue;
    std::string cmd = *text;
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(marker) != std::string::npos && cmd.find("sh -c") == std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("container: output streams, exit code and last lines", "[container]") {
  Run run("echo hello; echo oops >&2; exit 3");
  run.go();
  CHECK(run.code() == 3);
  CHECK(run.output.find("hello\n") != std::string::npos);
  CHECK(run.output.find("oops\n") != std::string::npos);
  CHECK(run.result->last_lines.size() == 2);
  CHECK(failure_message(*run.result, "x").starts_with("RUN failed (exit code 3): x"));
}

TEST_CASE("container: a missing command exits 127 with a message", "[container]") {
  Run run("");
  run.spec.args = {"no-such-command", "arg"};
  run.go();
  CHECK(run.code() == 127);
  CHECK(run.output.find("exec `no-such-command`: executable file not found in $PATH") != std::string::npos);
}

TEST_CASE("container: root of the namespace, pid 1 init, isolated hostname", "[container]") {
  Run run("id -u; id -g; cat /proc/1/status | grep -c PPid; hostname; cat /etc/hostname; echo $HOME; ls /proc | grep -c '^[0-9]'");
  run.spec.hostname = "stepbox";
  run.go();
  REQUIRE(run.code() == 0);
  CHECK(run.output.starts_with("0\n0\n1\nstepbox\nstepbox\n/root\n"));
  // init + sh + ls + grep at most
  CHECK(std::stoi(run.output.substr(run.output.rfind('\n', run.output.size() - 2) + 1)) <= 5);
}

TEST_CASE("container: environment, PATH default and HOME of the user", "[container]") {
  Run run("echo \"$FOO|$PATH|$HOME\"");
  run.spec.env = {"FOO=bar baz"};
  run.spec.user = "user";
  run.go();
  CHECK(run.output == std::string("bar baz|") + k_default_path + "|/home/user\n");
}

TEST_CASE("container: USER by name has its supplementary groups", "[container]") {
  if (host_id_map().single) return;  // only container id 0 exists
  Run run("id -u; id -g; id -G");
  run.spec.user = "user";
  run.go();
  CHECK(run.output == "1000\n1000\n1000 2000\n");
  Run numeric("id -u; id -g; id -G");
  numeric.spec.user = "4242:2000";
  numeric.go();
  CHECK(numeric.output == "4242\n2000\n2000\n");
  Run unknown("true");
  unknown.spec.user = "ghost";
  auto r = run_container(unknown.spec);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("unable to find user ghost") != std::string::npos);
}

TEST_CASE("container: WORKDIR is created when missing and lands in the upperdir", "[container]") {
  Run run("pwd; touch here");
  run.spec.cwd = "/app/src/x";
  run.go();
  CHECK(run.output == "/app/src/x\n");
  CHECK(fs::exists(run.upper() / "app/src/x/here"));
}

TEST_CASE("container: /dev, /proc, /sys, /dev/pts and /dev/shm", "[container]") {
  Run run("echo x > /dev/null && head -c 4 /dev/zero | wc -c && head -c 4 /dev/urandom | wc -c && "
          "test -c /dev/full && test -d /dev/pts && touch /dev/shm/f && "
          "(touch /sys/x 2>/dev/null && echo sys-rw || echo sys-ro) && grep -c . /proc/self/status >/dev/null && echo ok");
  run.go();
  CHECK(run.output == "4\n4\nsys-ro\nok\n");
}

TEST_CASE("container: mount points cbuild created are reported; generated files stay out of the rootfs", "[container]") {
  Run run("cat /etc/hosts; echo changed > /etc/resolv.conf");
  run.spec.extra_hosts = {"10.1.2.3 db"};
  run.spec.resolv_conf = "nameserver 192.0.2.1\n";
  run.go();
  CHECK(run.output.find("127.0.0.1\tlocalhost cbuild\n") != std::string::npos);
  CHECK(run.output.find("10.1.2.3 db\n") != std::string::npos);
  std::vector<std::string> paths;
  for (const auto& c : run.result->created) paths.push_back(c.path);
  for (const char* p : {"/proc", "/dev", "/sys", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname"})
    CHECK(std::find(paths.begin(), paths.end(), p) != paths.end());
  // The placeholders in the upperdir are empty: the content lived in the bind-mounted files.
  CHECK(fs::file_size(run.upper() / "etc/resolv.conf") == 0);
  CHECK(fs::file_size(run.upper() / "etc/hosts") == 0);
}

TEST_CASE("container: tmpfs, read-only and read-write binds", "[container]") {
  TempDir host = container_temp_dir("cbuild-bind-");
  REQUIRE(write_file_atomic(host.path() / "in.txt", "from host\n").ok());
  TempDir cache = container_temp_dir("cbuild-cache-");
  Run run("grep -q ' /scratch tmpfs' /proc/mounts && echo tmpfs; cat /ctx/in.txt; "
          "(echo no > /ctx/in.txt) 2>/dev/null || echo ro; echo kept > /cache/out.txt; echo $?");
  run.spec.mounts = {TmpfsMount{"/scratch", 1 << 20}, BindMount{host.path(), "/ctx", true},
                     BindMount{cache.path(), "/cache", false}};
  run.go();
  CHECK(run.output == "tmpfs\nfrom host\nro\n0\n");
  CHECK(read_file(cache.path() / "out.txt").value() == "kept\n");
  CHECK(read_file(host.path() / "in.txt").value() == "from host\n");
  CHECK_FALSE(fs::exists(run.upper() / "cache/out.txt"));
}

TEST_CASE("container: secrets are readable with their owner and mode, never on disk", "[container]") {
  bool single = host_id_map().single;
  Run run("cat /run/secrets/token; stat -c '%a %u %g' /run/secrets/token; cat /other");
  run.spec.mounts = {SecretMount{"/run/secrets/token", "TOPSECRET-1234\n", single ? 0u : 1000u,
                                 single ? 0u : 1000u, 0440},
                     SecretMount{"/other", "second\n", 0, 0, 0400}};
  run.go();
  CHECK(run.output == fmt::format("TOPSECRET-1234\n440 {0} {0}\nsecond\n", single ? 0 : 1000));
  CHECK(fs::file_size(run.upper() / "run/secrets/token") == 0);
  // Nothing under the scratch tree holds the secret.
  for (const auto& e : fs::recursive_directory_iterator(run.scratch.path(), fs::directory_options::skip_permission_denied))
    if (e.is_regular_file()) CHECK(read_file(e.path()).value_or("").find("TOPSECRET") == std::string::npos);
}

TEST_CASE("container: ssh agent socket is forwarded with the requested owner", "[container]") {
  TempDir agent_dir = TempDir::create("cbuild-agent-").value();
  fs::path agent = agent_dir.path() / "agent.sock";
  int server = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, agent.c_str());
  REQUIRE(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  REQUIRE(::listen(server, 4) == 0);
  Run run("stat -c '%F %a %u' /run/ssh/agent.sock");
  run.spec.mounts = {SshMount{agent, "/run/ssh/agent.sock", 0, 0, 0600}};
  run.go();
  CHECK(run.output == "socket 600 0\n");
  ::close(server);
}

TEST_CASE("container: network none has only a loopback that is up", "[container]") {
  Run run("ls /sys/class/net; ip -o link show lo | grep -q UP && echo lo-up; "
          "ping -c1 -W1 127.0.0.1 >/dev/null 2>&1; echo ping=$?");
  run.spec.network = NetworkMode::none;
  run.go();
  CHECK(run.output == "lo\nlo-up\nping=0\n");
  Run host("ls /sys/class/net | grep -c .");
  host.go();
  CHECK(host.code() == 0);
}

TEST_CASE("container: background processes die with the step", "[container]") {
  Run run("sleep 876543 & echo started");
  run.go();
  CHECK(run.output == "started\n");
  CHECK_FALSE(process_alive("sleep 876543"));
}

TEST_CASE("container: SIGTERM and SIGINT kill the pid namespace and clean up", "[container][signal]") {
  for (int sig : {SIGTERM, SIGINT}) {
    TempDir state = container_temp_dir("cbuild-sig-");
    std::string marker = fmt::format("sleep {}", 900000 + sig);
    pid_t child = ::fork();
    REQUIRE(child >= 0);
    if (child == 0) {
      install_interrupt_handlers();
      int code = 1;
      {
        Run run(marker);
        run.spec.state_parent = state.path();
        auto r = run_container(run.spec);
        if (!r.ok() && r.error().code == ExitCode::interrupted) code = 42;
      }  // the scratch directories are removed before _exit
      ::_exit(code);
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!process_alive(marker) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    REQUIRE(process_alive(marker));
    ::kill(child, sig);
    int status = 0;
    REQUIRE(::waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 42);
    CHECK_FALSE(process_alive(marker));
    CHECK(fs::is_empty(state.path()));
    std::string mounts = read_file("/proc/self/mountinfo").value();
    CHECK(mounts.find(state.path().string()) == std::string::npos);
    CHECK(mounts.find("cbuild-ct-") == std::string::npos);
  }
}

TEST_CASE("userns helper: runs as container root with the build map", "[container]") {
  TempDir dir = container_temp_dir("cbuild-userns-");
  const IdMap& map = host_id_map();
  auto r = run_in_userns([&]() -> Result<std::string> {
    std::string f = (dir.path() / "f").string();
    if (!write_file_atomic(f, "x").ok()) return make_error("write");
    if (!map.single && ::chown(f.c_str(), 1000, 1000) != 0) return errno_error("chown");
    return fmt::format("{}:{}", ::getuid(), ::getgid());
  });
  REQUIRE(r.ok());
  CHECK(*r == "0:0");
  struct stat st {};
  REQUIRE(::stat((dir.path() / "f").c_str(), &st) == 0);
  uint32_t want = map.single ? *map.host_uid(0) : *map.host_uid(1000);
  CHECK(st.st_uid == want);
  auto err = run_in_userns([]() -> Result<std::string> { return make_error("inner failure"); });
  REQUIRE_FALSE(err.ok());
  CHECK(err.error().message == "inner failure");
  CHECK(remove_tree_mapped(dir.path() / "f").ok());
}

TEST_CASE("container: a cache directory given to uid/gid/mode is usable by that USER", "[container]") {
  if (host_id_map().single) return;
  TempDir cache = container_temp_dir("cbuild-cache-");
  fs::path dir = cache.path() / "c";
  REQUIRE(make_dirs(dir).ok());
  REQUIRE(set_container_owner(dir, 1000, 1000, 0700).ok());
  Run run("stat -c '%u %g %a' /cache && echo hi > /cache/f && echo ok");
  run.spec.user = "user";
  run.spec.mounts = {BindMount{dir, "/cache", false}};
  run.go();
  CHECK(run.output == "1000 1000 700\nok\n");
  CHECK(remove_tree_mapped(dir).ok());
}
