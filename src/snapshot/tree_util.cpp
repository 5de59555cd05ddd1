#include "tree_util.hpp"

#include "cbuild/util/fd.hpp"
#include "cbuild/util/fs.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstring>

namespace cbuild::snapshot {
namespace {

constexpr const char* k_opaque_xattr = "user.overlay.opaque";

bool is_overlay_xattr(std::string_view name) {
  return name.starts_with("trusted.overlay.") || name.starts_with("user.overlay.");
}

Status copy_xattrs(const std::string& src, const std::string& dst) {
  char names[65536];
  ssize_t len = ::llistxattr(src.c_str(), names, sizeof names);
  if (len < 0) return errno == ENOTSUP ? Status{} : errno_error(fmt::format("list xattrs of `{}`", src));
  for (ssize_t off = 0; off < len; off += static_cast<ssize_t>(std::strlen(names + off)) + 1) {
    const char* name = names + off;
    if (is_overlay_xattr(name)) continue;
    char value[65536];
    ssize_t n = ::lgetxattr(src.c_str(), name, value, sizeof value);
    if (n < 0) return errno_error(fmt::format("read xattr {} of `{}`", name, src));
    if (::lsetxattr(dst.c_str(), name, value, static_cast<size_t>(n), 0) != 0 && errno != EPERM &&
        errno != ENOTSUP)
      return errno_error(fmt::format("set xattr {} on `{}`", name, dst));
  }
  return {};
}

Status copy_file_data(const std::string& src, const std::string& dst) {
  UniqueFd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!in) return errno_error(fmt::format("open `{}`", src));
  UniqueFd out(::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!out) return errno_error(fmt::format("create `{}`", dst));
  if (::ioctl(out.get(), FICLONE, in.get()) == 0) return {};
  for (;;) {
    ssize_t n = ::copy_file_range(in.get(), nullptr, out.get(), nullptr, 1 << 30, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(fmt::format("copy `{}` to `{}`", src, dst));
    if (n == 0) return {};
  }
}

}  // namespace

std::string join(const std::string& dir, const std::string& name) {
  if (dir.empty()) return name;
  return dir + "/" + name;
}

Result<std::vector<std::string>> list_dir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno_error(fmt::format("open directory `{}`", dir));
  std::vector<std::string> out;
  while (struct dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") == 0 || std::strcmp(e->d_name, "..") == 0) continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  return out;
}

bool is_whiteout(const struct stat& st) { return S_ISCHR(st.st_mode) && st.st_rdev == makedev(0, 0); }

bool is_opaque(const std::string& dir) {
  char value[4];
  ssize_t n = ::lgetxattr(dir.c_str(), k_opaque_xattr, value, sizeof value);
  return n == 1 && value[0] == 'y';
}

Status set_opaque(const std::string& dir) {
  if (::lsetxattr(dir.c_str(), k_opaque_xattr, "y", 1, 0) != 0)
    return errno_error(fmt::format("mark `{}` opaque", dir));
  return {};
}

Status make_whiteout(const std::string& path) {
  if (::mknod(path.c_str(), S_IFCHR | 0, makedev(0, 0)) != 0)
    return errno_error(fmt::format("create whiteout `{}`", path));
  return {};
}

Status set_mtime(const std::string& path, const struct timespec& mtime) {
  struct timespec times[2] = {{0, UTIME_OMIT}, mtime};
  if (::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error(fmt::format("set mtime of `{}`", path));
  return {};
}

Status copy_metadata(const std::string& src, const std::string& dst, const struct stat& st) {
  if (::lchown(dst.c_str(), st.st_uid, st.st_gid) != 0 && errno != EPERM && errno != EINVAL)
    return errno_error(fmt::format("chown `{}`", dst));
  if (!S_ISLNK(st.st_mode)) {
    if (::chmod(dst.c_str(), st.st_mode & 07777) != 0) return errno_error(fmt::format("chmod `{}`", dst));
    TRY(copy_xattrs(src, dst));
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (::utimensat(AT_FDCWD, dst.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return errno_error(fmt::format("set times of `{}`", dst));
  return {};
}

Status copy_node(const std::string& src, const std::string& dst, const struct stat& st) {
  if (S_ISREG(st.st_mode)) {
    TRY(copy_file_data(src, dst));
  } else if (S_ISLNK(st.st_mode)) {
    std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
    ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) return errno_error(fmt::format("readlink `{}`", src));
    target.resize(static_cast<size_t>(n));
    if (::symlink(target.c_str(), dst.c_str()) != 0) return errno_error(fmt::format("symlink `{}`", dst));
  } else if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode) || S_ISFIFO(st.st_mode)) {
    if (::mknod(dst.c_str(), st.st_mode, st.st_rdev) != 0) return errno_error(fmt::format("mknod `{}`", dst));
  } else {
    return {};  // sockets are not part of layers
  }
  return copy_metadata(src, dst, st);
}

}  // namespace cbuild::snapshot
