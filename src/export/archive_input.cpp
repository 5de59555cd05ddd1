#include "archive_input.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>

#include <memory>
#include <vector>

#include "cbuild/util/archive_read.hpp"

namespace cbuild::exporter::detail {
namespace {

constexpr size_t k_chunk = 1 << 20;

struct ArchiveDeleter {
  void operator()(archive* a) const { archive_read_free(a); }
};

}  // namespace

std::optional<std::string> clean_name(std::string_view name) {
  if (name.starts_with("/")) return std::nullopt;
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    std::string_view part = name.substr(start, slash - start);
    if (part == "..") {
      if (parts.empty()) return std::nullopt;
      parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

Status ArchiveContents::add_file(store::Store& store, std::string name,
                                 const std::function<Result<size_t>(char*, size_t)>& read) {
  auto file = std::make_unique<PendingFile>();
  file->name = name;
  file->writer = TRY(store.begin_blob());
  Sha256 sha;
  Decompressor decompressor;
  Status layer_status;
  std::string content;
  std::vector<char> buf(k_chunk);
  for (;;) {
    size_t n = TRY(read(buf.data(), buf.size()));
    if (n == 0) break;
    TRY(file->writer->write(buf.data(), n));
    sha.update(buf.data(), n);
    if (layer_status.ok()) layer_status = decompressor.write(buf.data(), n);
    file->size += n;
    if (file->size <= k_keep_in_memory) content.append(buf.data(), n);
  }
  file->digest = sha.finish();
  if (file->size <= k_keep_in_memory) file->content = std::move(content);
  file->layer =
      layer_status.ok() ? decompressor.finish() : Result<Decompressed>(std::move(layer_status).error());
  m_links.erase(name);
  m_files[name] = std::move(file);
  return {};
}

Status ArchiveContents::add_link(const std::string& name, std::string_view target, bool relative_to_dir) {
  std::string joined(target);
  if (relative_to_dir) {
    size_t slash = name.rfind('/');
    joined = (slash == std::string::npos ? std::string() : name.substr(0, slash + 1)) + std::string(target);
  }
  auto clean = clean_name(joined);
  if (!clean || target.starts_with("/")) {
    return make_error(ExitCode::bad_input, "load `{}`: entry `{}`: link target `{}` leaves the archive",
                      m_label, name, target);
  }
  m_links[name] = *clean;
  return {};
}

Status ArchiveContents::read_tar(store::Store& store, int fd) {
  std::unique_ptr<archive, ArchiveDeleter> a(archive_read_new());
  TRY(enable_decompression(a.get()));
  archive_read_support_format_tar(a.get());
  archive_read_support_format_gnutar(a.get());
  if (archive_read_open_fd(a.get(), fd, 1 << 16) != ARCHIVE_OK) {
    return make_error(ExitCode::bad_input, "load `{}`: {}", m_label, archive_error_string(a.get()));
  }
  for (;;) {
    archive_entry* entry = nullptr;
    int rc = archive_read_next_header(a.get(), &entry);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) {
      return make_error(ExitCode::bad_input, "load `{}`: not a valid tar archive: {}", m_label,
                        archive_error_string(a.get()));
    }
    const char* raw_name = archive_entry_pathname(entry);
    auto name = clean_name(raw_name ? raw_name : "");
    if (name && name->empty() && archive_entry_filetype(entry) == AE_IFDIR) continue;  // "./"
    if (!name || name->empty()) {
      return make_error(ExitCode::bad_input, "load `{}`: entry `{}`: unsafe name", m_label,
                        raw_name ? raw_name : "");
    }
    if (const char* hardlink = archive_entry_hardlink(entry)) {
      TRY(add_link(*name, hardlink, false));
      continue;
    }
    switch (archive_entry_filetype(entry)) {
      case AE_IFLNK:
        TRY(add_link(*name, archive_entry_symlink(entry), true));
        break;
      case AE_IFREG: {
        auto reader = [&](char* buf, size_t size) -> Result<size_t> {
          la_ssize_t n = archive_read_data(a.get(), buf, size);
          if (n < 0) {
            return make_error(ExitCode::bad_input, "load `{}`: entry `{}`: {}", m_label, *name,
                              archive_error_string(a.get()));
          }
          return static_cast<size_t>(n);
        };
        TRY(add_file(store, *name, reader));
        break;
      }
      default:
        break;  // directories and others carry nothing we need
    }
  }
  return {};
}

Status ArchiveContents::read_dir(store::Store& store, const fs::path& dir) {
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(dir, ec);
  if (ec) return make_error(ExitCode::bad_input, "load: read directory `{}`: {}", dir.string(), ec.message());
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec)
      return make_error(ExitCode::bad_input, "load: read directory `{}`: {}", dir.string(), ec.message());
    std::string name = fs::relative(it->path(), dir).generic_string();
    if (it->is_symlink()) {
      TRY(add_link(name, fs::read_symlink(it->path()).string(), true));
    } else if (it->is_regular_file()) {
      UniqueFd fd(::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
      if (!fd) return errno_error(fmt::format("open `{}`", it->path().string()));
      auto reader = [&](char* buf, size_t size) -> Result<size_t> {
        for (;;) {
          ssize_t n = ::read(fd.get(), buf, size);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return errno_error(fmt::format("read `{}`", it->path().string()));
          return static_cast<size_t>(n);
        }
      };
      TRY(add_file(store, name, reader));
    }
  }
  return {};
}

Result<ArchiveContents> ArchiveContents::read(store::Store& store, const fs::path& input) {
  ArchiveContents contents;
  contents.m_label = input == "-" ? std::string("stdin") : input.string();
  if (input == "-") {
    TRY(contents.read_tar(store, STDIN_FILENO));
    return contents;
  }
  std::error_code ec;
  if (fs::is_directory(input, ec)) {
    TRY(contents.read_dir(store, input));
    return contents;
  }
  UniqueFd fd(::open(input.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("load: open `{}`", input.string()));
  TRY(contents.read_tar(store, fd.get()));
  return contents;
}

PendingFile* ArchiveContents::find(std::string_view name) {
  std::string current(name);
  for (int depth = 0; depth < 40; ++depth) {
    if (auto it = m_files.find(current); it != m_files.end()) return it->second.get();
    auto link = m_links.find(current);
    if (link == m_links.end()) return nullptr;
    current = link->second;
  }
  return nullptr;
}

Result<PendingFile*> ArchiveContents::require(std::string_view name) {
  auto clean = clean_name(name);
  PendingFile* file = clean ? find(*clean) : nullptr;
  if (!file) return make_error(ExitCode::bad_input, "load `{}`: missing `{}`", m_label, name);
  return file;
}

Result<std::string_view> ArchiveContents::text(std::string_view name) {
  PendingFile* file = TRY(require(name));
  if (!file->content) {
    return make_error(ExitCode::bad_input, "load `{}`: `{}` is too large for a JSON document", m_label, name);
  }
  return std::string_view(*file->content);
}

Result<store::Descriptor> ArchiveContents::commit(PendingFile& file) {
  if (!file.committed) {
    auto d = file.writer->commit(file.digest);
    if (!d) return std::move(d).error().wrap("store `{}` from `{}`", file.name, m_label);
    file.committed = std::move(d).value();
  }
  return *file.committed;
}

}  // namespace cbuild::exporter::detail
