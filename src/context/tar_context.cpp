// Extraction of a tar stream context (`cbuild build -`) into a private directory.
#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <climits>
#include <cstdlib>
#include <memory>

#include "cbuild/context/context.hpp"
#include "cbuild/context/match.hpp"
#include "cbuild/util/archive_read.hpp"

namespace cbuild::context {

namespace {

struct ArchiveDeleter {
  void operator()(struct archive* a) const { archive_read_free(a); }
};
struct DiskDeleter {
  void operator()(struct archive* a) const { archive_write_free(a); }
};
using ReadArchive = std::unique_ptr<struct archive, ArchiveDeleter>;
using DiskArchive = std::unique_ptr<struct archive, DiskDeleter>;

/// Why an entry name is unsafe, or empty when it is fine. `name` has "./" prefixes removed.
std::string_view unsafe_reason(std::string_view name) {
  if (name.starts_with('/')) return "is an absolute path";
  for (size_t pos = 0; pos <= name.size();) {
    size_t end = std::min(name.find('/', pos), name.size());
    if (name.substr(pos, end - pos) == "..") return "escapes the context (`..`)";
    pos = end + 1;
  }
  return {};
}

std::string strip_dot_slash(std::string_view name) {
  while (name.starts_with("./")) name.remove_prefix(2);
  return std::string(name);
}

/// Rejects a hard link whose target lies under a symlink already extracted.
bool through_symlink(const fs::path& dest, std::string_view target) {
  std::string prefix;
  for (size_t pos = 0; pos < target.size();) {
    size_t end = std::min(target.find('/', pos), target.size());
    if (end == target.size()) break;  // the last element may itself be a symlink
    prefix = std::string(target.substr(0, end));
    struct stat st;
    if (::lstat((dest / prefix).c_str(), &st) == 0 && S_ISLNK(st.st_mode)) return true;
    pos = end + 1;
  }
  return false;
}

Error entry_error(std::string_view name, std::string_view reason) {
  return make_error(ExitCode::bad_input, "extract context: entry `{}` {}", name, reason);
}

Status extract_entry(struct archive* disk, struct archive* in, struct archive_entry* entry,
                     const fs::path& dest) {
  std::string name = strip_dot_slash(archive_entry_pathname(entry) ? archive_entry_pathname(entry) : "");
  if (auto why = unsafe_reason(name); !why.empty()) return entry_error(name, why);
  std::string cleaned = clean_path(name);
  if (cleaned == ".") return {};
  mode_t type = archive_entry_filetype(entry);
  if (type == AE_IFCHR || type == AE_IFBLK) return entry_error(name, "is a device node");
  if (const char* link = archive_entry_hardlink(entry)) {
    std::string target = strip_dot_slash(link);
    if (auto why = unsafe_reason(target); !why.empty())
      return entry_error(name, fmt::format("links to `{}`, which {}", target, why));
    if (through_symlink(dest, target))
      return entry_error(name, fmt::format("links to `{}` through a symlink", target));
    archive_entry_set_hardlink(entry, (dest / clean_path(target)).c_str());
  }
  archive_entry_set_pathname(entry, (dest / cleaned).c_str());
  if (archive_write_header(disk, entry) < ARCHIVE_WARN)
    return entry_error(name, archive_error_string(disk) ? archive_error_string(disk) : "cannot be written");
  if (archive_entry_size(entry) > 0) {
    const void* buf;
    size_t size;
    la_int64_t offset;
    int r;
    while ((r = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
      if (archive_write_data_block(disk, buf, size, offset) < ARCHIVE_WARN)
        return entry_error(name, archive_error_string(disk));
    if (r != ARCHIVE_EOF) return entry_error(name, archive_error_string(in));
  }
  if (archive_write_finish_entry(disk) < ARCHIVE_WARN) return entry_error(name, archive_error_string(disk));
  return {};
}

}  // namespace

Result<TempDir> extract_tar_context(int fd, const fs::path& tmp_parent) {
  auto dir = TRY(TempDir::create("context-", tmp_parent));
  // A canonical destination: libarchive's symlink check then sees no link in the prefix.
  char real[PATH_MAX];
  if (!::realpath(dir.path().c_str(), real))
    return errno_error(fmt::format("resolve `{}`", dir.path().string()));
  fs::path dest = real;

  ReadArchive in(archive_read_new());
  TRY(enable_decompression(in.get()));
  archive_read_support_format_tar(in.get());
  if (archive_read_open_fd(in.get(), fd, 1 << 20) != ARCHIVE_OK)
    return make_error(ExitCode::bad_input, "read context archive: {}", archive_error_string(in.get()));
  DiskArchive disk(archive_write_disk_new());
  archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                                 ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                 ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(in.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN)
      return make_error(ExitCode::bad_input, "read context archive: {}", archive_error_string(in.get()));
    TRY(extract_entry(disk.get(), in.get(), entry, dest));
  }
  if (archive_write_close(disk.get()) != ARCHIVE_OK)
    return make_error("extract context: {}", archive_error_string(disk.get()));
  return dir;
}

}  // namespace cbuild::context
