#include "cbuild/executor/syscall.hpp"

#include "cbuild/util/fd.hpp"
#include "cbuild/util/fs.hpp"

#include <fcntl.h>
#include <linux/openat2.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>

namespace cbuild::executor {
namespace {

constexpr std::string_view k_fd_prefix = "/proc/self/fd/";

int open_in_root(int root, const std::string& rel, int flags) {
  struct open_how how {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, root, rel.empty() ? "." : rel.c_str(), &how,
                                    sizeof how));
}

// Split "/a/b/c" into {"a","b","c"}, dropping empty and "." components.
std::vector<std::string> components(const std::string& path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i < path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string::npos) j = path.size();
    std::string part = path.substr(i, j - i);
    if (!part.empty() && part != ".") out.push_back(std::move(part));
    i = j + 1;
  }
  return out;
}

class LinuxSyscall final : public Syscall {
 public:
  Status mount(const std::string& source, const std::string& target, const std::string& fstype,
               unsigned long flags, const std::string& data) override {
    if (::mount(source.c_str(), target.c_str(), fstype.empty() ? nullptr : fstype.c_str(),
                flags, data.empty() ? nullptr : data.c_str()) != 0)
      return errno_error(fmt::format("mount {} `{}` on `{}` ({})", fstype, source,
                                     display(target), data));
    return {};
  }

  Status bind(const std::string& source, const std::string& target, bool recursive,
              bool readonly) override {
    unsigned flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (recursive ? AT_RECURSIVE : 0);
    UniqueFd tree(::open_tree(AT_FDCWD, source.c_str(), flags));
    if (!tree) return errno_error(fmt::format("open_tree `{}`", source));
    if (readonly) {
      struct mount_attr attr {};
      attr.attr_set = MOUNT_ATTR_RDONLY;
      if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &attr,
                          sizeof attr) != 0)
        return errno_error(fmt::format("make bind of `{}` read-only", source));
    }
    // move_mount does not follow /proc/self/fd magic links: pass such targets as fds.
    int target_fd = AT_FDCWD;
    const char* target_path = target.c_str();
    unsigned move_flags = MOVE_MOUNT_F_EMPTY_PATH;
    if (target.starts_with(k_fd_prefix)) {
      target_fd = std::atoi(target.c_str() + k_fd_prefix.size());
      target_path = "";
      move_flags |= MOVE_MOUNT_T_EMPTY_PATH;
    }
    if (::move_mount(tree.get(), "", target_fd, target_path, move_flags) != 0)
      return errno_error(fmt::format("bind `{}` on `{}`", source, display(target)));
    return {};
  }

  bool is_directory(const std::string& host_path) override {
    struct stat st {};
    return ::stat(host_path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
  }

  Result<std::string> prepare_target(const std::string& rootfs, const std::string& path,
                                     bool directory, std::vector<CreatedPath>& created) override {
    UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!root) return errno_error(fmt::format("open `{}`", rootfs));
    auto parts = components(path);
    std::string rel;
    for (size_t i = 0; i < parts.size(); ++i) {
      std::string next = rel.empty() ? parts[i] : rel + "/" + parts[i];
      bool last = i + 1 == parts.size();
      UniqueFd fd(open_in_root(root.get(), next, O_PATH));
      if (!fd && errno != ENOENT) return errno_error(fmt::format("resolve `{}` in the root", "/" + next));
      if (!fd) TRY(create(root.get(), rel, parts[i], last && !directory, "/" + next, created));
      rel = std::move(next);
    }
    UniqueFd target(open_in_root(root.get(), rel, O_PATH));
    if (!target) return errno_error(fmt::format("resolve `{}` in the root", path));
    std::string name = fmt::format("/proc/self/fd/{}", target.get());
    m_targets.push_back(std::move(target));  // kept open: the mount goes through the fd
    m_names[name] = path;
    return name;
  }

  Status mkdir(const std::string& host_path, mode_t mode) override {
    if (::mkdir(host_path.c_str(), mode) != 0 && errno != EEXIST)
      return errno_error(fmt::format("mkdir `{}`", host_path));
    return {};
  }

  Status symlink(const std::string& link_target, const std::string& host_path) override {
    if (::symlink(link_target.c_str(), host_path.c_str()) != 0)
      return errno_error(fmt::format("symlink `{}`", host_path));
    return {};
  }

  Status write_file(const std::string& host_path, const std::string& content, uint32_t uid,
                    uint32_t gid, mode_t mode) override {
    UniqueFd fd(::open(host_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return errno_error(fmt::format("create `{}`", host_path));
    TRY(write_all(fd.get(), content));
    if (::fchown(fd.get(), uid, gid) != 0)
      return errno_error(fmt::format("chown `{}` to {}:{}", host_path, uid, gid));
    if (::fchmod(fd.get(), mode) != 0) return errno_error(fmt::format("chmod `{}`", host_path));
    return {};
  }

  Status loopback_up() override {
    UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!sock) return errno_error("socket for loopback");
    struct ifreq ifr {};
    std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    if (::ioctl(sock.get(), SIOCGIFFLAGS, &ifr) != 0) return errno_error("get flags of `lo`");
    ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
    if (::ioctl(sock.get(), SIOCSIFFLAGS, &ifr) != 0) return errno_error("bring `lo` up");
    return {};
  }

  Status sethostname(const std::string& name) override {
    if (::sethostname(name.data(), name.size()) != 0)
      return errno_error(fmt::format("sethostname `{}`", name));
    return {};
  }

  // crun's sequence: pivot with both roots as ".", then detach the old one stacked below.
  Status pivot_root(const std::string& rootfs) override {
    UniqueFd old_root(::open("/", O_DIRECTORY | O_PATH | O_CLOEXEC));
    UniqueFd new_root(::open(rootfs.c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC));
    if (!old_root || !new_root) return errno_error(fmt::format("open `{}`", rootfs));
    if (::fchdir(new_root.get()) != 0) return errno_error(fmt::format("chdir `{}`", rootfs));
    if (::syscall(SYS_pivot_root, ".", ".") != 0)
      return errno_error(fmt::format("pivot_root `{}`", rootfs));
    if (::fchdir(old_root.get()) != 0) return errno_error("chdir to the old root");
    if (::mount(nullptr, ".", nullptr, MS_SLAVE | MS_REC, nullptr) != 0)
      return errno_error("make the old root a slave");
    if (::umount2(".", MNT_DETACH) != 0) return errno_error("detach the old root");
    if (::chdir("/") != 0) return errno_error("chdir `/`");
    m_targets.clear();
    return {};
  }

 private:
  // Create `name` in directory `parent_rel` (relative to root), recording the parent's mtime.
  Status create(int root, const std::string& parent_rel, const std::string& name, bool file,
                const std::string& path, std::vector<CreatedPath>& created) {
    UniqueFd parent(open_in_root(root, parent_rel, O_RDONLY | O_DIRECTORY));
    if (!parent) return errno_error(fmt::format("open `/{}` in the root", parent_rel));
    struct stat st {};
    if (::fstat(parent.get(), &st) != 0) return errno_error(fmt::format("stat `/{}`", parent_rel));
    if (file) {
      UniqueFd fd(::openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644));
      if (!fd) return errno_error(fmt::format("create mount point `{}`", path));
    } else if (::mkdirat(parent.get(), name.c_str(), 0755) != 0) {
      return errno_error(fmt::format("create mount point `{}`", path));
    }
    struct stat after {};
    if (::fstat(parent.get(), &after) != 0) return errno_error(fmt::format("stat `/{}`", parent_rel));
    created.push_back({path, !file, st.st_mtim.tv_sec, st.st_mtim.tv_nsec, after.st_mtim.tv_sec,
                       after.st_mtim.tv_nsec});
    return {};
  }

  std::string display(const std::string& target) const {
    auto it = m_names.find(target);
    return it == m_names.end() ? target : it->second;
  }

  std::vector<UniqueFd> m_targets;
  std::map<std::string, std::string> m_names;
};

}  // namespace

std::unique_ptr<Syscall> make_linux_syscall() { return std::make_unique<LinuxSyscall>(); }

}  // namespace cbuild::executor
