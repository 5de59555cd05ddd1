#include "spawn.hpp"

#include "cbuild/util/fs.hpp"

#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>

namespace cbuild::executor {

Result<Pipe> Pipe::create() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno_error("pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

bool die_with_parent(pid_t expected_parent) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  return ::getppid() == expected_parent;
}

int wait_exit_code(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return 255;
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 255;
}

std::string read_all(int fd) {
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

namespace {

// Child side: unshare, report, wait for the maps, become root. Returns an errno or 0.
int enter_namespaces(int ns_flags, const IdMap& map, int to_parent, int from_parent) {
  if (::unshare(ns_flags) != 0) return errno;
  char byte = 'U';
  if (::write(to_parent, &byte, 1) != 1) return errno;
  if (::read(from_parent, &byte, 1) != 1 || byte != 'M') return ECHILD;
  if (::setresgid(0, 0, 0) != 0) return errno;
  if (!map.single && ::setgroups(0, nullptr) != 0) return errno;
  if (::setresuid(0, 0, 0) != 0) return errno;
  return 0;
}

}  // namespace

Result<pid_t> spawn_in_namespaces(int ns_flags, const IdMap& map, const std::function<int()>& child) {
  Pipe up = TRY(Pipe::create());    // child → parent
  Pipe down = TRY(Pipe::create());  // parent → child
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    if (!die_with_parent(parent)) ::_exit(255);
    up.read.reset();
    down.write.reset();
    int err = enter_namespaces(ns_flags, map, up.write.get(), down.read.get());
    if (err != 0) {
      char msg[1 + sizeof err] = {'E'};
      std::memcpy(msg + 1, &err, sizeof err);
      [[maybe_unused]] ssize_t n = ::write(up.write.get(), msg, sizeof msg);
      ::_exit(255);
    }
    up.write.reset();
    down.read.reset();
    int code = 255;
    try {
      code = child();
    } catch (const std::exception& e) {
      [[maybe_unused]] ssize_t n = ::write(2, e.what(), std::strlen(e.what()));
    } catch (...) {
    }
    ::_exit(code);
  }
  up.write.reset();
  down.read.reset();
  auto fail = [&](Error e) -> Result<pid_t> {
    ::kill(pid, SIGKILL);
    wait_exit_code(pid);
    return e;
  };
  char hello = 0;
  ssize_t n;
  while ((n = ::read(up.read.get(), &hello, 1)) < 0 && errno == EINTR) {
  }
  if (n != 1) return fail(make_error("start container process: it exited early"));
  if (hello == 'E') {
    int err = 0;
    std::string rest = read_all(up.read.get());
    if (rest.size() >= sizeof err) std::memcpy(&err, rest.data(), sizeof err);
    errno = err;
    return fail(errno_error("create namespaces (unshare)"));
  }
  Status maps = write_id_maps(pid, map);
  if (!maps) return fail(std::move(maps).error().wrap("set up the user namespace"));
  char byte = 'M';
  if (::write(down.write.get(), &byte, 1) != 1) return fail(errno_error("signal container process"));
  return pid;
}

}  // namespace cbuild::executor
