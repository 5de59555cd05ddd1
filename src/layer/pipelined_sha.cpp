#include "pipelined_sha.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace cbuild::layer {

ChunkPipe::ChunkPipe(std::function<void(const char*, size_t)> consume)
    : m_consume(std::move(consume)), m_threaded(sysconf(_SC_NPROCESSORS_ONLN) > 1) {
  if (!m_threaded) {
    m_scratch.reset(new char[k_reserve_max]);
    return;
  }
  // Uninitialised buffers (no zero-fill: untouched pages cost nothing), and the hasher
  // thread starts only when a first chunk is full, so a small commit hashes inline.
  m_chunks.resize(k_chunks);
  for (auto& c : m_chunks) {
    c.data.reset(new char[k_chunk_size]);
    m_free.push_back(&c);
  }
  m_current = m_free.front();
  m_free.pop_front();
}

ChunkPipe::~ChunkPipe() {
  if (!m_thread.joinable()) return;
  {
    std::lock_guard lock(m_mutex);
    m_done = true;
  }
  m_cv.notify_all();
  m_thread.join();
}

std::pair<char*, size_t> ChunkPipe::reserve(size_t min) {
  min = std::min(min, k_reserve_max);
  if (!m_threaded) return {m_scratch.get(), k_reserve_max};
  if (k_chunk_size - m_current->used < min) submit();
  return {m_current->data.get() + m_current->used, k_chunk_size - m_current->used};
}

void ChunkPipe::update(const void* data, size_t size) {
  if (!m_threaded) return m_consume(static_cast<const char*>(data), size);
  auto* p = static_cast<const char*>(data);
  if (p == m_current->data.get() + m_current->used && size <= k_chunk_size - m_current->used) {
    m_current->used += size;  // filled in place after reserve()
    if (m_current->used == k_chunk_size) submit();
    return;
  }
  while (size > 0) {
    size_t take = std::min(size, k_chunk_size - m_current->used);
    memcpy(m_current->data.get() + m_current->used, p, take);
    m_current->used += take;
    p += take;
    size -= take;
    if (m_current->used == k_chunk_size) submit();
  }
}

void ChunkPipe::submit() {
  if (!m_thread.joinable()) m_thread = std::thread([this] { run(); });
  std::unique_lock lock(m_mutex);
  m_full.push_back(m_current);
  m_cv.notify_all();
  m_cv.wait(lock, [&] { return !m_free.empty(); });
  m_current = m_free.front();
  m_free.pop_front();
}

void ChunkPipe::run() {
  std::unique_lock lock(m_mutex);
  for (;;) {
    m_cv.wait(lock, [&] { return m_done || !m_full.empty(); });
    if (m_full.empty()) return;
    Chunk* chunk = m_full.front();
    m_full.pop_front();
    lock.unlock();
    m_consume(chunk->data.get(), chunk->used);
    chunk->used = 0;
    lock.lock();
    m_free.push_back(chunk);
    m_cv.notify_all();
  }
}

void ChunkPipe::finish() {
  if (m_threaded && !m_thread.joinable()) {
    m_consume(m_current->data.get(), m_current->used);
    m_current->used = 0;
  } else if (m_threaded) {
    std::unique_lock lock(m_mutex);
    m_full.push_back(m_current);
    m_done = true;
    m_cv.notify_all();
    lock.unlock();
    m_thread.join();
  }
}

}  // namespace cbuild::layer
