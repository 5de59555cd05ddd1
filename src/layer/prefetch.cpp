#include "cbuild/layer/prefetch.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

namespace cbuild::layer {

Prefetcher::~Prefetcher() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  if (m_thread.joinable()) m_thread.join();
  for (auto& b : m_batches)
    if (b.dirfd >= 0) ::close(b.dirfd);
}

void Prefetcher::add(int dirfd, std::vector<std::string> names) {
  if (names.empty()) return;
  int dup = dirfd == AT_FDCWD ? AT_FDCWD : ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup == -1) return;  // read-ahead is only a hint
  {
    std::lock_guard lock(m_mutex);
    m_batches.push_back(Batch{dup, std::move(names)});
    if (!m_thread.joinable()) m_thread = std::thread([this] { run(); });
  }
  m_wake.notify_one();
}

ssize_t Prefetcher::read_maybe_cold(int fd, void* buffer, size_t size) {
  if (!m_cold) {
    iovec iov{buffer, size};
    ssize_t n = ::preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
    if (n >= 0 || (errno != EAGAIN && errno != EOPNOTSUPP)) return n;
    if (errno == EAGAIN) m_cold = true;
  }
  return ::read(fd, buffer, size);
}

void Prefetcher::check(int fd) {
  if (m_cold) return;
  char byte;
  iovec iov{&byte, 1};
  if (::preadv2(fd, &iov, 1, 0, RWF_NOWAIT) < 0 && errno == EAGAIN) m_cold = true;
}

void Prefetcher::run() {
  for (;;) {
    Batch batch;
    {
      std::unique_lock lock(m_mutex);
      m_wake.wait(lock, [this] { return m_stop || !m_batches.empty(); });
      if (m_stop) return;
      batch = std::move(m_batches.front());
      m_batches.pop_front();
    }
    for (const auto& name : batch.names) {
      int fd = ::openat(batch.dirfd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
      if (fd < 0) continue;
      (void)::readahead(fd, 0, k_max_bytes);  // queues the reads; clamped to the file's size
      ::close(fd);
      std::lock_guard lock(m_mutex);
      if (m_stop) break;
    }
    if (batch.dirfd >= 0) ::close(batch.dirfd);
  }
}

}  // namespace cbuild::layer
