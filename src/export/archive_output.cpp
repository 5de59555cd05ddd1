#include "archive_output.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <optional>
#include <vector>

namespace cbuild::exporter::detail {
namespace {

constexpr size_t k_chunk = 1 << 20;

/// Reads a blob to its end (verifying it) and hands each chunk to `put`.
Status copy_blob(store::Store& store, const Digest& digest,
                 const std::function<Status(const char*, size_t)>& put) {
  auto reader = TRY(store.open_blob(digest));
  std::vector<char> buf(k_chunk);
  for (;;) {
    size_t n = TRY(reader.read(buf.data(), buf.size()));
    if (n == 0) return {};
    TRY(put(buf.data(), n));
  }
}

class TarOutput final : public ArchiveOutput {
 public:
  TarOutput(std::optional<AtomicFile> file, int fd, std::string label)
      : m_file(std::move(file)), m_label(std::move(label)), m_archive(archive_write_new()) {
    archive_write_set_format_pax_restricted(m_archive);
    archive_write_open_fd(m_archive, fd);
  }
  ~TarOutput() override { archive_write_free(m_archive); }

  Status add_dir(std::string_view name) override { return header(name, AE_IFDIR, 0755, 0); }
  Status add_file(std::string_view name, std::string_view data) override {
    TRY(header(name, AE_IFREG, 0644, data.size()));
    return put(data.data(), data.size());
  }
  Status add_blob(std::string_view name, store::Store& store, const Digest& digest, uint64_t size) override {
    TRY(header(name, AE_IFREG, 0644, size));
    return copy_blob(store, digest, [this](const char* d, size_t n) { return put(d, n); });
  }
  Status commit() override {
    if (archive_write_close(m_archive) != ARCHIVE_OK) return error("finish");
    return m_file ? m_file->commit() : Status{};
  }

 private:
  Error error(std::string_view what) {
    return make_error("write `{}`: {}: {}", m_label, what, archive_error_string(m_archive));
  }
  Status header(std::string_view name, unsigned type, unsigned perm, uint64_t size) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, std::string(name).c_str());
    archive_entry_set_filetype(e, type);
    archive_entry_set_perm(e, perm);
    archive_entry_set_size(e, static_cast<la_int64_t>(size));
    archive_entry_set_mtime(e, 0, 0);
    archive_entry_set_uid(e, 0);
    archive_entry_set_gid(e, 0);
    int rc = archive_write_header(m_archive, e);
    archive_entry_free(e);
    if (rc != ARCHIVE_OK) return error(name);
    return {};
  }
  Status put(const char* data, size_t size) {
    while (size > 0) {
      la_ssize_t n = archive_write_data(m_archive, data, size);
      if (n <= 0) return error("data");
      data += n;
      size -= static_cast<size_t>(n);
    }
    return {};
  }

  std::optional<AtomicFile> m_file;
  std::string m_label;
  archive* m_archive;
};

class DirOutput final : public ArchiveOutput {
 public:
  DirOutput(fs::path dest, TempDir temp) : m_dest(std::move(dest)), m_temp(std::move(temp)) {}

  Status add_dir(std::string_view name) override { return make_dirs(m_temp.path() / name); }
  Status add_file(std::string_view name, std::string_view data) override {
    return write_file_atomic(m_temp.path() / name, data);
  }
  Status add_blob(std::string_view name, store::Store& store, const Digest& digest, uint64_t) override {
    fs::path path = m_temp.path() / name;
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!fd) return errno_error(fmt::format("create `{}`", path.string()));
    return copy_blob(store, digest, [&](const char* d, size_t n) { return write_all(fd.get(), {d, n}); });
  }
  Status commit() override {
    std::error_code ec;
    if (fs::exists(m_dest, ec)) fs::remove(m_dest, ec);  // an empty directory (checked at creation)
    if (::rename(m_temp.path().c_str(), m_dest.c_str()) != 0) {
      return errno_error(fmt::format("rename `{}` to `{}`", m_temp.path().string(), m_dest.string()));
    }
    m_temp.release();
    return fsync_dir(m_dest.parent_path().empty() ? fs::path(".") : m_dest.parent_path());
  }

 private:
  fs::path m_dest;
  TempDir m_temp;
};

}  // namespace

Result<std::unique_ptr<ArchiveOutput>> ArchiveOutput::tar(const fs::path& path) {
  if (path.empty() || path == "-") {
    if (::isatty(STDOUT_FILENO)) {
      return make_error(ExitCode::usage,
                        "refusing to write an archive to a terminal: use -o FILE or redirect");
    }
    return std::unique_ptr<ArchiveOutput>(new TarOutput(std::nullopt, STDOUT_FILENO, "stdout"));
  }
  auto file = AtomicFile::create(path);
  if (!file) return std::move(file).error();
  int fd = file->fd();
  return std::unique_ptr<ArchiveOutput>(new TarOutput(std::move(file).value(), fd, path.string()));
}

Result<std::unique_ptr<ArchiveOutput>> ArchiveOutput::directory(const fs::path& path) {
  std::error_code ec;
  if (fs::exists(path, ec) && !(fs::is_directory(path, ec) && fs::is_empty(path, ec))) {
    return make_error(ExitCode::bad_input, "write `{}`: exists and is not an empty directory", path.string());
  }
  fs::path parent = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  auto temp = TRY(TempDir::create(".tmp-" + path.filename().string() + "-", parent));
  ::chmod(temp.path().c_str(), 0755);
  return std::unique_ptr<ArchiveOutput>(new DirOutput(path, std::move(temp)));
}

}  // namespace cbuild::exporter::detail
