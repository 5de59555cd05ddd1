#include "safe_path.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <climits>
#include <vector>

namespace cbuild::layer {

namespace {

int openat2_in_root(int root, const char* path, uint64_t flags) {
  open_how how{};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  long fd;
  do {
    fd = syscall(SYS_openat2, root, path, &how, sizeof how);
  } while (fd < 0 && errno == EAGAIN);
  return static_cast<int>(fd);
}

}  // namespace

Result<std::string> clean_entry_name(std::string_view name) {
  if (name.size() > PATH_MAX)
    return make_error(ExitCode::bad_input, "name is longer than {} bytes", PATH_MAX);
  if (name.starts_with('/')) return make_error(ExitCode::bad_input, "absolute name");
  std::string out;
  size_t start = 0;
  while (start <= name.size()) {
    size_t slash = name.find('/', start);
    if (slash == std::string_view::npos) slash = name.size();
    std::string_view part = name.substr(start, slash - start);
    if (part == "..") return make_error(ExitCode::bad_input, "name has a `..` component");
    if (part.size() > NAME_MAX)
      return make_error(ExitCode::bad_input, "name has a component longer than {} bytes", NAME_MAX);
    if (!part.empty() && part != ".") {
      if (!out.empty()) out += '/';
      out += part;
    }
    start = slash + 1;
  }
  return out;
}

std::pair<std::string_view, std::string_view> split_parent(std::string_view rel) {
  size_t slash = rel.rfind('/');
  if (slash == std::string_view::npos) return {std::string_view(), rel};
  return {rel.substr(0, slash), rel.substr(slash + 1)};
}

Result<SafeRoot> SafeRoot::open(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open `{}`", path.string()));
  return SafeRoot(path, std::move(fd));
}

Result<UniqueFd> SafeRoot::open_dir(std::string_view rel) const {
  std::string path = rel.empty() ? std::string(".") : std::string(rel);
  UniqueFd fd(openat2_in_root(m_fd.get(), path.c_str(), O_PATH | O_DIRECTORY));
  if (!fd) {
    int err = errno;
    const char* why = err == ELOOP     ? "a component is a symlink"
                      : err == ENOTDIR ? "a component is not a directory"
                                       : nullptr;
    Error e = why ? make_error(ExitCode::bad_input, "open directory `{}`: {}", path, why)
                  : errno_error(fmt::format("open directory `{}`", path));
    errno = err;
    return e;
  }
  return fd;
}

Result<UniqueFd> SafeRoot::make_dir_step(int parent, const std::string& name, bool& created) const {
  if (mkdirat(parent, name.c_str(), 0755) == 0) {
    created = true;
  } else if (errno != EEXIST) {
    return errno_error(fmt::format("create directory `{}`", name));
  }
  UniqueFd fd(::openat(parent, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!fd) {
    int err = errno;
    Error e = err == ENOTDIR || err == ELOOP ? make_error(ExitCode::bad_input,
                                                          "open directory `{}`: a component is a "
                                                          "symlink or not a directory",
                                                          name)
                                             : errno_error(fmt::format("open directory `{}`", name));
    errno = err;
    return e;
  }
  return fd;
}

Status for_each_entry(int dirfd, const std::string& display,
                      const std::function<void(std::string_view, unsigned char)>& fn) {
  int fd = ::openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  DIR* dir = fd >= 0 ? fdopendir(fd) : nullptr;
  if (!dir) {
    if (fd >= 0) ::close(fd);
    return errno_error(fmt::format("read directory `{}`", display));
  }
  errno = 0;
  while (dirent* d = readdir(dir)) {
    std::string_view n = d->d_name;
    if (n != "." && n != "..") fn(n, d->d_type);
    errno = 0;
  }
  int err = errno;
  closedir(dir);
  if (err) {
    errno = err;
    return errno_error(fmt::format("read directory `{}`", display));
  }
  return {};
}

Result<std::vector<std::string>> list_names(int dirfd, const std::string& display) {
  std::vector<std::string> names;
  TRY(for_each_entry(dirfd, display, [&](std::string_view name, unsigned char) { names.emplace_back(name); }));
  return names;
}

Status remove_at(int dirfd, const std::string& name, const std::string& display) {
  struct stat st {};
  if (fstatat(dirfd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return errno_error(fmt::format("stat `{}`", display));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dirfd, name.c_str(), 0) != 0 && errno != ENOENT)
      return errno_error(fmt::format("remove `{}`", display));
    return {};
  }
  {
    UniqueFd sub(::openat(dirfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub) return errno_error(fmt::format("open directory `{}`", display));
    // Unpacked layers can hold 0555 directories: make them writable before emptying.
    if ((st.st_mode & 0700) != 0700) fchmod(sub.get(), (st.st_mode & 07777) | 0700);
    for (const auto& child : TRY(list_names(sub.get(), display)))
      TRY(remove_at(sub.get(), child, display + "/" + child));
  }
  if (unlinkat(dirfd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT)
    return errno_error(fmt::format("remove directory `{}`", display));
  return {};
}

}  // namespace cbuild::layer
