#include "init.hpp"

#include "cbuild/executor/setup.hpp"
#include "cbuild/executor/user.hpp"
#include "cbuild/util/fs.hpp"
#include "spawn.hpp"

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

namespace cbuild::executor {
namespace {

// The command after user resolution, ready for exec.
struct Process {
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;
  UserIds ids;
};

int fail(const ChildIo& io, const std::string& message) {
  [[maybe_unused]] Status s = write_all(io.error_fd, message);
  return k_setup_failed;
}

std::string env_value(const std::vector<std::string>& env, std::string_view key) {
  for (const auto& e : env)
    if (e.size() > key.size() && e.compare(0, key.size(), key) == 0 && e[key.size()] == '=')
      return e.substr(key.size() + 1);
  return {};
}

Status make_cwd(const std::string& cwd) {
  for (size_t i = 1; i <= cwd.size(); ++i) {
    if (i < cwd.size() && cwd[i] != '/') continue;
    std::string path = cwd.substr(0, i);
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error(fmt::format("create working directory `{}`", path));
  }
  return {};
}

Result<Process> prepare_process(const ProcessPlan& plan) {
  Process p{plan.args, plan.env, plan.cwd, {}};
  if (p.args.empty()) return make_error(ExitCode::bad_input, "no command to run");
  if (p.cwd.empty() || p.cwd[0] != '/') p.cwd = "/" + p.cwd;
  p.ids = TRY(resolve_user(plan.user, read_file("/etc/passwd").value_or(""),
                           read_file("/etc/group").value_or("")));
  if (env_value(p.env, "HOME").empty()) p.env.push_back("HOME=" + p.ids.home);
  TRY(make_cwd(p.cwd));
  return p;
}

std::vector<char*> c_strings(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

[[noreturn]] void die(const std::string& message, int code) {
  [[maybe_unused]] Status s = write_all(2, "cbuild: " + message + "\n");
  ::_exit(code);
}

// execvpe with the PATH of the container environment (glibc's uses the caller's).
[[noreturn]] void exec_search(Process& p) {
  auto argv = c_strings(p.args);
  auto envp = c_strings(p.env);
  const std::string& cmd = p.args[0];
  if (cmd.find('/') != std::string::npos) {
    ::execve(cmd.c_str(), argv.data(), envp.data());
    die(fmt::format("exec `{}`: {}", cmd, std::strerror(errno)), errno == ENOENT ? 127 : 126);
  }
  std::string path = env_value(p.env, "PATH");
  int saved = ENOENT;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find(':', start);
    if (end == std::string::npos) end = path.size();
    std::string dir = path.substr(start, end - start);
    std::string full = (dir.empty() ? "." : dir) + "/" + cmd;
    ::execve(full.c_str(), argv.data(), envp.data());
    if (errno != ENOENT && errno != ENOTDIR) saved = errno;
    start = end + 1;
  }
  if (saved == ENOENT) die(fmt::format("exec `{}`: executable file not found in $PATH", cmd), 127);
  die(fmt::format("exec `{}`: {}", cmd, std::strerror(saved)), 126);
}

[[noreturn]] void exec_process(Process& p, const ChildIo& io) {
  int null_in = ::open("/dev/null", O_RDONLY);
  int null_out = ::open("/dev/null", O_WRONLY);
  ::dup2(null_in, 0);
  ::dup2(io.stdout_fd >= 0 ? io.stdout_fd : null_out, 1);
  ::dup2(io.stderr_fd >= 0 ? io.stderr_fd : null_out, 2);
  ::close_range(3, ~0U, 0);
  sigset_t all;
  sigemptyset(&all);
  ::sigprocmask(SIG_SETMASK, &all, nullptr);
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGQUIT, SIGHUP}) ::signal(sig, SIG_DFL);
  std::vector<gid_t> groups(p.ids.groups.begin(), p.ids.groups.end());
  if (::setgroups(groups.size(), groups.data()) != 0 && errno != EPERM)
    die(fmt::format("setgroups: {}", std::strerror(errno)), 126);
  if (::setresgid(p.ids.gid, p.ids.gid, p.ids.gid) != 0)
    die(fmt::format("setgid {}: {}", p.ids.gid, std::strerror(errno)), 126);
  if (::setresuid(p.ids.uid, p.ids.uid, p.ids.uid) != 0)
    die(fmt::format("setuid {}: {}", p.ids.uid, std::strerror(errno)), 126);
  if (::chdir(p.cwd.c_str()) != 0)
    die(fmt::format("chdir `{}`: {}", p.cwd, std::strerror(errno)), 126);
  exec_search(p);
}

void report_created(const ChildIo& io, const std::vector<CreatedPath>& created) {
  std::string text;
  for (const CreatedPath& c : created)
    text += fmt::format("created {} {} {} {} {} {}\n", c.directory ? 'd' : 'f', c.parent_mtime_sec,
                        c.parent_mtime_nsec, c.parent_after_sec, c.parent_after_nsec, c.path);
  [[maybe_unused]] Status s = write_all(io.report_fd, text);
}

// pid 1: reap every child; when the command exits, exit with its status (the kernel then
// kills whatever else is left in the namespace).
int reap_until(pid_t command) {
  for (;;) {
    int status = 0;
    pid_t pid = ::waitpid(-1, &status, 0);
    if (pid < 0 && errno == EINTR) continue;
    if (pid < 0) return 255;
    if (pid != command) continue;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  }
}

int run_init(const SetupPlan& plan, const ChildIo& io) {
  ::umask(022);
  auto sys = make_linux_syscall();
  auto created = apply_setup(plan, *sys);
  if (!created) return fail(io, created.error().message);
  report_created(io, *created);
  auto process = prepare_process(plan.process);
  if (!process) return fail(io, process.error().message);
  pid_t command = ::fork();
  if (command < 0) return fail(io, errno_error("fork").message);
  if (command == 0) exec_process(*process, io);
  for (int fd : {io.stdout_fd, io.stderr_fd, io.report_fd, io.error_fd})
    if (fd >= 0) ::close(fd);
  return reap_until(command);
}

}  // namespace

int run_namespace_helper(const SetupPlan& plan, const ChildIo& io) {
  pid_t init = ::fork();
  if (init < 0) return fail(io, errno_error("fork").message);
  if (init == 0) {
    // pid 1's parent is outside the namespace: getppid() is 0 while it lives.
    if (!die_with_parent(0)) ::_exit(255);
    ::_exit(run_init(plan, io));
  }
  [[maybe_unused]] Status s = write_all(io.report_fd, fmt::format("pid {}\n", init));
  for (int fd : {io.stdout_fd, io.stderr_fd, io.report_fd, io.error_fd})
    if (fd >= 0) ::close(fd);
  return wait_exit_code(init);
}

}  // namespace cbuild::executor
