#include "copy_fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <atomic>
#include <climits>
#include <memory>

#include "cbuild/layer/override_stat.hpp"
#include "cbuild/layer/whiteout.hpp"

namespace cbuild::build {

namespace {

constexpr int k_max_symlinks = 40;  // as the kernel's MAXSYMLINKS

bool permission_refused(int err) { return err == EPERM || err == EINVAL || err == EACCES; }

std::vector<std::string> split_components(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string_view::npos) slash = path.size();
    if (slash > start) out.emplace_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += out.empty() ? p : "/" + p;
  return out;
}

UniqueFd open_dir_nofollow(int dirfd, const std::string& name) {
  return UniqueFd(::openat(dirfd, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

/// Creates directory `name` in `dirfd` (0755 whatever the umask, owned by `owner`) and
/// opens it; an existing directory is just opened.
Result<UniqueFd> make_dir_at(int dirfd, const std::string& name, const CopyIds& owner,
                             const std::string& display) {
  bool created = ::mkdirat(dirfd, name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return errno_error(fmt::format("create directory `{}`", display));
  if (created) {
    UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return errno_error(fmt::format("open directory `{}`", display));
    TRY(copy_set_owner(fd.get(), owner, 0755, display));
    if (::fchmod(fd.get(), 0755) != 0) return errno_error(fmt::format("chmod `{}`", display));
  }
  UniqueFd fd = open_dir_nofollow(dirfd, name);
  if (!fd) {
    if (errno == ENOTDIR || errno == ELOOP)
      return make_error(ExitCode::bad_input, "create directory `{}`: a file is in the way", display);
    return errno_error(fmt::format("open directory `{}`", display));
  }
  return fd;
}

}  // namespace

std::string copy_clean_path(std::string_view path) {
  // Most paths are clean already (components between single slashes, none "." or ".."):
  // returned as they are, without splitting (a 20,000-file COPY cleans each twice).
  bool clean = !path.empty();
  for (size_t start = 0; clean && start <= path.size();) {
    size_t slash = std::min(path.find('/', start), path.size());
    std::string_view part = path.substr(start, slash - start);
    clean = !part.empty() && part != "." && part != "..";
    start = slash + 1;
  }
  if (clean) return std::string(path);
  std::vector<std::string> out;
  for (auto& part : split_components(path)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(std::move(part));
  }
  return join(out);
}

std::pair<std::string, std::string> copy_split_parent(std::string_view rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) return {"", std::string(rel)};
  return {std::string(rel.substr(0, slash)), std::string(rel.substr(slash + 1))};
}

std::string copy_fd_path(int fd) { return fmt::format("/proc/self/fd/{}", fd); }

Result<CopyRoot> CopyRoot::open(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open root `{}`", path.string()));
  return CopyRoot(path, "", std::move(fd));
}

Result<CopyRoot> CopyRoot::from_fd(int fd, const fs::path& display) {
  UniqueFd dup(::fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!dup) return errno_error(fmt::format("dup fd of `{}`", display.string()));
  return CopyRoot(display, display.string(), std::move(dup));
}

Result<CopyResolved> CopyRoot::resolve(std::string_view path) const {
  return walk(path, false, nullptr, nullptr);
}

Result<UniqueFd> CopyRoot::make_dirs(std::string_view path, const CopyIds& owner) const {
  UniqueFd fd;
  TRY(walk(path, true, &owner, &fd));
  return fd;
}

// One component at a time from the root: `dirs` holds an fd for each resolved component
// (dirs[0] is the root), so ".." pops one and an absolute symlink target resets to the root.
Result<CopyResolved> CopyRoot::walk(std::string_view path, bool create, const CopyIds* owner,
                                    UniqueFd* out) const {
  auto parts = split_components(path);
  std::vector<std::string> todo(parts.rbegin(), parts.rend());
  std::vector<UniqueFd> dirs;
  dirs.emplace_back(::dup(m_fd.get()));
  if (!dirs.back()) return errno_error("dup");
  std::vector<std::string> names;
  int links = 0;
  bool missing = false;
  while (!todo.empty()) {
    std::string comp;
    comp.swap(todo.back());
    todo.pop_back();
    if (comp == ".") continue;
    if (comp == "..") {
      if (!names.empty()) {
        names.pop_back();
        if (!missing) dirs.pop_back();
      }
      continue;
    }
    if (missing) {  // below a missing component only lexical rules apply
      names.push_back(std::move(comp));
      continue;
    }
    int dirfd = dirs.back().get();
    std::string display = m_prefix + "/" + join(names) + (names.empty() ? "" : "/") + comp;
    struct stat st {};
    if (::fstatat(dirfd, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) return errno_error(fmt::format("stat `{}`", display));
      if (!create) {
        missing = true;
        names.push_back(std::move(comp));
        continue;
      }
      dirs.push_back(TRY(make_dir_at(dirfd, comp, *owner, display)));
      names.push_back(std::move(comp));
      continue;
    }
    if (S_ISLNK(st.st_mode)) {
      if (++links > k_max_symlinks)
        return make_error(ExitCode::bad_input, "resolve `{}`: too many levels of symbolic links", path);
      char buf[PATH_MAX];
      ssize_t n = ::readlinkat(dirfd, comp.c_str(), buf, sizeof buf);
      if (n < 0) return errno_error(fmt::format("read link `{}`", display));
      std::string_view target(buf, static_cast<size_t>(n));
      if (target.starts_with('/')) {
        dirs.resize(1);
        names.clear();
      }
      auto more = split_components(target);
      todo.insert(todo.end(), more.rbegin(), more.rend());
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      UniqueFd fd = open_dir_nofollow(dirfd, comp);
      if (!fd) return errno_error(fmt::format("open directory `{}`", display));
      dirs.push_back(std::move(fd));
      names.push_back(std::move(comp));
      continue;
    }
    if (todo.empty() && !create) {
      names.push_back(std::move(comp));
      return CopyResolved{join(names), true, false};
    }
    return make_error(ExitCode::bad_input, "`{}` is not a directory", display);
  }
  if (out) *out = std::move(dirs.back());
  return CopyResolved{join(names), !missing, !missing};
}

Result<UniqueFd> copy_open_subdir(int dirfd, std::string_view rel, const CopyIds& owner,
                                  std::string_view display) {
  if (rel.empty()) {
    UniqueFd fd(::dup(dirfd));
    if (!fd) return errno_error("dup");
    return fd;
  }
  open_how how{};
  how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string path(rel);
  long fd;
  do {
    fd = ::syscall(SYS_openat2, dirfd, path.c_str(), &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);
  if (fd >= 0) return UniqueFd(static_cast<int>(fd));
  if (errno != ENOENT) {
    if (errno == ELOOP || errno == ENOTDIR || errno == EXDEV)
      return make_error(ExitCode::bad_input,
                        "open directory `{}/{}`: a component is a symlink or not a directory", display, rel);
    return errno_error(fmt::format("open directory `{}/{}`", display, rel));
  }
  UniqueFd cur(::dup(dirfd));
  std::string sofar(display);
  for (const auto& comp : split_components(rel)) {
    if (comp == "." || comp == "..")
      return make_error(ExitCode::bad_input, "`{}/{}` has a `.` or `..` component", display, rel);
    sofar += "/" + comp;
    cur = TRY(make_dir_at(cur.get(), comp, owner, sofar));
  }
  return cur;
}

Status copy_remove_tree(int dirfd, const std::string& name, const std::string& display) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status{} : errno_error(fmt::format("stat `{}`", display));
  if (S_ISDIR(st.st_mode)) {
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return errno_error(fmt::format("open directory `{}`", display));
    if ((st.st_mode & 0700) != 0700) (void)::fchmod(sub.get(), (st.st_mode & 07777) | 0700);
    DIR* dir = ::fdopendir(::dup(sub.get()));
    if (!dir) return errno_error(fmt::format("read directory `{}`", display));
    std::vector<std::string> children;
    while (dirent* d = ::readdir(dir)) {
      std::string_view n = d->d_name;
      if (n != "." && n != "..") children.emplace_back(n);
    }
    ::closedir(dir);
    for (const auto& child : children) TRY(copy_remove_tree(sub.get(), child, display + "/" + child));
    if (::unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0)
      return errno_error(fmt::format("remove directory `{}`", display));
    return {};
  }
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
    return errno_error(fmt::format("remove `{}`", display));
  return {};
}

Status copy_clear_target(int dirfd, const std::string& name, const std::string& display) {
  struct stat st {};
  if (::fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status{} : errno_error(fmt::format("stat `{}`", display));
  if (S_ISDIR(st.st_mode))
    return make_error(ExitCode::bad_input, "cannot replace directory `{}` with a file", display);
  if (::unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
    return errno_error(fmt::format("remove `{}`", display));
  return {};
}

Result<std::pair<uid_t, gid_t>> copy_disk_ids(const CopyIds& owner) {
  std::optional<uint32_t> uid = owner.uid, gid = owner.gid;
  if (owner.ids) {
    uid = owner.ids->uids.to_host(owner.uid);
    gid = owner.ids->gids.to_host(owner.gid);
  }
  if (!uid || !gid)
    return make_error(ExitCode::bad_input, "owner {}:{} is outside the build's id map", owner.uid, owner.gid);
  return std::pair<uid_t, gid_t>{*uid, *gid};
}

Status copy_set_owner(int fd, const CopyIds& owner, mode_t mode, const std::string& display) {
  auto [uid, gid] = TRY(copy_disk_ids(owner));
  if (::fchown(fd, uid, gid) == 0) return {};
  if (!permission_refused(errno)) return errno_error(fmt::format("chown `{}`", display));
  struct stat st {};
  if (::fstat(fd, &st) == 0 && st.st_uid == uid && st.st_gid == gid) return {};
  layer::OverrideStat over;
  over.uid = owner.uid;
  over.gid = owner.gid;
  over.mode = mode & 07777;
  std::string value = over.format();
  if (::fsetxattr(fd, layer::k_override_stat_xattr.data(), value.data(), value.size(), 0) != 0)
    return errno_error(
        fmt::format("record owner of `{}` in xattr {}", display, layer::k_override_stat_xattr));
  return {};
}

Status copy_set_link_owner(int dirfd, const std::string& name, const CopyIds& owner,
                           const std::string& display) {
  auto [uid, gid] = TRY(copy_disk_ids(owner));
  if (::fchownat(dirfd, name.c_str(), uid, gid, AT_SYMLINK_NOFOLLOW) == 0) return {};
  if (permission_refused(errno)) return {};
  return errno_error(fmt::format("chown `{}`", display));
}

bool copy_skip_xattr(std::string_view name) {
  return layer::is_overlay_xattr(name) || name.find(".overlay.") != std::string_view::npos ||
         name == layer::k_override_stat_xattr || name == "security.selinux";
}

namespace {

// Splits a listxattr buffer into names.
std::vector<std::string> xattr_names(const std::string& buf) {
  std::vector<std::string> out;
  for (size_t i = 0; i < buf.size();) {
    size_t end = buf.find('\0', i);
    if (end == std::string::npos) end = buf.size();
    if (end > i) out.emplace_back(buf.substr(i, end - i));
    i = end + 1;
  }
  return out;
}

template <typename ListFn, typename GetFn>
Result<std::vector<std::pair<std::string, std::string>>> read_xattrs(ListFn&& list, GetFn&& get,
                                                                     const std::string& display) {
  std::vector<std::pair<std::string, std::string>> out;
  ssize_t size = list(nullptr, 0);
  if (size < 0) {
    if (errno == ENOTSUP) return out;
    return errno_error(fmt::format("list xattrs of `{}`", display));
  }
  std::string buf(static_cast<size_t>(size), '\0');
  size = list(buf.data(), buf.size());
  if (size < 0) return errno_error(fmt::format("list xattrs of `{}`", display));
  buf.resize(static_cast<size_t>(size));
  for (auto& name : xattr_names(buf)) {
    if (copy_skip_xattr(name)) continue;
    ssize_t n = get(name.c_str(), nullptr, 0);
    if (n < 0) continue;  // removed meanwhile, or unreadable (trusted.* unprivileged)
    std::string value(static_cast<size_t>(n), '\0');
    n = get(name.c_str(), value.data(), value.size());
    if (n < 0) continue;
    value.resize(static_cast<size_t>(n));
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

}  // namespace

Status copy_xattrs_fd(int src_fd, int dst_fd, const std::string& display) {
  auto attrs = TRY(read_xattrs([&](char* b, size_t s) { return ::flistxattr(src_fd, b, s); },
                               [&](const char* n, void* b, size_t s) { return ::fgetxattr(src_fd, n, b, s); },
                               display));
  for (const auto& [name, value] : attrs) {
    if (::fsetxattr(dst_fd, name.c_str(), value.data(), value.size(), 0) == 0) continue;
    if (permission_refused(errno) || errno == ENOTSUP) continue;
    return errno_error(fmt::format("set xattr {} on `{}`", name, display));
  }
  return {};
}

void copy_xattrs_link(const fs::path& src, int dirfd, const std::string& name) {
  auto attrs = read_xattrs(
      [&](char* b, size_t s) { return ::llistxattr(src.c_str(), b, s); },
      [&](const char* n, void* b, size_t s) { return ::lgetxattr(src.c_str(), n, b, s); }, src.string());
  if (!attrs) return;
  std::string target = copy_fd_path(dirfd) + "/" + name;
  for (const auto& [key, value] : *attrs)
    (void)::lsetxattr(target.c_str(), key.c_str(), value.data(), value.size(), 0);
}

constexpr size_t k_copy_buffer = 1 << 17;

Result<uint64_t> copy_file_data(int src, int dst, uint64_t size, const std::string& display) {
  // What failed once with "not here" (another filesystem, no support) is not tried again:
  // a COPY of 20,000 files would otherwise pay two failing syscalls per file.
  static std::atomic<bool> try_clone{true}, try_range{true};
  if (size > 0 && try_clone) {
    if (::ioctl(dst, FICLONE, src) == 0) return size;
    if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EXDEV || errno == EINVAL) try_clone = false;
  }
  uint64_t done = 0;
  bool use_range = try_range;
  while (use_range) {
    ssize_t n = ::copy_file_range(src, nullptr, dst, nullptr, 1 << 30, 0);
    if (n > 0) {
      done += static_cast<uint64_t>(n);
      continue;
    }
    if (n == 0) {
      if (done > 0 || size == 0) return done;
      break;  // some filesystems (procfs-like) report 0 at once: read them instead
    }
    if (errno == EINTR) continue;
    if (done == 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP ||
                      errno == EBADF || errno == EPERM)) {
      if (errno != EINVAL && errno != EBADF) try_range = false;
      use_range = false;
      break;
    }
    return errno_error(fmt::format("copy data to `{}`", display));
  }
  // One buffer per thread, not 128 KiB allocated and zeroed per file.
  static thread_local std::unique_ptr<char[]> buf(new char[k_copy_buffer]);
  for (;;) {
    ssize_t n = ::read(src, buf.get(), k_copy_buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(fmt::format("read source of `{}`", display));
    }
    if (n == 0) return done;
    if (auto st = write_all(dst, std::string_view(buf.get(), static_cast<size_t>(n))); !st)
      return std::move(st).error().wrap("write `{}`", display);
    done += static_cast<uint64_t>(n);
  }
}

}  // namespace cbuild::build
