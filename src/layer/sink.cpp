#include "cbuild/layer/sink.hpp"

#include "cbuild/util/fs.hpp"

namespace cbuild::layer {

Status FdSink::write(const void* data, size_t size) {
  return write_all(m_fd, std::string_view(static_cast<const char*>(data), size));
}

}  // namespace cbuild::layer
