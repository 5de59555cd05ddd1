#pragma once
// Module-private: work on a second thread over a byte stream. The producer fills 4 MiB
// chunks that a consumer thread takes in order, so reading files and hashing overlap (and a
// loaded machine gives the commit two time slices instead of one). File data is read
// straight into a chunk (`reserve`), so it is never copied in user space. On one CPU the
// consumer runs inline.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cbuild/util/digest.hpp"

namespace cbuild::layer {

class ChunkPipe {
 public:
  /// `consume` gets the bytes, in order, in pieces as update() was called with them (a
  /// chunk holds whole pieces unless update() copied one across chunks).
  explicit ChunkPipe(std::function<void(const char*, size_t)> consume);
  ~ChunkPipe();
  ChunkPipe(const ChunkPipe&) = delete;
  ChunkPipe& operator=(const ChunkPipe&) = delete;

  /// Free space for the caller to fill, at least `min` bytes (<= k_reserve_max). Bytes
  /// then passed to update() at exactly that address are taken without a copy.
  std::pair<char*, size_t> reserve(size_t min);
  void update(const void* data, size_t size);
  void finish();  ///< once: everything consumed on return

  static constexpr size_t k_reserve_max = 1 << 20;

 private:
  void submit();
  void run();

  static constexpr size_t k_chunk_size = 4 << 20;
  static constexpr size_t k_chunks = 4;
  std::function<void(const char*, size_t)> m_consume;
  bool m_threaded = false;
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t used = 0;
  };
  std::vector<Chunk> m_chunks;
  Chunk* m_current = nullptr;
  std::deque<Chunk*> m_free, m_full;
  std::unique_ptr<char[]> m_scratch;  ///< reserve() buffer when consuming inline
  bool m_done = false;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::thread m_thread;
};

/// SHA-256 on the second thread.
class PipelinedSha {
 public:
  std::pair<char*, size_t> reserve(size_t min) { return m_pipe.reserve(min); }
  void update(const void* data, size_t size) { m_pipe.update(data, size); }
  Digest finish() {  ///< once
    m_pipe.finish();
    return m_sha.finish();
  }

 private:
  Sha256 m_sha;  // before the pipe: its thread uses it until joined
  ChunkPipe m_pipe{[this](const char* p, size_t n) { m_sha.update(p, n); }};
};

}  // namespace cbuild::layer
