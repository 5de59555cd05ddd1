#include "cbuild/executor/user.hpp"

#include <algorithm>
#include <charconv>
#include <optional>

namespace cbuild::executor {
namespace {

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (;;) {
    size_t p = s.find(sep);
    out.push_back(s.substr(0, p));
    if (p == std::string_view::npos) return out;
    s.remove_prefix(p + 1);
  }
}

// Calls fn(fields) for each well-formed line with at least `min_fields` ':'-separated fields.
template <typename Fn>
void for_each_entry(std::string_view text, size_t min_fields, Fn&& fn) {
  for (std::string_view line : split(text, '\n')) {
    if (line.empty() || line.front() == '#') continue;
    auto fields = split(line, ':');
    if (fields.size() >= min_fields) fn(fields);
  }
}

struct PasswdEntry {
  std::string name;
  uint32_t uid = 0, gid = 0;
  std::string home;
};

std::optional<PasswdEntry> find_passwd(std::string_view passwd, std::string_view key) {
  std::optional<PasswdEntry> found;
  auto numeric = parse_id(key);
  for_each_entry(passwd, 6, [&](const std::vector<std::string_view>& f) {
    auto uid = parse_id(f[2]);
    auto gid = parse_id(f[3]);
    if (found || !uid || !gid) return;
    if (f[0] == key || (numeric && *numeric == *uid))
      found = PasswdEntry{std::string(f[0]), *uid, *gid, std::string(f[5])};
  });
  return found;
}

std::optional<uint32_t> find_group(std::string_view group, std::string_view key) {
  std::optional<uint32_t> found;
  for_each_entry(group, 3, [&](const std::vector<std::string_view>& f) {
    auto gid = parse_id(f[2]);
    if (!found && gid && f[0] == key) found = *gid;
  });
  if (!found) found = parse_id(key);
  return found;
}

std::vector<uint32_t> member_groups(std::string_view group, std::string_view user) {
  std::vector<uint32_t> out;
  for_each_entry(group, 4, [&](const std::vector<std::string_view>& f) {
    auto gid = parse_id(f[2]);
    if (!gid) return;
    for (std::string_view member : split(f[3], ','))
      if (member == user) out.push_back(*gid);
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

Result<UserIds> resolve_user(std::string_view spec, std::string_view passwd,
                             std::string_view group) {
  size_t colon = spec.find(':');
  std::string_view user_part = spec.substr(0, colon);
  std::string_view group_part =
      colon == std::string_view::npos ? std::string_view{} : spec.substr(colon + 1);
  if (user_part.empty()) user_part = "0";

  UserIds ids;
  auto entry = find_passwd(passwd, user_part);
  if (entry) {
    ids.uid = entry->uid;
    ids.gid = entry->gid;
    if (!entry->home.empty()) ids.home = entry->home;
  } else if (auto uid = parse_id(user_part)) {
    ids.uid = *uid;
  } else {
    return make_error(ExitCode::bad_input,
                      "unable to find user {}: no matching entries in passwd file", user_part);
  }
  if (!group_part.empty()) {
    auto gid = find_group(group, group_part);
    if (!gid)
      return make_error(ExitCode::bad_input,
                        "unable to find group {}: no matching entries in group file", group_part);
    ids.gid = *gid;
    return ids;
  }
  if (entry) ids.groups = member_groups(group, entry->name);
  return ids;
}

}  // namespace cbuild::executor
