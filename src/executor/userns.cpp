#include "cbuild/executor/userns.hpp"

#include "cbuild/util/fs.hpp"
#include "spawn.hpp"

#include <sched.h>
#include <unistd.h>

namespace cbuild::executor {

Result<std::string> run_in_userns(const std::function<Result<std::string>()>& fn,
                                  const IdMap* map, int extra_namespaces) {
  Pipe result = TRY(Pipe::create());
  pid_t pid = TRY(spawn_in_namespaces(CLONE_NEWUSER | extra_namespaces, map ? *map : host_id_map(), [&]() -> int {
    result.read.reset();
    Result<std::string> r = fn();
    std::string msg = (r.ok() ? "1" : "0") + (r.ok() ? r.value() : r.error().message);
    return write_all(result.write.get(), msg).ok() && r.ok() ? 0 : 1;
  }));
  result.write.reset();
  std::string out = read_all(result.read.get());
  int code = wait_exit_code(pid);
  if (out.empty()) return make_error("helper in the build user namespace died (exit code {})", code);
  if (out[0] == '0') return make_error("{}", out.substr(1));
  return out.substr(1);
}

Status own_for_container(const std::filesystem::path& dir, const IdMap* map) {
  if (::geteuid() != 0) return {};
  const IdMap& m = map ? *map : host_id_map();
  if (::chown(dir.c_str(), *m.host_uid(0), *m.host_gid(0)) != 0)
    return errno_error(fmt::format("chown `{}`", dir.string()));
  return {};
}

Status remove_tree_mapped(const std::filesystem::path& path, const IdMap* map) {
  std::error_code ec;
  if (::geteuid() != 0 && std::filesystem::exists(path, ec)) {
    TRY(run_in_userns(
        [&]() -> Result<std::string> {
          std::error_code iter_ec;
          for (const auto& entry : std::filesystem::directory_iterator(path, iter_ec))
            TRY(remove_tree(entry.path()));
          if (iter_ec) return make_error("list `{}`: {}", path.string(), iter_ec.message());
          return std::string();
        },
        map));
  }
  return remove_tree(path);
}

}  // namespace cbuild::executor
