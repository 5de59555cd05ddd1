#pragma once
/// Streaming blob writer and verifying reader. Obtain them from a Store.
#include "cbuild/store/lock.hpp"
#include "cbuild/store/records.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/fd.hpp"
#include "cbuild/util/result.hpp"

#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>

namespace cbuild::store {

class Store;

/// Writes one blob: data goes to a temp file under the store's tmp/ session directory and is
/// hashed while written. `commit()` fsyncs, checks the expected digest if given, renames into
/// blobs/sha256/<hex> and fsyncs the directory. Destroyed without commit, the temp file is
/// removed: a destructor never commits. Holds a GC lease until commit or destruction.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) noexcept;
  BlobWriter& operator=(BlobWriter&&) noexcept;
  ~BlobWriter();

  Status write(const void* data, size_t size);
  Status write(std::string_view data) { return write(data.data(), data.size()); }
  uint64_t written() const { return m_size; }

  /// Finish the blob. With `expected`, a different digest is an error
  /// ("blob digest mismatch: expected X, got Y") and nothing is stored. If the blob already
  /// exists, the new copy is dropped and the existing one kept.
  Result<Descriptor> commit(const std::optional<Digest>& expected = std::nullopt);

 private:
  friend class Store;
  struct Impl;
  BlobWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
  uint64_t m_size = 0;
};

/// Reads a blob sequentially, hashing as it goes. When the end is reached the digest is
/// checked: on mismatch `read` returns the corruption error (and the blob is removed from
/// the store), so a consumer must treat data it already used as untrusted until `read`
/// returned 0.
class BlobReader {
 public:
  BlobReader(BlobReader&&) noexcept;
  BlobReader& operator=(BlobReader&&) noexcept;
  ~BlobReader();

  /// Read up to `size` bytes; 0 means end of blob, verified.
  Result<size_t> read(void* buf, size_t size);
  /// Size of the blob in bytes.
  uint64_t size() const;
  const Digest& digest() const;
  /// The underlying fd (positioned where reading stopped) for callers that hand the data to
  /// another library; data read through it bypasses verification.
  int fd() const;

 private:
  friend class Store;
  struct Impl;
  BlobReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

}  // namespace cbuild::store
