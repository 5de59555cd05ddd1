#pragma once
/// Advisory file locks (flock(2)) with RAII ownership, used for cross-process exclusion:
/// the store's GC lock, `sharing=locked` cache mounts, temp-session liveness.
///
/// flock locks belong to an open file description: two FileLocks on the same path in the
/// same process are independent (a shared and an exclusive lock on one path from one
/// process conflict with each other, as they would across processes).
#include "cbuild/util/fd.hpp"
#include "cbuild/util/result.hpp"

#include <chrono>
#include <filesystem>
#include <optional>

namespace cbuild::store {

enum class LockMode { shared, exclusive };

/// A held flock on a lock file; released when destroyed (or by `release()`).
class FileLock {
 public:
  /// Block until the lock is held. With a timeout, give up after it with an error
  /// "lock `path`: timed out after N ms (held by another cbuild process?)".
  /// The file is created (mode 0644) if missing; its parent directory must exist.
  static Result<FileLock> acquire(const std::filesystem::path& path, LockMode mode,
                                  std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  /// Take the lock only if it is free right now; nullopt when someone else holds it.
  static Result<std::optional<FileLock>> try_acquire(const std::filesystem::path& path, LockMode mode);

  FileLock() = default;
  FileLock(FileLock&&) noexcept = default;
  FileLock& operator=(FileLock&&) noexcept = default;

  bool held() const { return m_fd.valid(); }
  LockMode mode() const { return m_mode; }
  const std::filesystem::path& path() const { return m_path; }
  int fd() const { return m_fd.get(); }
  /// Drop the lock now (closing the fd releases it).
  void release() { m_fd.reset(); }

 private:
  FileLock(std::filesystem::path path, UniqueFd fd, LockMode mode)
      : m_path(std::move(path)), m_fd(std::move(fd)), m_mode(mode) {}
  std::filesystem::path m_path;
  UniqueFd m_fd;
  LockMode m_mode = LockMode::shared;
};

}  // namespace cbuild::store
