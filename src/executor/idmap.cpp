#include "cbuild/executor/idmap.hpp"

#include "cbuild/util/fs.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>

namespace cbuild::executor {
namespace {

std::optional<uint32_t> parse_u32(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// An empty layer::IdMap means identity; an empty namespace map means nothing is mapped.
std::optional<uint32_t> translate(const std::vector<IdRange>& ranges, uint32_t id, bool to_host) {
  if (ranges.empty()) return std::nullopt;
  layer::IdMap map{ranges};
  return to_host ? map.to_host(id) : map.to_container(id);
}

// Container 0 = the user itself, then the subordinate ranges packed from container id 1.
std::vector<IdRange> rootless_ranges(uint32_t self, const std::vector<IdRange>& sub) {
  std::vector<IdRange> out{{0, self, 1}};
  uint32_t next = 1;
  for (const IdRange& r : sub) {
    out.push_back({next, r.host, r.count});
    next += r.count;
  }
  return out;
}

std::vector<IdRange> root_ranges(const std::vector<IdRange>& sub) {
  if (!sub.empty()) return {{0, sub.front().host, sub.front().count}};
  return {{0, k_root_host_base, k_root_range_size}};
}

Status run_helper(const char* helper, pid_t pid, const std::vector<IdRange>& ranges) {
  std::vector<std::string> args{helper, std::to_string(pid)};
  for (const IdRange& r : ranges) {
    args.push_back(std::to_string(r.container));
    args.push_back(std::to_string(r.host));
    args.push_back(std::to_string(r.count));
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t child = ::fork();
  if (child < 0) return errno_error(fmt::format("fork for {}", helper));
  if (child == 0) {
    ::execvp(helper, argv.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    return make_error("{} {} failed (status {}): is the uidmap package installed and are "
                      "/etc/subuid and /etc/subgid valid?",
                      helper, pid, status);
  return {};
}

Status write_proc(pid_t pid, const char* file, std::string_view text) {
  std::string path = fmt::format("/proc/{}/{}", pid, file);
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open `{}`", path));
  if (::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
    return errno_error(fmt::format("write `{}`", path));
  return {};
}

}  // namespace

std::optional<uint32_t> IdMap::host_uid(uint32_t c) const { return translate(uids, c, true); }
std::optional<uint32_t> IdMap::host_gid(uint32_t c) const { return translate(gids, c, true); }
std::optional<uint32_t> IdMap::container_uid(uint32_t h) const { return translate(uids, h, false); }
std::optional<uint32_t> IdMap::container_gid(uint32_t h) const { return translate(gids, h, false); }

std::string IdMap::proc_text(const std::vector<IdRange>& ranges) {
  std::string out;
  for (const IdRange& r : ranges) out += fmt::format("{} {} {}\n", r.container, r.host, r.count);
  return out;
}

std::vector<IdRange> parse_subid(std::string_view text, std::string_view user, uint32_t uid) {
  std::vector<IdRange> out;
  std::string uid_text = std::to_string(uid);
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    size_t c1 = line.find(':');
    size_t c2 = c1 == std::string_view::npos ? c1 : line.find(':', c1 + 1);
    if (c2 == std::string_view::npos || line.starts_with('#')) continue;
    std::string_view name = line.substr(0, c1);
    if (name != user && name != uid_text) continue;
    auto start = parse_u32(line.substr(c1 + 1, c2 - c1 - 1));
    auto count = parse_u32(line.substr(c2 + 1));
    if (start && count && *count > 0) out.push_back({0, *start, *count});
  }
  return out;
}

IdMap compute_id_map(uint32_t uid, uint32_t gid, std::string_view user_name,
                     std::string_view subuid_text, std::string_view subgid_text) {
  IdMap map;
  auto subuids = parse_subid(subuid_text, user_name, uid);
  auto subgids = parse_subid(subgid_text, user_name, uid);
  if (uid == 0) {
    map.uids = root_ranges(subuids);
    map.gids = root_ranges(subgids);
    return map;
  }
  if (subuids.empty() || subgids.empty()) {
    map.uids = {{0, uid, 1}};
    map.gids = {{0, gid, 1}};
    map.single = true;
    map.warning = fmt::format(
        "warning: no subordinate id range for user `{}` in /etc/subuid and /etc/subgid: steps "
        "run with a single-id user namespace (chown to other ids will fail); add a range such "
        "as `{}:100000:65536` to both files",
        user_name, user_name);
    return map;
  }
  map.uids = rootless_ranges(uid, subuids);
  map.gids = rootless_ranges(gid, subgids);
  map.use_helpers = true;
  return map;
}

const IdMap& host_id_map() {
  static const IdMap map = [] {
    uid_t uid = ::geteuid();
    std::string name;
    if (struct passwd* pw = ::getpwuid(uid)) name = pw->pw_name;
    return compute_id_map(uid, ::getegid(), name, read_file("/etc/subuid").value_or(""),
                          read_file("/etc/subgid").value_or(""));
  }();
  return map;
}

Status write_id_maps(pid_t pid, const IdMap& map) {
  if (map.use_helpers) {
    TRY(run_helper("newuidmap", pid, map.uids));
    return run_helper("newgidmap", pid, map.gids);
  }
  if (map.single) TRY(write_proc(pid, "setgroups", "deny"));
  TRY(write_proc(pid, "uid_map", IdMap::proc_text(map.uids)));
  return write_proc(pid, "gid_map", IdMap::proc_text(map.gids));
}

}  // namespace cbuild::executor
