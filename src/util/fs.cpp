#include "cbuild/util/fs.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <random>

namespace cbuild {

Error errno_error(std::string what) {
  return Error{what + ": " + std::strerror(errno), ExitCode::failure};
}

Result<std::string> read_file(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open `{}`", path.string()));
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(fmt::format("read `{}`", path.string()));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

int open_to_read(int dirfd, const char* name) {
  constexpr int k_flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC;
  int fd = ::openat(dirfd, name, k_flags | O_NOATIME);
  if (fd < 0 && errno == EPERM) fd = ::openat(dirfd, name, k_flags);
  return fd;
}

Status write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("write");
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

Status make_dirs(const fs::path& path, mode_t mode) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) return make_error("create directory `{}`: {}", path.string(), ec.message());
  (void)mode;
  return {};
}

Status fsync_dir(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open directory `{}`", dir.string()));
  if (::fsync(fd.get()) != 0) return errno_error(fmt::format("fsync `{}`", dir.string()));
  return {};
}

namespace {
// The pid keeps names unique across fork(), where a copied generator would repeat itself.
std::string random_suffix() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}-{:016x}", ::getpid(), rng());
}
}  // namespace

Result<AtomicFile> AtomicFile::create(const fs::path& dest, mode_t mode) {
  fs::path temp = dest.parent_path() / fmt::format(".tmp-{}-{}", dest.filename().string(), random_suffix());
  UniqueFd fd(::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd) return errno_error(fmt::format("create `{}`", temp.string()));
  return AtomicFile(dest, std::move(temp), std::move(fd));
}

AtomicFile::~AtomicFile() {
  if (!m_done && !m_temp.empty()) ::unlink(m_temp.c_str());
}

Status AtomicFile::commit(Durability durability) {
  const bool synced = durability == Durability::synced;
  if (synced && ::fsync(m_fd.get()) != 0) return errno_error(fmt::format("fsync `{}`", m_temp.string()));
  m_fd.reset();
  if (::rename(m_temp.c_str(), m_dest.c_str()) != 0)
    return errno_error(fmt::format("rename `{}` to `{}`", m_temp.string(), m_dest.string()));
  m_done = true;
  if (!synced) return {};
  return fsync_dir(m_dest.parent_path().empty() ? fs::path(".") : m_dest.parent_path());
}

Status write_file_atomic(const fs::path& dest, std::string_view data, mode_t mode, Durability durability) {
  auto file = TRY(AtomicFile::create(dest, mode));
  TRY(file.write(data));
  return file.commit(durability);
}

Result<TempDir> TempDir::create(std::string_view prefix, const fs::path& parent) {
  fs::path base = parent;
  if (base.empty()) {
    const char* tmp = std::getenv("TMPDIR");
    base = tmp && *tmp ? tmp : "/tmp";
  }
  std::string tmpl = (base / (std::string(prefix) + "XXXXXX")).string();
  if (!::mkdtemp(tmpl.data())) return errno_error(fmt::format("create temporary directory in `{}`", base.string()));
  return TempDir(fs::path(tmpl));
}

TempDir& TempDir::operator=(TempDir&& o) noexcept {
  if (this != &o) {
    if (!m_path.empty()) (void)remove_tree(m_path);
    m_path = std::exchange(o.m_path, {});
  }
  return *this;
}

TempDir::~TempDir() {
  if (!m_path.empty()) (void)remove_tree(m_path);
}

Status remove_tree(const fs::path& path) {
  std::error_code ec;
  fs::remove_all(path, ec);
  if (!ec) return {};
  // Retry after making every directory writable and searchable.
  for (auto it = fs::recursive_directory_iterator(path, fs::directory_options::skip_permission_denied, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) ::chmod(it->path().c_str(), 0700);
  }
  ::chmod(path.c_str(), 0700);
  ec.clear();
  fs::remove_all(path, ec);
  if (ec) return make_error("remove `{}`: {}", path.string(), ec.message());
  return {};
}

}  // namespace cbuild
