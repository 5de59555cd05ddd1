#include "spawn.hpp"

#include "cbuild/util/fs.hpp"
#include "build_userns.hpp"

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
#include <iterator>

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

std::unique_lock<std::mutex> lock_child_pipes() {
  static std::mutex mutex;
  return std::unique_lock(mutex);
}

size_t read_exact(int fd, void* buf, size_t size) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(fd, static_cast<char*>(buf) + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

namespace {

// What the child reports before calling its body: 'O', or 'E' with the failed step and errno.
struct ChildStatus {
  char tag = 'O';
  uint8_t step = 0;
  int err = 0;
};

constexpr const char* k_steps[] = {
    "join the build user namespace (setns)",
    "become root in the build user namespace",
    "create namespaces (unshare)",
};

// Child side: join, become root, unshare the rest.
ChildStatus enter_namespaces(int userns, int other_flags, const IdMap& map, pid_t parent) {
  auto failed = [](uint8_t step) { return ChildStatus{'E', step, errno}; };
  if (::setns(userns, CLONE_NEWUSER) != 0) return failed(0);
  if (::setresgid(0, 0, 0) != 0) return failed(1);
  if (!map.single && ::setgroups(0, nullptr) != 0) return failed(1);
  if (::setresuid(0, 0, 0) != 0) return failed(1);
  // A change of euid (root: host 0 → the range's first id) clears the parent-death signal.
  if (!die_with_parent(parent)) ::_exit(255);
  if (other_flags != 0 && ::unshare(other_flags) != 0) return failed(2);
  return {};
}

}  // namespace

Result<pid_t> spawn_in_namespaces(int ns_flags, const IdMap& map, const std::function<int()>& child) {
  int userns = TRY(build_userns_fd(map));
  Pipe status = TRY(Pipe::create());
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) {
    if (!die_with_parent(parent)) ::_exit(255);
    status.read.reset();
    ChildStatus st = enter_namespaces(userns, ns_flags & ~CLONE_NEWUSER, map, parent);
    [[maybe_unused]] ssize_t n = ::write(status.write.get(), &st, sizeof st);
    if (st.tag != 'O') ::_exit(255);
    status.write.reset();
    int code = 255;
    try {
      code = child();
    } catch (const std::exception& e) {
      n = ::write(2, e.what(), std::strlen(e.what()));
    } catch (...) {
    }
    ::_exit(code);
  }
  status.write.reset();
  ChildStatus st;
  st.tag = 0;
  if (read_exact(status.read.get(), &st, sizeof st) == sizeof st && st.tag == 'O') return pid;
  ::kill(pid, SIGKILL);
  wait_exit_code(pid);
  if (st.tag != 'E' || st.step >= std::size(k_steps))
    return make_error("start container process: it exited early");
  errno = st.err;
  return errno_error(k_steps[st.step]);
}

}  // namespace cbuild::executor
