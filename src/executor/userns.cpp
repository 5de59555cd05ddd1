#include "cbuild/executor/userns.hpp"

#include "cbuild/util/fs.hpp"
#include "spawn.hpp"

#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <exception>

namespace cbuild::executor {

Result<std::string> run_in_userns(const std::function<Result<std::string>()>& fn,
                                  const IdMap* map, int extra_namespaces) {
  auto lock = lock_child_pipes();
  Pipe result = TRY(Pipe::create());
  pid_t pid = TRY(spawn_in_namespaces(CLONE_NEWUSER | extra_namespaces, map ? *map : host_id_map(), [&]() -> int {
    result.read.reset();
    Result<std::string> r = make_error("helper in the build user namespace failed");
    try {
      r = fn();
    } catch (const std::exception& e) {
      r = make_error("{}", e.what());
    }
    std::string msg = (r.ok() ? "1" : "0") + (r.ok() ? r.value() : r.error().message);
    return write_all(result.write.get(), msg).ok() && r.ok() ? 0 : 1;
  }));
  result.write.reset();
  lock.unlock();
  std::string out = read_all(result.read.get());
  int code = wait_exit_code(pid);
  if (out.empty()) return make_error("helper in the build user namespace died (exit code {})", code);
  if (out[0] == '0') return make_error("{}", out.substr(1));
  return out.substr(1);
}

Status own_for_container(const std::filesystem::path& path, const IdMap* map) {
  if (::geteuid() != 0) return {};
  const IdMap& m = map ? *map : host_id_map();
  if (::lchown(path.c_str(), *m.host_uid(0), *m.host_gid(0)) != 0)
    return errno_error(fmt::format("chown `{}`", path.string()));
  return {};
}

Status set_container_owner(const std::filesystem::path& path, uint32_t uid, uint32_t gid,
                           mode_t mode, const IdMap* map) {
  const IdMap& m = map ? *map : host_id_map();
  if (::geteuid() == 0) {
    auto host_uid = m.host_uid(uid), host_gid = m.host_gid(gid);
    if (!host_uid || !host_gid) return make_error("owner {}:{} of `{}` is not mapped", uid, gid, path.string());
    if (::lchown(path.c_str(), *host_uid, *host_gid) != 0)
      return errno_error(fmt::format("chown `{}`", path.string()));
  } else if (uid != 0 || gid != 0) {
    TRY(run_in_userns(
        [&]() -> Result<std::string> {
          if (::lchown(path.c_str(), uid, gid) != 0)
            return errno_error(fmt::format("chown `{}` to {}:{}", path.string(), uid, gid));
          if (::chmod(path.c_str(), mode) != 0) return errno_error(fmt::format("chmod `{}`", path.string()));
          return std::string();
        },
        &m));
    return {};
  }
  if (::chmod(path.c_str(), mode) != 0) return errno_error(fmt::format("chmod `{}`", path.string()));
  return {};
}

Status remove_tree_mapped(const std::filesystem::path& path, const IdMap* map) {
  std::error_code ec;
  // Entries of a directory need the namespace; the directory (or a lone file) itself only
  // needs write access to its parent.
  if (::geteuid() != 0 && std::filesystem::is_directory(std::filesystem::symlink_status(path, ec))) {
    TRY(run_in_userns(
        [&]() -> Result<std::string> {
          std::error_code iter_ec;
          for (const auto& entry : std::filesystem::directory_iterator(path, iter_ec))
            TRY(remove_tree(entry.path()));
          if (iter_ec) return make_error("list `{}`: {}", path.string(), iter_ec.message());
          return std::string();
        },
        map));
    // Now empty; it may be unreadable for us (a subordinate owner), so no directory walk.
    if (::rmdir(path.c_str()) != 0) return errno_error(fmt::format("remove `{}`", path.string()));
    return {};
  }
  return remove_tree(path);
}

}  // namespace cbuild::executor
