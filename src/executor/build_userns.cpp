#include "build_userns.hpp"

#include "spawn.hpp"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

namespace cbuild::executor {
namespace {

struct Namespace {
  std::string key;
  int fd;
};

std::string map_key(const IdMap& map) {
  return fmt::format("{}|{}|{}{}", IdMap::proc_text(map.uids), IdMap::proc_text(map.gids),
                     map.single ? 's' : '-', map.use_helpers ? 'h' : '-');
}

// The first process: unshare, report 'U' (or 'E' + errno), wait to be killed.
[[noreturn]] void first_process(pid_t parent, int to_parent) {
  if (!die_with_parent(parent)) ::_exit(255);
  char msg[1 + sizeof(int)] = {'U'};
  if (::unshare(CLONE_NEWUSER) != 0) {
    int err = errno;
    msg[0] = 'E';
    std::memcpy(msg + 1, &err, sizeof err);
  }
  [[maybe_unused]] ssize_t n = ::write(to_parent, msg, sizeof msg);
  for (;;) ::pause();
}

// Called with lock_child_pipes() held (the pipe must not leak into other children).
Result<int> create_namespace(const IdMap& map) {
  Pipe up = TRY(Pipe::create());
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return errno_error("fork");
  if (pid == 0) first_process(parent, up.write.get());
  up.write.reset();
  // Once the descriptor is open the process has served its purpose.
  auto finish = [&](Result<int> r) {
    ::kill(pid, SIGKILL);
    wait_exit_code(pid);
    return r;
  };
  char reply[1 + sizeof(int)] = {};
  if (read_exact(up.read.get(), reply, sizeof reply) != sizeof reply)
    return finish(make_error("create the build user namespace: the process exited early"));
  if (reply[0] == 'E') {
    int err = 0;
    std::memcpy(&err, reply + 1, sizeof err);
    errno = err;
    return finish(errno_error("create the build user namespace (unshare)"));
  }
  Status maps = write_id_maps(pid, map);
  if (!maps) return finish(std::move(maps).error().wrap("set up the build user namespace"));
  std::string path = fmt::format("/proc/{}/ns/user", pid);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return finish(errno_error(fmt::format("open `{}`", path)));
  return finish(fd);
}

}  // namespace

Result<int> build_userns_fd(const IdMap& map) {
  static std::mutex mutex;
  static std::vector<Namespace> namespaces;  // never shrinks: descriptors stay valid
  std::string key = map_key(map);
  std::lock_guard lock(mutex);
  for (const Namespace& ns : namespaces)
    if (ns.key == key) return ns.fd;
  int fd = TRY(create_namespace(map));
  namespaces.push_back({std::move(key), fd});
  return fd;
}

}  // namespace cbuild::executor
