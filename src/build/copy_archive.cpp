#include "copy_archive.hpp"

#include "cbuild/layer/applier.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <memory>
#include <vector>

#include "cbuild/layer/override_stat.hpp"
#include "cbuild/util/archive_read.hpp"

namespace cbuild::build {

namespace {

/// libarchive under the "C" locale on this thread: names are taken as raw bytes, the
/// same whatever the process locale is (as the layer applier reads them).
class CLocale {
 public:
  CLocale() : m_c(newlocale(LC_ALL_MASK, "C", static_cast<locale_t>(0))) {
    if (m_c) m_previous = uselocale(m_c);
  }
  ~CLocale() {
    if (!m_c) return;
    uselocale(m_previous);
    freelocale(m_c);
  }
  CLocale(const CLocale&) = delete;
  CLocale& operator=(const CLocale&) = delete;

 private:
  locale_t m_c;
  locale_t m_previous = static_cast<locale_t>(0);
};

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

/// Opens `source` as a tar archive; nullptr (and no error) when it is not one.
Result<ArchivePtr> open_tar(const fs::path& source) {
  ArchivePtr a(archive_read_new());
  if (!a) return make_error("allocate archive reader");
  TRY(enable_decompression(a.get()));
  archive_read_support_format_tar(a.get());
  if (archive_read_open_filename(a.get(), source.c_str(), 1 << 16) != ARCHIVE_OK) return ArchivePtr();
  return a;
}

bool permission_refused(int err) { return err == EPERM || err == EINVAL || err == EACCES; }

/// An entry name made relative (layer::clean_entry_name), errors naming the entry.
Result<std::string> entry_name(std::string_view name) {
  auto clean = layer::clean_entry_name(name);
  if (!clean) return std::move(clean).error().wrap("`{}`", name);
  return clean;
}

struct PendingDir {
  std::string rel;
  mode_t mode;
  timespec times[2];
};

class Extractor {
 public:
  Extractor(CopyRoot root, std::string display, const CopyExtractOptions& options)
      : m_root(std::move(root)), m_display(std::move(display)), m_options(options) {}

  Result<CopyExtractStats> run(const fs::path& source) {
    CLocale c_locale;
    ArchivePtr a = TRY(open_tar(source));
    if (!a) return make_error(ExitCode::bad_input, "not a tar archive");
    for (;;) {
      archive_entry* e = nullptr;
      int rc = archive_read_next_header(a.get(), &e);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return make_error(ExitCode::bad_input, "read archive: {}", archive_error_string(a.get()));
      const char* raw = archive_entry_pathname(e);
      if (!raw) raw = archive_entry_pathname_utf8(e);
      if (!raw) return make_error(ExitCode::bad_input, "archive entry without a name");
      if (auto st = entry(a.get(), e, raw); !st) return std::move(st).error().wrap("entry `{}`", raw);
    }
    TRY(finish_dirs());
    return m_stats;
  }

 private:
  std::string shown(const std::string& rel) const { return m_display + "/" + rel; }

  CopyIds owner_of(archive_entry* e) const {
    if (m_options.chown) return *m_options.chown;
    return {static_cast<uint32_t>(archive_entry_uid(e)), static_cast<uint32_t>(archive_entry_gid(e)),
            m_options.ids};
  }
  CopyIds parent_owner() const { return m_options.chown ? *m_options.chown : CopyIds{0, 0, m_options.ids}; }

  /// The parent directory of an entry, symlinks followed inside the destination (as
  /// docker's chrooted untar does), missing directories created.
  Result<int> parent_fd(const std::string& parent) {
    if (!m_parent_fd || !m_parent_valid || parent != m_parent) {
      m_parent_fd = TRY(m_root.make_dirs(parent, parent_owner()));
      m_parent = parent;
      m_parent_valid = true;
    }
    return m_parent_fd.get();
  }

  static void times_of(archive_entry* e, timespec out[2]) {
    out[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    out[0] = archive_entry_atime_is_set(e) ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)}
                                           : out[1];
  }

  Status entry(archive* a, archive_entry* e, const char* raw) {
    std::string rel = TRY(entry_name(raw));
    if (rel.empty()) return {};  // the destination itself keeps its metadata
    auto [parent, name] = copy_split_parent(rel);
    int pfd = TRY(parent_fd(parent));
    std::string path = shown(rel);
    mode_t type = archive_entry_filetype(e);
    if (const char* link = archive_entry_hardlink(e)) return hardlink(pfd, rel, path, link);
    if (type == AE_IFDIR) return directory(pfd, name, rel, e);
    TRY(clear(pfd, name, path));
    switch (type) {
      case AE_IFREG:
        return regular(a, pfd, name, path, e);
      case AE_IFLNK:
        return symlink(pfd, name, path, e);
      case AE_IFIFO:
      case AE_IFCHR:
      case AE_IFBLK:
        return special(pfd, name, path, e);
      default:
        return make_error(ExitCode::bad_input, "unsupported entry type {:o}", type);
    }
  }

  /// Docker replaces whatever is in the way of an entry, unless both are directories.
  Status clear(int pfd, const std::string& name, const std::string& path) {
    struct stat st {};
    if (::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return {};
    // A removed directory may hold the cached parent: open it afresh next time (the fd
    // in use stays valid for the current entry).
    if (S_ISDIR(st.st_mode)) m_parent_valid = false;
    return copy_remove_tree(pfd, name, path);
  }

  Status metadata(int fd, archive_entry* e, const std::string& path) {
    mode_t mode = archive_entry_perm(e) & 07777;
    TRY(copy_set_owner(fd, owner_of(e), mode, path));
    if (::fchmod(fd, mode) != 0) return errno_error(fmt::format("chmod `{}`", path));
    const char* key = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &key, &value, &size) == ARCHIVE_OK) {
      if (copy_skip_xattr(key)) continue;
      if (::fsetxattr(fd, key, value, size, 0) != 0 && !permission_refused(errno) && errno != ENOTSUP)
        return errno_error(fmt::format("set xattr {} on `{}`", key, path));
    }
    return {};
  }

  Status regular(archive* a, int pfd, const std::string& name, const std::string& path, archive_entry* e) {
    UniqueFd out(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return errno_error(fmt::format("create `{}`", path));
    const void* buf = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int rc = archive_read_data_block(a, &buf, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN)
        return make_error(ExitCode::bad_input, "read data: {}", archive_error_string(a));
      const char* p = static_cast<const char*>(buf);
      while (size > 0) {
        ssize_t n = ::pwrite(out.get(), p, size, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error(fmt::format("write `{}`", path));
        p += n;
        size -= static_cast<size_t>(n);
        offset += n;
      }
    }
    la_int64_t total = archive_entry_size(e);
    if (::ftruncate(out.get(), total) != 0) return errno_error(fmt::format("truncate `{}`", path));
    TRY(metadata(out.get(), e, path));
    timespec times[2];
    times_of(e, times);
    if (::futimens(out.get(), times) != 0) return errno_error(fmt::format("set times of `{}`", path));
    ++m_stats.files;
    m_stats.bytes += static_cast<uint64_t>(total);
    return {};
  }

  Status directory(int pfd, const std::string& name, const std::string& rel, archive_entry* e) {
    std::string path = shown(rel);
    struct stat st {};
    bool exists = ::fstatat(pfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (exists && !S_ISDIR(st.st_mode)) {
      TRY(clear(pfd, name, path));
      exists = false;
    }
    if (!exists && ::mkdirat(pfd, name.c_str(), 0700) != 0)
      return errno_error(fmt::format("create directory `{}`", path));
    UniqueFd fd(::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno_error(fmt::format("open directory `{}`", path));
    TRY(metadata(fd.get(), e, path));
    mode_t mode = archive_entry_perm(e) & 07777;
    if (::fchmod(fd.get(), mode | 0700) != 0) return errno_error(fmt::format("chmod `{}`", path));
    PendingDir dir{rel, mode, {}};
    times_of(e, dir.times);
    m_dirs.push_back(dir);
    return {};
  }

  Status symlink(int pfd, const std::string& name, const std::string& path, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (!target) target = archive_entry_symlink_utf8(e);
    if (!target) return make_error(ExitCode::bad_input, "symlink without a target");
    if (::symlinkat(target, pfd, name.c_str()) != 0)
      return errno_error(fmt::format("create symlink `{}`", path));
    TRY(copy_set_link_owner(pfd, name, owner_of(e), path));
    timespec times[2];
    times_of(e, times);
    if (::utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fmt::format("set times of `{}`", path));
    ++m_stats.files;
    return {};
  }

  /// Fifos and devices; a device refused (unprivileged) becomes an empty file with the
  /// device recorded in override_stat.
  Status special(int pfd, const std::string& name, const std::string& path, archive_entry* e) {
    mode_t type = archive_entry_filetype(e);
    dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    timespec times[2];
    times_of(e, times);
    UniqueFd fd;
    if (::mknodat(pfd, name.c_str(), type | 0600, dev) == 0) {
      fd.reset(::openat(pfd, name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return errno_error(fmt::format("open `{}`", path));
      CopyIds owner = owner_of(e);
      auto uid = owner.ids ? owner.ids->uids.to_host(owner.uid) : owner.uid;
      auto gid = owner.ids ? owner.ids->gids.to_host(owner.gid) : owner.gid;
      if (uid && gid) (void)::fchownat(fd.get(), "", *uid, *gid, AT_EMPTY_PATH);
      std::string proc = copy_fd_path(fd.get());
      if (::chmod(proc.c_str(), archive_entry_perm(e) & 07777) != 0)
        return errno_error(fmt::format("chmod `{}`", path));
      if (::utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return errno_error(fmt::format("set times of `{}`", path));
      ++m_stats.files;
      return {};
    }
    if (errno != EPERM || type == AE_IFIFO) return errno_error(fmt::format("create `{}`", path));
    fd.reset(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error(fmt::format("create `{}`", path));
    CopyIds owner = owner_of(e);
    layer::OverrideStat over{owner.uid,
                             owner.gid,
                             archive_entry_perm(e) & 07777,
                             type,
                             static_cast<uint32_t>(archive_entry_rdevmajor(e)),
                             static_cast<uint32_t>(archive_entry_rdevminor(e))};
    std::string value = over.format();
    if (::fsetxattr(fd.get(), layer::k_override_stat_xattr.data(), value.data(), value.size(), 0) != 0)
      return errno_error(fmt::format("record device `{}` in xattr", path));
    if (::fchmod(fd.get(), archive_entry_perm(e) & 07777) != 0 || ::futimens(fd.get(), times) != 0)
      return errno_error(fmt::format("set metadata of `{}`", path));
    ++m_stats.files;
    return {};
  }

  /// A hardlink: the target must be an earlier entry inside the destination.
  Status hardlink(int pfd, const std::string& rel, const std::string& path, const char* link) {
    std::string target = TRY(entry_name(link));
    if (target.empty()) return make_error(ExitCode::bad_input, "hardlink to the destination itself");
    if (target == rel) return {};
    auto [tparent, tname] = copy_split_parent(target);
    UniqueFd tdir = TRY(m_root.make_dirs(tparent, parent_owner()));
    struct stat st {};
    if (::fstatat(tdir.get(), tname.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fmt::format("hardlink target `{}`", shown(target)));
    if (S_ISDIR(st.st_mode))
      return make_error(ExitCode::bad_input, "hardlink to directory `{}`", shown(target));
    std::string name = copy_split_parent(rel).second;
    TRY(clear(pfd, name, path));
    if (::linkat(tdir.get(), tname.c_str(), pfd, name.c_str(), 0) != 0)
      return errno_error(fmt::format("link `{}` to `{}`", path, shown(target)));
    ++m_stats.files;
    return {};
  }

  Status finish_dirs() {
    m_parent_fd.reset();
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) {
      auto [parent, name] = copy_split_parent(it->rel);
      auto pfd = m_root.make_dirs(parent, parent_owner());
      if (!pfd) continue;  // replaced by a later entry
      UniqueFd fd(::openat(pfd->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) continue;
      std::string path = shown(it->rel);
      if (::fchmod(fd.get(), it->mode) != 0) return errno_error(fmt::format("chmod `{}`", path));
      if (::futimens(fd.get(), it->times) != 0) return errno_error(fmt::format("set times of `{}`", path));
    }
    return {};
  }

  CopyRoot m_root;
  std::string m_display;
  const CopyExtractOptions& m_options;
  CopyExtractStats m_stats;
  std::string m_parent;
  UniqueFd m_parent_fd;
  bool m_parent_valid = false;
  std::vector<PendingDir> m_dirs;
};

}  // namespace

Result<bool> copy_is_archive(const fs::path& source) {
  struct stat st {};
  if (::stat(source.c_str(), &st) != 0) return errno_error(fmt::format("stat `{}`", source.string()));
  if (!S_ISREG(st.st_mode) || st.st_size == 0) return false;
  CLocale c_locale;
  ArchivePtr a = TRY(open_tar(source));
  if (!a) return false;
  archive_entry* e = nullptr;
  int rc = archive_read_next_header(a.get(), &e);
  return rc == ARCHIVE_OK || rc == ARCHIVE_WARN;
}

Result<CopyExtractStats> copy_extract_archive(const fs::path& source, int dest_dirfd,
                                              const std::string& display, const CopyExtractOptions& options) {
  auto root = TRY(CopyRoot::from_fd(dest_dirfd, display));
  Extractor extractor(std::move(root), display, options);
  return extractor.run(source);
}

}  // namespace cbuild::build
