#include "cbuild/store/blob.hpp"

#include "cbuild/store/store.hpp"
#include "cbuild/util/fs.hpp"
#include "impl.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

namespace cbuild::store {

namespace {

Error not_found(const Digest& digest) { return make_error(ExitCode::not_found, "blob {} not found", digest.str()); }

// Remove a blob whose content does not match its name, but only if the file at that path is
// still the one we read (a concurrent writer may just have renamed a good copy into place).
Error corrupt(const fs::path& path, int fd, const Digest& digest, const Digest& actual) {
  struct stat opened {}, current {};
  if (::fstat(fd, &opened) == 0 && ::lstat(path.c_str(), &current) == 0 && opened.st_ino == current.st_ino &&
      opened.st_dev == current.st_dev)
    ::unlink(path.c_str());
  return make_error(ExitCode::not_found, "blob {} is corrupt (content hashes to {}; removed from the store)",
                    digest.str(), actual.str());
}

}  // namespace

// ---- BlobWriter ------------------------------------------------------------------------------

struct BlobWriter::Impl {
  std::shared_ptr<Store::Impl> store;
  FileLock lease;
  fs::path temp;
  UniqueFd fd;
  Sha256 sha;
  ~Impl() {
    if (!temp.empty()) ::unlink(temp.c_str());
  }
};

BlobWriter::BlobWriter(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
BlobWriter::BlobWriter(BlobWriter&&) noexcept = default;
BlobWriter& BlobWriter::operator=(BlobWriter&&) noexcept = default;
BlobWriter::~BlobWriter() = default;

Status BlobWriter::write(const void* data, size_t size) {
  if (!m_impl || !m_impl->fd) return make_error("write blob: writer already committed");
  if (auto st = write_all(m_impl->fd.get(), std::string_view(static_cast<const char*>(data), size)); !st.ok())
    return std::move(st).error().wrap("write `{}`", m_impl->temp.string());
  m_impl->sha.update(data, size);
  m_size += size;
  return {};
}

Result<Descriptor> BlobWriter::commit(const std::optional<Digest>& expected) {
  if (!m_impl || !m_impl->fd) return make_error("commit blob: writer already committed");
  Impl& w = *m_impl;
  Digest digest = w.sha.finish();
  if (expected && *expected != digest) {
    w.fd.reset();
    return make_error(ExitCode::bad_input, "blob digest mismatch: expected {}, got {}", expected->str(), digest.str());
  }
  fs::path dest = w.store->blobs_dir() / std::string(digest.hex());
  if (::access(dest.c_str(), F_OK) != 0) {
    if (::fchmod(w.fd.get(), 0444) != 0 || ::fsync(w.fd.get()) != 0)
      return errno_error(fmt::format("fsync `{}`", w.temp.string()));
    if (::rename(w.temp.c_str(), dest.c_str()) != 0)
      return errno_error(fmt::format("rename `{}` to `{}`", w.temp.string(), dest.string()));
    w.temp.clear();
    TRY(fsync_dir(w.store->blobs_dir()));
  }
  w.fd.reset();
  w.lease.release();
  return Descriptor{digest, m_size};
}

// ---- BlobReader ------------------------------------------------------------------------------

struct BlobReader::Impl {
  fs::path path;
  UniqueFd fd;
  Sha256 sha;
  Digest digest;
  uint64_t size = 0;
  bool done = false;
};

BlobReader::BlobReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
BlobReader::BlobReader(BlobReader&&) noexcept = default;
BlobReader& BlobReader::operator=(BlobReader&&) noexcept = default;
BlobReader::~BlobReader() = default;

uint64_t BlobReader::size() const { return m_impl->size; }
const Digest& BlobReader::digest() const { return m_impl->digest; }
int BlobReader::fd() const { return m_impl->fd.get(); }

Result<size_t> BlobReader::read(void* buf, size_t size) {
  Impl& r = *m_impl;
  if (r.done) return size_t{0};
  for (;;) {
    ssize_t n = ::read(r.fd.get(), buf, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(fmt::format("read `{}`", r.path.string()));
    if (n > 0 || size == 0) {
      r.sha.update(buf, static_cast<size_t>(n));
      return static_cast<size_t>(n);
    }
    r.done = true;
    Digest actual = r.sha.finish();
    if (actual != r.digest) return corrupt(r.path, r.fd.get(), r.digest, actual);
    return size_t{0};
  }
}

// ---- Store blob API --------------------------------------------------------------------------

Result<BlobWriter> Store::begin_blob() {
  auto impl = std::make_unique<BlobWriter::Impl>();
  impl->store = m_impl;
  impl->lease = TRY(lease());
  impl->temp = TRY(m_impl->temp_name("blob-"));
  impl->fd.reset(::open(impl->temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!impl->fd) {
    auto err = errno_error(fmt::format("create `{}`", impl->temp.string()));
    impl->temp.clear();
    return err;
  }
  return BlobWriter(std::move(impl));
}

Result<Descriptor> Store::put_blob(std::string_view data, const std::optional<Digest>& expected) {
  // Already stored (a rebuilt image's config and manifest): no temp file to write and drop.
  // A blob file is complete once it exists (renamed into place after its fsync).
  Digest digest = Digest::of(data);
  if ((!expected || *expected == digest) && has_blob(digest)) {
    auto size = blob_size(digest);
    if (size && *size == data.size()) return Descriptor{digest, data.size()};
  }
  auto writer = TRY(begin_blob());
  TRY(writer.write(data));
  return writer.commit(expected);
}

fs::path Store::blob_path(const Digest& digest) const { return m_impl->blobs_dir() / std::string(digest.hex()); }

bool Store::has_blob(const Digest& digest) const {
  return !digest.empty() && ::access(blob_path(digest).c_str(), F_OK) == 0;
}

Result<uint64_t> Store::blob_size(const Digest& digest) const {
  struct stat st {};
  if (digest.empty() || ::stat(blob_path(digest).c_str(), &st) != 0) return not_found(digest);
  return static_cast<uint64_t>(st.st_size);
}

Result<BlobReader> Store::open_blob(const Digest& digest) {
  auto impl = std::make_unique<BlobReader::Impl>();
  impl->path = blob_path(digest);
  impl->digest = digest;
  impl->fd.reset(digest.empty() ? -1 : ::open(impl->path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!impl->fd) {
    if (digest.empty() || errno == ENOENT) return not_found(digest);
    return errno_error(fmt::format("open `{}`", impl->path.string()));
  }
  struct stat st {};
  if (::fstat(impl->fd.get(), &st) != 0) return errno_error(fmt::format("stat `{}`", impl->path.string()));
  impl->size = static_cast<uint64_t>(st.st_size);
  return BlobReader(std::move(impl));
}

Result<std::string> Store::read_blob(const Digest& digest) {
  auto reader = TRY(open_blob(digest));
  std::string out(reader.size(), '\0');
  size_t used = 0;
  for (;;) {
    if (used == out.size()) out.resize(out.size() + 65536);
    size_t n = TRY(reader.read(out.data() + used, out.size() - used));
    if (n == 0) break;
    used += n;
  }
  out.resize(used);
  return out;
}

Status Store::verify_blob(const Digest& digest) {
  auto reader = TRY(open_blob(digest));
  std::string buf(1 << 20, '\0');
  while (TRY(reader.read(buf.data(), buf.size())) != 0) {
  }
  return {};
}

Result<std::vector<Descriptor>> Store::list_blobs() const {
  std::vector<Descriptor> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(m_impl->blobs_dir(), ec)) {
    auto digest = Digest::parse("sha256:" + entry.path().filename().string());
    if (!digest.ok()) continue;
    std::error_code size_ec;
    auto size = entry.file_size(size_ec);
    if (size_ec) continue;  // removed meanwhile
    out.push_back({std::move(*digest), size});
  }
  if (ec) return make_error("list `{}`: {}", m_impl->blobs_dir().string(), ec.message());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.digest < b.digest; });
  return out;
}

}  // namespace cbuild::store
