#pragma once
// Module-private: SHA-256 on a second thread. The producer fills 4 MiB chunks that a
// hasher thread digests, so reading files and hashing overlap (and a loaded machine
// gives the commit two time slices instead of one). File data is read straight into a
// chunk (`reserve`), so it is never copied in user space. On one CPU it hashes inline.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "cbuild/util/digest.hpp"

namespace cbuild::layer {

class PipelinedSha {
 public:
  PipelinedSha();
  ~PipelinedSha();
  PipelinedSha(const PipelinedSha&) = delete;
  PipelinedSha& operator=(const PipelinedSha&) = delete;

  /// Free space for the caller to fill, at least `min` bytes (<= 1 MiB). Bytes then
  /// passed to update() at exactly that address are taken without a copy.
  std::pair<char*, size_t> reserve(size_t min);
  void update(const void* data, size_t size);
  Digest finish();  ///< once

 private:
  void submit();
  void run();

  static constexpr size_t k_chunk_size = 4 << 20;
  static constexpr size_t k_chunks = 4;
  static constexpr size_t k_reserve_max = 1 << 20;
  Sha256 m_sha;
  bool m_threaded = false;
  struct Chunk {
    std::unique_ptr<char[]> data;
    size_t used = 0;
  };
  std::vector<Chunk> m_chunks;
  Chunk* m_current = nullptr;
  std::deque<Chunk*> m_free, m_full;
  std::unique_ptr<char[]> m_scratch;  ///< reserve() buffer when hashing inline
  bool m_done = false;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::thread m_thread;
};

}  // namespace cbuild::layer
