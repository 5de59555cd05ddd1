#pragma once
/// Read-ahead for a reader that goes through many files in order (the layer writer, which
/// reads every file of a tree once; the COPY engine). Reading file after file keeps one disk request in
/// flight: a tree evicted from the page cache (20,000 small files) reads at a quarter of the
/// speed it reads with many requests in flight. A Prefetcher takes batches of files the
/// reader will read soon and calls readahead(2) on each from a background thread, which
/// queues the reads without waiting for them.
///
/// The reader tells when it is worth it: `cold()` is true once a read had to wait for the
/// disk (see read_maybe_cold); files already cached cost nothing extra. A reader may also
/// hand whole batches to the thread while the tree is warm (`hand_over`): the thread then
/// opens the files and lists their xattrs, which takes those calls off the reader's thread,
/// and calls readahead(2) only once the prefetcher is cold.
#include <sys/types.h>

#include <atomic>
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
  /// the disk busy.) Returns the batch's number. With `hand_over`, the files stay open for
  /// take(): the reader then opens none of them itself, and each is opened once.
  size_t add(int dirfd, std::vector<std::string> names, bool hand_over = false);
  /// The file `index` of a `hand_over` batch, opened (open_file)
  /// by the read-ahead thread: the caller owns the fd. -1 when the thread has not opened it
  /// (yet): it then skips it. The thread holds at most k_max_open files for the reader, so
  /// the reader must take every file of such a batch it reaches.
  /// `xattrs`, when given, receives whether the file has xattrs as the thread found them
  /// (flistxattr): 0 none, 1 some, -1 not known (read them).
  int take(size_t batch, size_t index, int* xattrs = nullptr);

  static constexpr size_t k_max_open = 128;

  /// Opens a file to read as open_to_read does, and with O_NONBLOCK: a fifo where a regular
  /// file was expected must not block (read(2) of a regular file ignores the flag).
  static int open_file(int dirfd, const char* name);

  /// Reads up to `size` bytes from `fd` at its offset, like read(2); the first read that
  /// finds its data out of the page cache makes the prefetcher cold.
  ssize_t read_maybe_cold(int fd, void* buffer, size_t size);
  /// For a reader that does not read itself (copy_file_range): becomes cold when the start
  /// of `fd` is not in the page cache.
  void check(int fd);
  bool cold() const { return m_cold.load(std::memory_order_relaxed); }

 private:
  static constexpr int k_not_open = -1, k_taken = -2;
  struct Batch {
    int dirfd = -1;
    std::vector<std::string> names;
    std::vector<int> fds;  ///< per name: an open fd for take(), k_not_open or k_taken
    std::vector<int8_t> xattrs;  ///< per name: take()'s `xattrs`
    bool hand_over = false;
  };
  void run();

  std::atomic<bool> m_cold{false};  // set by the reader, read by the thread too
  std::mutex m_mutex;
  std::condition_variable m_wake;  // new batches, stop
  std::condition_variable m_room;  // fewer than k_max_open held, stop
  std::deque<Batch> m_batches;     // every batch, by number (kept for take())
  size_t m_next = 0;               // the next batch to read ahead
  size_t m_open = 0;               // fds held for take()
  bool m_stop = false;
  std::thread m_thread;
};

}  // namespace cbuild::layer
