#include "cbuild/store/lock.hpp"

#include <fcntl.h>
#include <sys/file.h>

#include <algorithm>
#include <cerrno>
#include <thread>

namespace cbuild::store {

namespace {

Result<UniqueFd> open_lock_file(const std::filesystem::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644));
  if (!fd) fd.reset(::open(path.c_str(), O_RDONLY | O_CLOEXEC));  // read-only store dir, existing file
  if (!fd) return errno_error(fmt::format("open lock `{}`", path.string()));
  return fd;
}

int flock_op(LockMode mode) { return mode == LockMode::shared ? LOCK_SH : LOCK_EX; }

}  // namespace

Result<std::optional<FileLock>> FileLock::try_acquire(const std::filesystem::path& path, LockMode mode) {
  UniqueFd fd = TRY(open_lock_file(path));
  for (;;) {
    if (::flock(fd.get(), flock_op(mode) | LOCK_NB) == 0) return std::optional<FileLock>(FileLock(path, std::move(fd), mode));
    if (errno == EINTR) continue;
    if (errno == EWOULDBLOCK) return std::optional<FileLock>();
    return errno_error(fmt::format("lock `{}`", path.string()));
  }
}

Result<FileLock> FileLock::acquire(const std::filesystem::path& path, LockMode mode,
                                   std::optional<std::chrono::milliseconds> timeout) {
  UniqueFd fd = TRY(open_lock_file(path));
  if (!timeout) {
    while (::flock(fd.get(), flock_op(mode)) != 0)
      if (errno != EINTR) return errno_error(fmt::format("lock `{}`", path.string()));
    return FileLock(path, std::move(fd), mode);
  }
  // flock has no timeout: poll with a growing back-off (1 ms .. 50 ms).
  const auto deadline = std::chrono::steady_clock::now() + *timeout;
  auto pause = std::chrono::milliseconds(1);
  for (;;) {
    if (::flock(fd.get(), flock_op(mode) | LOCK_NB) == 0) return FileLock(path, std::move(fd), mode);
    if (errno != EWOULDBLOCK && errno != EINTR) return errno_error(fmt::format("lock `{}`", path.string()));
    if (std::chrono::steady_clock::now() >= deadline)
      return make_error("lock `{}`: timed out after {} ms (held by another cbuild process?)", path.string(),
                        timeout->count());
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::milliseconds(50));
  }
}

}  // namespace cbuild::store
