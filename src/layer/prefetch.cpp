#include "cbuild/layer/prefetch.hpp"

#include <fcntl.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace cbuild::layer {

int Prefetcher::open_file(int dirfd, const char* name) {
  constexpr int k_flags = O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC;
  int fd = ::openat(dirfd, name, k_flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, k_flags);
  return fd;
}

Prefetcher::~Prefetcher() {
  {
    std::lock_guard lock(m_mutex);
    m_stop = true;
  }
  m_wake.notify_one();
  m_room.notify_one();
  if (m_thread.joinable()) m_thread.join();
  for (auto& b : m_batches) {
    if (b.dirfd >= 0) ::close(b.dirfd);
    for (int fd : b.fds)
      if (fd >= 0) ::close(fd);
  }
}

size_t Prefetcher::add(int dirfd, std::vector<std::string> names, bool hand_over) {
  int dup = dirfd == AT_FDCWD ? AT_FDCWD : ::fcntl(dirfd, F_DUPFD_CLOEXEC, 0);
  if (dup == -1) names.clear();  // read-ahead is only a hint
  std::lock_guard lock(m_mutex);
  std::vector<int> fds(names.size(), k_not_open);
  std::vector<int8_t> xattrs(names.size(), -1);
  m_batches.push_back(Batch{dup, std::move(names), std::move(fds), std::move(xattrs), hand_over});
  if (!m_batches.back().names.empty() && !m_thread.joinable()) m_thread = std::thread([this] { run(); });
  m_wake.notify_one();
  return m_batches.size() - 1;
}

int Prefetcher::take(size_t batch, size_t index, int* xattrs) {
  if (xattrs) *xattrs = -1;
  std::lock_guard lock(m_mutex);
  if (batch >= m_batches.size() || index >= m_batches[batch].fds.size()) return -1;
  int fd = std::exchange(m_batches[batch].fds[index], k_taken);
  if (fd < 0) return -1;
  if (xattrs) *xattrs = m_batches[batch].xattrs[index];
  if (m_open-- == k_max_open) m_room.notify_one();
  return fd;
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
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_wake.wait(lock, [this] { return m_stop || m_next < m_batches.size(); });
    if (m_stop) return;
    size_t number = m_next++;
    for (size_t i = 0; i < m_batches[number].names.size(); ++i) {
      m_room.wait(lock, [this] { return m_stop || m_open < k_max_open; });
      if (m_stop) return;
      Batch& batch = m_batches[number];  // a reference into the deque stays valid while it grows
      if (batch.fds[i] == k_taken) continue;  // the reader got there first
      const int dirfd = batch.dirfd;
      const bool hand_over = batch.hand_over;
      const std::string& name = batch.names[i];
      lock.unlock();
      int fd = open_file(dirfd, name.c_str());
      int8_t xattrs = -1;
      if (fd >= 0) {
        // Queues the reads (clamped to the file's size); a warm tree's are cached already.
        if (!hand_over || cold()) (void)::readahead(fd, 0, k_max_bytes);
        if (hand_over) {
          ssize_t n = ::flistxattr(fd, nullptr, 0);
          xattrs = static_cast<int8_t>(n == 0 ? 0 : n > 0 ? 1 : -1);
        }
      }
      lock.lock();
      if (fd < 0) continue;
      if (!hand_over || batch.fds[i] == k_taken) {
        ::close(fd);
      } else {
        batch.fds[i] = fd;
        batch.xattrs[i] = xattrs;
        ++m_open;
      }
    }
  }
}

}  // namespace cbuild::layer
