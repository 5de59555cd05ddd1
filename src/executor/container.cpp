#include "cbuild/executor/container.hpp"

#include "cbuild/executor/interrupt.hpp"
#include "cbuild/executor/plan.hpp"
#include "cbuild/executor/userns.hpp"
#include "cbuild/util/fs.hpp"
#include "init.hpp"
#include "spawn.hpp"
#include "ssh_proxy.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <deque>
#include <memory>

namespace cbuild::executor {
namespace {

std::string hosts_file(const ExecSpec& spec) {
  std::string text = fmt::format("127.0.0.1\tlocalhost {}\n::1\tlocalhost ip6-localhost ip6-loopback\n",
                                 spec.hostname);
  for (const auto& line : spec.extra_hosts) text += line + "\n";
  return text;
}

// Scratch files of one run: no fsync, they die with it.
Status write_plain(const fs::path& path, std::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd) return errno_error(fmt::format("create `{}`", path.string()));
  return write_all(fd.get(), text);
}

// Files and directories the plan refers to in the state directory.
Status write_state(const ExecSpec& spec, const fs::path& dir, const IdMap& map,
                   std::vector<std::unique_ptr<SshProxy>>& proxies) {
  if (::chmod(dir.c_str(), 0711) != 0) return errno_error(fmt::format("chmod `{}`", dir.string()));
  TRY(make_dirs(dir / "rootfs"));
  std::string resolv = spec.resolv_conf.empty() ? read_file("/etc/resolv.conf").value_or("")
                                                 : spec.resolv_conf;
  TRY(write_plain(dir / "hosts", hosts_file(spec)));
  TRY(write_plain(dir / "resolv.conf", resolv));
  TRY(write_plain(dir / "hostname", spec.hostname + "\n"));
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    if (std::holds_alternative<SecretMount>(spec.mounts[i])) TRY(make_dirs(dir / "secrets"));
    if (auto* ssh = std::get_if<SshMount>(&spec.mounts[i])) {
      fs::path sock = dir / fmt::format("ssh-{}.sock", i);
      proxies.push_back(TRY(SshProxy::start(sock, ssh->agent_socket)));
      TRY(set_container_owner(sock, ssh->uid, ssh->gid, ssh->mode, &map));
    }
  }
  return {};
}

// Collects output, the report and the setup error from the children until every pipe closes.
class Supervisor {
 public:
  Supervisor(const ExecSpec& spec, pid_t helper) : m_spec(spec), m_helper(helper) {}

  void add(UniqueFd fd, int kind) { m_channels.push_back({std::move(fd), kind, {}}); }
  enum { k_out, k_err, k_report, k_error };

  void run() {
    for (;;) {
      std::vector<pollfd> fds;
      for (const Channel& c : m_channels)
        if (c.fd) fds.push_back({c.fd.get(), POLLIN, 0});
      if (fds.empty()) return;
      bool watch_signal = interrupt_fd() >= 0 && m_killed_by == 0;
      if (watch_signal) fds.push_back({interrupt_fd(), POLLIN, 0});
      if (::poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) return;
      if (watch_signal && fds.back().revents) kill_all();
      for (Channel& c : m_channels)
        for (const pollfd& p : fds)
          if (c.fd && p.fd == c.fd.get() && p.revents) read_channel(c);
    }
  }

  void kill_all() {
    m_killed_by = interrupt_signal() ? interrupt_signal() : SIGTERM;
    // Killing pid 1 makes the kernel kill the whole pid namespace.
    ::kill(m_init > 0 ? m_init : m_helper, SIGKILL);
  }

  int killed_by() const { return m_killed_by; }
  const std::string& error() const { return m_error; }
  std::vector<CreatedPath>& created() { return m_created; }
  std::vector<std::string> last_lines() const {
    std::vector<std::string> out(m_lines.begin(), m_lines.end());
    if (!m_partial.empty()) out.push_back(m_partial);
    while (out.size() > k_last_lines) out.erase(out.begin());
    return out;
  }

 private:
  struct Channel {
    UniqueFd fd;
    int kind;
    std::string pending;
  };

  void read_channel(Channel& c) {
    char buf[65536];
    ssize_t n = ::read(c.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) return;
    if (n <= 0) {
      c.fd.reset();
      return;
    }
    std::string_view data(buf, static_cast<size_t>(n));
    if (c.kind == k_error) m_error.append(data);
    if (c.kind == k_report) parse_report(c.pending, data);
    if (c.kind == k_out || c.kind == k_err) output(c.kind == k_out ? Stream::out : Stream::err, data);
  }

  void output(Stream stream, std::string_view data) {
    if (m_spec.on_output) m_spec.on_output(stream, data);
    for (char ch : data) {
      if (ch != '\n') {
        m_partial += ch;
        continue;
      }
      m_lines.push_back(std::move(m_partial));
      m_partial.clear();
      if (m_lines.size() > k_last_lines) m_lines.pop_front();
    }
  }

  void parse_report(std::string& pending, std::string_view data) {
    pending.append(data);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, nl);
      pending.erase(0, nl + 1);
      char type = 0;
      long long sec = 0, nsec = 0, after_sec = 0, after_nsec = 0;
      int consumed = 0;
      if (std::sscanf(line.c_str(), "pid %d", &m_init) == 1) continue;
      if (std::sscanf(line.c_str(), "created %c %lld %lld %lld %lld %n", &type, &sec, &nsec,
                      &after_sec, &after_nsec, &consumed) >= 5 &&
          consumed > 0)
        m_created.push_back({line.substr(static_cast<size_t>(consumed)), type == 'd', sec, nsec,
                             after_sec, after_nsec});
    }
  }

  const ExecSpec& m_spec;
  pid_t m_helper;
  pid_t m_init = 0;
  int m_killed_by = 0;
  std::vector<Channel> m_channels;
  std::string m_error;
  std::vector<CreatedPath> m_created;
  std::deque<std::string> m_lines;
  std::string m_partial;
};

int namespace_flags(NetworkMode network) {
  int flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS;
  return network == NetworkMode::none ? flags | CLONE_NEWNET : flags;
}

}  // namespace

std::string failure_message(const ExecResult& result, std::string_view command) {
  std::string text = fmt::format("RUN failed (exit code {}): {}", result.exit_code, command);
  for (const auto& line : result.last_lines) text += "\n  " + line;
  return text;
}

Result<ExecResult> run_container(const ExecSpec& spec) {
  if (int sig = interrupt_signal())
    return make_error(ExitCode::interrupted, "interrupted by signal {}", sig);
  auto started = std::chrono::steady_clock::now();
  const IdMap& map = spec.id_map ? *spec.id_map : host_id_map();
  TempDir state = TRY(TempDir::create("cbuild-run-", spec.state_parent));
  std::vector<std::unique_ptr<SshProxy>> proxies;
  TRY(write_state(spec, state.path(), map, proxies));
  HostFacts facts{!map.single && map.host_gid(5).has_value()};
  SetupPlan plan = make_setup_plan(spec, state.path().string(), facts);

  bool piped = static_cast<bool>(spec.on_output);
  auto lock = lock_child_pipes();
  Pipe out = TRY(Pipe::create()), err = TRY(Pipe::create());
  Pipe report = TRY(Pipe::create()), error = TRY(Pipe::create());
  ChildIo io{piped ? out.write.get() : spec.stdout_fd, piped ? err.write.get() : spec.stderr_fd,
             report.write.get(), error.write.get()};
  pid_t helper = TRY(spawn_in_namespaces(namespace_flags(spec.network), map,
                                         [&] { return run_namespace_helper(plan, io); }));
  out.write.reset();
  err.write.reset();
  report.write.reset();
  error.write.reset();
  lock.unlock();

  Supervisor supervisor(spec, helper);
  supervisor.add(std::move(report.read), Supervisor::k_report);
  supervisor.add(std::move(error.read), Supervisor::k_error);
  if (piped) {
    supervisor.add(std::move(out.read), Supervisor::k_out);
    supervisor.add(std::move(err.read), Supervisor::k_err);
  }
  supervisor.run();
  int code = wait_exit_code(helper);
  if (supervisor.killed_by())
    return make_error(ExitCode::interrupted, "interrupted by signal {}", supervisor.killed_by());
  if (!supervisor.error().empty())
    return make_error("set up container: {}", supervisor.error());
  if (code == k_setup_failed && supervisor.created().empty() && supervisor.last_lines().empty())
    return make_error("set up container: the container process died");
  ExecResult result;
  result.exit_code = code;
  result.last_lines = supervisor.last_lines();
  result.created = std::move(supervisor.created());
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace cbuild::executor
