#pragma once
/// Byte sinks: where a layer writer or compressor sends its output. Callers in other
/// modules (store, export) implement `ByteSink` to write into a blob file or a socket;
/// the layer module never knows where the bytes end up.
#include <cstddef>
#include <string>
#include <string_view>

#include "cbuild/util/result.hpp"

namespace cbuild::layer {

/// Consumer of an ordered byte stream. `write` is always called from one thread at a
/// time, in stream order; an error stops the producer and is returned to its caller.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status write(const void* data, size_t size) = 0;
  Status write(std::string_view data) { return write(data.data(), data.size()); }
};

/// Writes to a file descriptor it does not own (retries short writes and EINTR).
class FdSink final : public ByteSink {
 public:
  explicit FdSink(int fd) : m_fd(fd) {}
  using ByteSink::write;
  Status write(const void* data, size_t size) override;

 private:
  int m_fd;
};

/// Appends to a string (tests, small archives).
class StringSink final : public ByteSink {
 public:
  using ByteSink::write;
  Status write(const void* data, size_t size) override {
    m_data.append(static_cast<const char*>(data), size);
    return {};
  }
  const std::string& data() const { return m_data; }

 private:
  std::string m_data;
};

}  // namespace cbuild::layer
