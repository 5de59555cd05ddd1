#pragma once
// Module-private: SHA-256 on a second thread. The producer copies bytes into 4 MiB
// chunks that a hasher thread digests, so reading files and hashing overlap (and a
// loaded machine gives the commit two time slices instead of one). On one CPU it hashes
// inline.
#include "cbuild/util/digest.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cbuild::layer {

class PipelinedSha {
 public:
  PipelinedSha();
  ~PipelinedSha();
  PipelinedSha(const PipelinedSha&) = delete;
  PipelinedSha& operator=(const PipelinedSha&) = delete;

  void update(const void* data, size_t size);
  Digest finish();  ///< once

 private:
  void submit();
  void run();

  static constexpr size_t k_chunk_size = 4 << 20;
  static constexpr size_t k_chunks = 4;
  Sha256 m_sha;
  bool m_threaded = false;
  std::vector<std::string> m_chunks;
  std::string* m_current = nullptr;
  std::deque<std::string*> m_free, m_full;
  bool m_done = false;
  std::mutex m_mutex;
  std::condition_variable m_cv;
  std::thread m_thread;
};

}  // namespace cbuild::layer
