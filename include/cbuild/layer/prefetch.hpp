#pragma once
/// Read-ahead for a reader that goes through many files in order (the layer writer, which
/// reads every file of a tree once; the COPY engine). Reading file after file keeps one disk request in
/// flight: a tree evicted from the page cache (20,000 small files) reads at a quarter of the
/// speed it reads with many requests in flight. A Prefetcher takes batches of files the
/// reader will read soon and calls readahead(2) on each from a background thread, which
/// queues the reads without waiting for them.
///
/// The reader tells when it is worth it: `cold()` is true once a read had to wait for the
/// disk (see read_maybe_cold); files already cached cost nothing extra.
#include <sys/types.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cbuild::layer {

class Prefetcher {
 public:
  static constexpr size_t k_max_bytes = 8 << 20;

  Prefetcher() = default;
  Prefetcher(const Prefetcher&) = delete;
  Prefetcher& operator=(const Prefetcher&) = delete;
  ~Prefetcher();

  /// Queues `names` (relative to `dirfd`, which is duplicated; or AT_FDCWD) for readahead of their first
  /// k_max_bytes, in order. (Past that the kernel's own read-ahead of a sequential read keeps
  /// the disk busy.)
  void add(int dirfd, std::vector<std::string> names);

  /// Reads up to `size` bytes from `fd` at its offset, like read(2); the first read that
  /// finds its data out of the page cache makes the prefetcher cold.
  ssize_t read_maybe_cold(int fd, void* buffer, size_t size);
  /// For a reader that does not read itself (copy_file_range): becomes cold when the start
  /// of `fd` is not in the page cache.
  void check(int fd);
  bool cold() const { return m_cold; }

 private:
  struct Batch {
    int dirfd = -1;
    std::vector<std::string> names;
  };
  void run();

  bool m_cold = false;
  std::mutex m_mutex;
  std::condition_variable m_wake;
  std::deque<Batch> m_batches;
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace cbuild::layer
