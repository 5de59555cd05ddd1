#include "cbuild/layer/applier.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <unordered_set>
#include <vector>

#include "c_locale.hpp"
#include "cbuild/layer/override_stat.hpp"
#include "decompress.hpp"
#include "safe_path.hpp"

namespace cbuild::layer {

namespace {

/// A directory whose mode and times are set after its contents are written.
struct PendingDir {
  std::string rel;
  mode_t mode;
  timespec times[2];
};

bool is_host_xattr(std::string_view name) {
  return is_overlay_xattr(name) || name == k_override_stat_xattr || name == "security.selinux";
}

bool permission_refused(int err) { return err == EPERM || err == EINVAL || err == EACCES; }

class Applier {
 public:
  Applier(SafeRoot root, const ApplyOptions& options) : m_root(std::move(root)), m_options(options) {}

  Status entry(archive* a, archive_entry* e, const std::string& rel) {
    auto [parent, base] = split_parent(rel);
    if (base.starts_with(k_whiteout_prefix)) return whiteout(std::string(parent), std::string(base));
    UniqueFd pfd = TRY(make_parent(std::string(parent)));
    std::string name(base);
    mode_t type = archive_entry_filetype(e);
    if (const char* link = archive_entry_hardlink(e)) return hardlink(pfd.get(), name, rel, link);
    struct stat old {};
    if (fstatat(pfd.get(), name.c_str(), &old, AT_SYMLINK_NOFOLLOW) == 0 &&
        !(S_ISDIR(old.st_mode) && type == AE_IFDIR))
      TRY(remove_at(pfd.get(), name, rel));
    m_created.insert(rel);
    switch (type) {
      case AE_IFDIR:
        return directory(pfd.get(), name, rel, e);
      case AE_IFREG:
        return regular(a, pfd.get(), name, e);
      case AE_IFLNK:
        return symlink(pfd.get(), name, e);
      case AE_IFCHR:
      case AE_IFBLK:
      case AE_IFIFO:
        return special(pfd.get(), name, e, type);
      default:
        return make_error(ExitCode::bad_input, "unsupported entry type {:o}", type);
    }
  }

  /// Sets the modes and times of directories, deepest last-created first.
  Status finish() {
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) {
      auto fd = m_root.open_dir(it->rel);
      if (!fd) continue;  // removed by a later whiteout
      std::string path = fmt::format("/proc/self/fd/{}", fd->get());
      if (::chmod(path.c_str(), it->mode) != 0) return errno_error(fmt::format("chmod `{}`", it->rel));
      if (::utimensat(AT_FDCWD, path.c_str(), it->times, 0) != 0)
        return errno_error(fmt::format("set times of `{}`", it->rel));
    }
    return {};
  }

  ApplyResult& result() { return m_result; }

 private:
  Result<UniqueFd> make_parent(const std::string& parent) {
    return m_root.make_dir(parent, [&](int fd, const std::string& rel) {
      // Implicit parents: 0755 whatever the umask, owned by container root, as docker does.
      m_created.insert(rel);
      (void)::chmod(fmt::format("/proc/self/fd/{}", fd).c_str(), 0755);
      auto uid = m_options.ids.uids.to_host(0), gid = m_options.ids.gids.to_host(0);
      if (uid && gid) (void)fchownat(fd, "", *uid, *gid, AT_EMPTY_PATH);
    });
  }

  Status whiteout(const std::string& parent, const std::string& base) {
    if (base == k_opaque_whiteout) return opaque(parent);
    if (base.starts_with(k_whiteout_meta_prefix)) return {};  // aufs metadata (.wh..wh.plnk)
    std::string victim = base.substr(k_whiteout_prefix.size());
    if (victim.empty() || victim == "." || victim == "..")
      return make_error(ExitCode::bad_input, "whiteout for `{}` is not a file name", victim);
    std::string rel = parent.empty() ? victim : parent + "/" + victim;
    if (m_options.whiteouts == WhiteoutMode::remove) {
      auto pfd = m_root.open_dir(parent);
      if (!pfd) return errno == ENOENT ? Status() : Status(std::move(pfd).error());
      return remove_at(pfd->get(), victim, rel);
    }
    UniqueFd pfd = TRY(make_parent(parent));
    TRY(remove_at(pfd.get(), victim, rel));
    if (mknodat(pfd.get(), victim.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
      return errno_error(fmt::format("create overlay whiteout `{}`", rel));
    m_created.insert(rel);
    return {};
  }

  /// Hides what lower layers have in `dir`: removes every child this layer did not
  /// create, and in overlay mode also marks the directory opaque.
  Status opaque(const std::string& dir) {
    UniqueFd pfd = TRY(make_parent(dir));
    for (const auto& child : TRY(list_names(pfd.get(), dir))) {
      std::string rel = dir.empty() ? child : dir + "/" + child;
      if (!m_created.count(rel)) TRY(remove_at(pfd.get(), child, rel));
    }
    if (m_options.whiteouts == WhiteoutMode::remove) return {};
    const char* xattr = m_options.whiteouts == WhiteoutMode::overlay_trusted ? "trusted.overlay.opaque"
                                                                             : "user.overlay.opaque";
    std::string path = fmt::format("/proc/self/fd/{}", pfd.get());
    if (::setxattr(path.c_str(), xattr, "y", 1, 0) != 0)
      return errno_error(fmt::format("mark `{}` opaque", dir.empty() ? "/" : dir));
    return {};
  }

  Status hardlink(int pfd, const std::string& name, const std::string& rel, const char* link) {
    auto cleaned = clean_entry_name(link);
    if (!cleaned) return std::move(cleaned).error().wrap("hardlink target `{}`", link);
    std::string target = std::move(cleaned).value();
    if (target.empty() || target == rel)
      return make_error(ExitCode::bad_input, "hardlink to itself or the root");
    auto [tparent, tbase] = split_parent(target);
    UniqueFd tfd = TRY(m_root.open_dir(tparent));
    TRY(remove_at(pfd, name, rel));
    if (linkat(tfd.get(), std::string(tbase).c_str(), pfd, name.c_str(), 0) != 0) {
      int err = errno;
      Error e = errno_error(fmt::format("hardlink to `{}`", target));
      if (err == ENOENT || err == EPERM) e.code = ExitCode::bad_input;  // missing / a directory
      return e;
    }
    m_created.insert(rel);
    return {};
  }

  Status directory(int pfd, const std::string& name, const std::string& rel, archive_entry* e) {
    if (mkdirat(pfd, name.c_str(), 0700) != 0 && errno != EEXIST) return errno_error("create directory");
    UniqueFd fd(::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno_error("open directory");
    TRY(owner(fd.get(), e));
    TRY(xattrs(fd.get(), e));
    m_dirs.push_back({rel, static_cast<mode_t>(archive_entry_perm(e)), {}});
    times(e, m_dirs.back().times);
    return {};
  }

  Status regular(archive* a, int pfd, const std::string& name, archive_entry* e) {
    UniqueFd fd(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error("create file");
    const void* data = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    for (;;) {
      int rc = archive_read_data_block(a, &data, &size, &offset);
      if (rc == ARCHIVE_EOF) break;
      if (rc != ARCHIVE_OK) return archive_failure(a, "read file data");
      for (size_t done = 0; done < size;) {
        ssize_t n = ::pwrite(fd.get(), static_cast<const char*>(data) + done, size - done,
                             offset + static_cast<off_t>(done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return errno_error("write file");
        done += static_cast<size_t>(n);
      }
    }
    if (archive_entry_size_is_set(e) && ftruncate(fd.get(), archive_entry_size(e)) != 0)
      return errno_error("set file size");
    return finish_fd(fd.get(), e, std::nullopt);
  }

  /// Owner, mode, xattrs and times of an entry open as `fd` (regular file, directory's
  /// times excepted). `as_type`: the type recorded when the entry had to become a file.
  Status finish_fd(int fd, archive_entry* e, std::optional<OverrideStat> as_type) {
    TRY(owner(fd, e, std::move(as_type)));
    if (fchmod(fd, archive_entry_perm(e)) != 0) return errno_error("chmod");
    TRY(xattrs(fd, e));
    timespec ts[2];
    times(e, ts);
    if (futimens(fd, ts) != 0) return errno_error("set times");
    return {};
  }

  Status symlink(int pfd, const std::string& name, archive_entry* e) {
    const char* target = archive_entry_symlink(e);
    if (!target) return make_error(ExitCode::bad_input, "symlink without a target");
    if (symlinkat(target, pfd, name.c_str()) != 0) return errno_error("create symlink");
    auto [uid, gid] = TRY(host_ids(e));
    if (fchownat(pfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) != 0) {
      if (!permission_refused(errno) || m_options.strict) return errno_error("chown symlink");
      ++m_result.ownership_lost;  // user.* xattrs are not allowed on symlinks
    }
    timespec ts[2];
    times(e, ts);
    if (utimensat(pfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("set symlink times");
    return {};
  }

  /// Devices and fifos. When mknod or chown is refused, the entry becomes an empty
  /// regular file with its type, owner and mode in the override_stat xattr.
  Status special(int pfd, const std::string& name, archive_entry* e, mode_t type) {
    dev_t dev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
    int rc =
        type == AE_IFIFO ? mkfifoat(pfd, name.c_str(), 0600) : mknodat(pfd, name.c_str(), type | 0600, dev);
    if (rc == 0) {
      auto [uid, gid] = TRY(host_ids(e));
      if (fchownat(pfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0) {
        if (fchmodat(pfd, name.c_str(), archive_entry_perm(e), 0) != 0) return errno_error("chmod");
        TRY(path_xattrs(pfd, name, e));
        timespec ts[2];
        times(e, ts);
        if (utimensat(pfd, name.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0) return errno_error("set times");
        return {};
      }
      if (!permission_refused(errno) || m_options.strict) return errno_error("chown");
      (void)unlinkat(pfd, name.c_str(), 0);
    } else if (!permission_refused(errno) || m_options.strict) {
      return errno_error("create device");
    }
    OverrideStat st;
    st.type = type;
    st.rdev_major = archive_entry_rdevmajor(e);
    st.rdev_minor = archive_entry_rdevminor(e);
    UniqueFd fd(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error("create placeholder file");
    return finish_fd(fd.get(), e, st);
  }

  Result<std::pair<uid_t, gid_t>> host_ids(archive_entry* e) const {
    auto uid = m_options.ids.uids.to_host(static_cast<uint32_t>(archive_entry_uid(e)));
    auto gid = m_options.ids.gids.to_host(static_cast<uint32_t>(archive_entry_gid(e)));
    if (!uid || !gid)
      return make_error(ExitCode::bad_input, "owner {}:{} is outside the id map", archive_entry_uid(e),
                        archive_entry_gid(e));
    return std::pair<uid_t, gid_t>{*uid, *gid};
  }

  /// Chowns `fd`; where that is refused (unprivileged) records the owner in the
  /// override_stat xattr instead. `placeholder` forces the record (device as a file).
  Status owner(int fd, archive_entry* e, std::optional<OverrideStat> placeholder = {}) {
    auto [uid, gid] = TRY(host_ids(e));
    if (!placeholder && fchown(fd, uid, gid) == 0) return {};
    if (!placeholder && (!permission_refused(errno) || m_options.strict)) return errno_error("chown");
    OverrideStat st = placeholder.value_or(OverrideStat{});
    st.uid = static_cast<uint32_t>(archive_entry_uid(e));
    st.gid = static_cast<uint32_t>(archive_entry_gid(e));
    st.mode = archive_entry_perm(e);
    std::string value = st.format();
    if (fsetxattr(fd, k_override_stat_xattr.data(), value.data(), value.size(), 0) != 0)
      return errno_error(fmt::format("record owner in xattr {}", k_override_stat_xattr));
    ++m_result.overrides_recorded;
    return {};
  }

  template <typename SetFn>
  Status each_xattr(archive_entry* e, SetFn&& set) {
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
      if (is_host_xattr(name)) continue;
      if (set(name, value, size) == 0) continue;
      if (!m_options.strict && (permission_refused(errno) || errno == ENOTSUP)) {
        ++m_result.xattrs_dropped;
        continue;
      }
      return errno_error(fmt::format("set xattr {}", name));
    }
    return {};
  }

  Status xattrs(int fd, archive_entry* e) {
    return each_xattr(e, [&](const char* n, const void* v, size_t s) { return fsetxattr(fd, n, v, s, 0); });
  }

  Status path_xattrs(int pfd, const std::string& name, archive_entry* e) {
    std::string path = fmt::format("/proc/self/fd/{}/{}", pfd, name);
    return each_xattr(
        e, [&](const char* n, const void* v, size_t s) { return lsetxattr(path.c_str(), n, v, s, 0); });
  }

  static void times(archive_entry* e, timespec ts[2]) {
    ts[1] = {archive_entry_mtime(e), archive_entry_mtime_nsec(e)};
    ts[0] =
        archive_entry_atime_is_set(e) ? timespec{archive_entry_atime(e), archive_entry_atime_nsec(e)} : ts[1];
  }

  static Error archive_failure(archive* a, std::string_view what) {
    const char* msg = archive_error_string(a);
    return make_error(ExitCode::bad_input, "{}: {}", what, msg ? msg : "unknown error");
  }

  SafeRoot m_root;
  const ApplyOptions& m_options;
  ApplyResult m_result;
  std::unordered_set<std::string> m_created;
  std::vector<PendingDir> m_dirs;
};

Result<ApplyResult> apply(int fd, const fs::path& target, const ApplyOptions& options) {
  ScopedCLocale c_locale;
  Applier applier(TRY(SafeRoot::open(target)), options);
  DecompressedSource source;
  TRY(source.open(fd));
  archive* tar = archive_read_new();
  std::unique_ptr<archive, int (*)(archive*)> owner(tar, archive_read_free);
  archive_read_support_format_tar(tar);
  archive_read_support_format_gnutar(tar);
  if (archive_read_open(tar, &source, nullptr, &DecompressedSource::read, nullptr) != ARCHIVE_OK) {
    if (!source.error().ok()) return source.error().error();
    return make_error(ExitCode::bad_input, "not a tar archive: {}", archive_error_string(tar));
  }
  std::string last = "(start of archive)";
  ApplyProgress progress;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(tar, &e);
    if (rc == ARCHIVE_EOF) break;
    // WARN: usually a UTF-8 PAX name that cannot be converted to the C locale; the
    // raw name is kept and checked like any other.
    if (rc != ARCHIVE_OK && !(rc == ARCHIVE_WARN && e && archive_entry_pathname(e))) {
      if (!source.error().ok()) return Error(source.error().error()).wrap("after entry `{}`", last);
      const char* msg = archive_error_string(tar);
      return make_error(ExitCode::bad_input, "read entry after `{}`: {}", last,
                        msg ? msg : "invalid tar header");
    }
    const char* raw = archive_entry_pathname(e);
    if (!raw) raw = archive_entry_pathname_utf8(e);
    last = raw ? raw : "";
    auto rel = clean_entry_name(last);
    if (!rel) return std::move(rel).error().wrap("entry `{}`", last);
    if (!rel->empty()) {
      Status st = applier.entry(tar, e, *rel);
      if (!st.ok()) {
        if (!source.error().ok()) return Error(source.error().error()).wrap("entry `{}`", last);
        return std::move(st).error().wrap("entry `{}`", last);
      }
    }
    ++progress.entries;
    progress.bytes = source.size();
    if (options.progress) options.progress(progress);
  }
  TRY(applier.finish());
  ApplyResult result = applier.result();
  result.diff_id = TRY(source.finish());
  result.tar_size = source.size();
  result.entries = progress.entries;
  result.compression = source.compression();
  return result;
}

}  // namespace

Result<ApplyResult> apply_layer_fd(int fd, std::string_view name, const fs::path& target,
                                   const ApplyOptions& options) {
  auto result = apply(fd, target, options);
  if (!result) return std::move(result).error().wrap("apply layer `{}` to `{}`", name, target.string());
  return result;
}

Result<ArchiveDigest> archive_diff_id_fd(int fd, std::string_view name) {
  DecompressedSource source;
  auto done = [&]() -> Result<ArchiveDigest> {
    TRY(source.open(fd));
    ArchiveDigest out;
    out.compression = source.compression();
    out.diff_id = TRY(source.finish());
    out.tar_size = source.size();
    return out;
  }();
  if (!done) return std::move(done).error().wrap("read layer `{}`", name);
  return done;
}

Result<ArchiveDigest> archive_diff_id(const fs::path& archive) {
  UniqueFd fd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open layer `{}`", archive.string()));
  return archive_diff_id_fd(fd.get(), archive.string());
}

Result<ApplyResult> apply_layer(const fs::path& archive, const fs::path& target,
                                const ApplyOptions& options) {
  UniqueFd fd(::open(archive.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open layer `{}`", archive.string()));
  return apply_layer_fd(fd.get(), archive.string(), target, options);
}

}  // namespace cbuild::layer
