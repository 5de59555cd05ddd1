// The build user namespace: mapped once per process and id map, joined by every helper and
// step, safe under concurrent use, and leaving no process behind (needs user namespaces: run
// as root or as a user with a subordinate id range; executor.test.sh runs both).
#include "cbuild/executor/container.hpp"
#include "cbuild/executor/userns.hpp"
#include "support/executor/busybox.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

using namespace cbuild;
using namespace cbuild::executor;
using cbuild::testing::container_temp_dir;

namespace {

std::string ns_link(const std::string& proc = "/proc/self") {
  std::error_code ec;
  return fs::read_symlink(proc + "/ns/user", ec).string();
}

Result<std::string> helper_ns(const IdMap* map = nullptr) {
  return run_in_userns([]() -> Result<std::string> { return ns_link(); }, map);
}

// A container on a fresh overlay over a busybox root; returns its output.
struct Step {
  TempDir scratch = container_temp_dir("cbuild-uns-");
  ExecSpec spec;
  std::string output;

  Step(const fs::path& lower, std::string script) {
    for (const char* d : {"upper", "work"}) {
      REQUIRE(make_dirs(scratch.path() / d).ok());
      REQUIRE(own_for_container(scratch.path() / d).ok());
    }
    spec.rootfs = OverlayRootfs{{lower}, scratch.path() / "upper", scratch.path() / "work"};
    spec.args = {"/bin/sh", "-c", std::move(script)};
    spec.state_parent = scratch.path();
    spec.on_output = [this](Stream, std::string_view d) { output.append(d); };
  }
  ~Step() {
    (void)remove_tree_mapped(scratch.path() / "upper");
    (void)remove_tree_mapped(scratch.path() / "work");
  }
};

const fs::path& busybox_root() {
  static TempDir dir = [] {
    TempDir d = container_temp_dir("cbuild-uns-bb-");
    cbuild::testing::make_busybox_rootfs(d.path());
    return d;
  }();
  return dir.path();
}

// Pids whose parent is this process.
std::vector<pid_t> children() {
  std::vector<pid_t> out;
  for (const auto& entry : fs::directory_iterator("/proc")) {
    auto stat = read_file(entry.path() / "stat");
    if (!stat) continue;
    size_t paren = stat->rfind(')');
    if (paren == std::string::npos) continue;
    char state = 0;
    int ppid = 0;
    if (std::sscanf(stat->c_str() + paren + 1, " %c %d", &state, &ppid) == 2 && ppid == ::getpid())
      out.push_back(std::stoi(entry.path().filename().string()));
  }
  return out;
}

// Alive and not a zombie.
bool running(pid_t pid) {
  auto stat = read_file(fmt::format("/proc/{}/stat", pid));
  if (!stat) return false;
  size_t paren = stat->rfind(')');
  return paren != std::string::npos && paren + 2 < stat->size() && (*stat)[paren + 2] != 'Z';
}

}  // namespace

TEST_CASE("userns: helpers and steps all join one build user namespace", "[userns]") {
  auto first = helper_ns();
  auto second = helper_ns();
  REQUIRE(first.ok());
  REQUIRE(second.ok());
  CHECK(first->starts_with("user:["));
  CHECK(*first == *second);
  CHECK(*first != ns_link());
  Step step(busybox_root(), "readlink /proc/self/ns/user; cat /proc/self/uid_map");
  auto r = run_container(step.spec);
  REQUIRE(r.ok());
  CHECK(r->exit_code == 0);
  CHECK(step.output.starts_with(*first + "\n"));
  // The map is the build map.
  std::string want = IdMap::proc_text(host_id_map().uids);
  std::string got;
  for (size_t pos = step.output.find('\n') + 1; pos < step.output.size();) {
    size_t nl = step.output.find('\n', pos);
    std::istringstream fields(step.output.substr(pos, nl - pos));
    uint32_t c = 0, h = 0, n = 0;
    fields >> c >> h >> n;
    got += fmt::format("{} {} {}\n", c, h, n);
    pos = nl + 1;
  }
  CHECK(got == want);
}

TEST_CASE("userns: another id map gets its own namespace, also created once", "[userns]") {
  const IdMap& host = host_id_map();
  IdMap single;
  single.uids = {{0, *host.host_uid(0), 1}};
  single.gids = {{0, *host.host_gid(0), 1}};
  single.single = true;
  auto a = helper_ns(&single);
  auto b = helper_ns(&single);
  auto def = helper_ns();
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(def.ok());
  CHECK(*a == *b);
  if (!host.single) CHECK(*a != *def);
  auto map = run_in_userns([]() -> Result<std::string> { return read_file("/proc/self/uid_map"); }, &single);
  REQUIRE(map.ok());
  std::istringstream fields(*map);
  uint32_t c = 9, h = 0, n = 0;
  fields >> c >> h >> n;
  CHECK((c == 0 && h == *host.host_uid(0) && n == 1));
}

TEST_CASE("userns: concurrent helpers and steps from several threads", "[userns]") {
  const fs::path& lower = busybox_root();
  auto expected = helper_ns();
  REQUIRE(expected.ok());
  std::atomic<int> helper_ok{0}, step_ok{0};
  std::vector<std::string> failures;
  std::mutex failures_mutex;
  auto fail = [&](std::string message) {
    std::lock_guard lock(failures_mutex);
    failures.push_back(std::move(message));
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = run_in_userns([&]() -> Result<std::string> { return fmt::format("{}.{}:{}", t, i, ::getuid()); });
        if (r.ok() && *r == fmt::format("{}.{}:0", t, i))
          ++helper_ok;
        else
          fail(r.ok() ? *r : r.error().message);
      }
    });
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 3; ++i) {
        Step step(lower, fmt::format("echo step {} {}; readlink /proc/self/ns/user", t, i));
        auto r = run_container(step.spec);
        if (r.ok() && r->exit_code == 0 && step.output == fmt::format("step {} {}\n{}\n", t, i, *expected))
          ++step_ok;
        else
          fail(r.ok() ? step.output : r.error().message);
      }
    });
  for (auto& th : threads) th.join();
  CHECK(failures.empty());
  CHECK(helper_ok == 20);
  CHECK(step_ok == 6);
}

TEST_CASE("userns: no process is kept for the namespace", "[userns]") {
  REQUIRE(helper_ns().ok());
  CHECK(children().empty());
}

TEST_CASE("userns: a helper dies with the process that started it", "[userns]") {
  REQUIRE(helper_ns().ok());  // the namespace exists before the fork, as in a builder thread
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  pid_t parent = ::fork();
  REQUIRE(parent >= 0);
  if (parent == 0) {
    ::close(fds[0]);
    (void)run_in_userns([&]() -> Result<std::string> {
      std::string pid = std::to_string(::getpid()) + "\n";
      (void)write_all(fds[1], pid);
      for (;;) ::pause();
    });
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string line;
  char ch;
  while (::read(fds[0], &ch, 1) == 1 && ch != '\n') line += ch;
  ::close(fds[0]);
  REQUIRE_FALSE(line.empty());
  pid_t helper = std::stoi(line);
  CHECK(running(helper));
  ::kill(parent, SIGKILL);
  int status = 0;
  REQUIRE(::waitpid(parent, &status, 0) == parent);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (running(helper) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK_FALSE(running(helper));
}
