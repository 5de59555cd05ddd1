#include "cbuild/layer/override_stat.hpp"

#include <sys/stat.h>

#include <array>
#include <charconv>
#include <utility>
#include <vector>

namespace cbuild::layer {

namespace {

struct TypeName {
  std::string_view name;
  mode_t type;
};
constexpr std::array<TypeName, 5> k_plain_types{{
    {"file", S_IFREG},
    {"dir", S_IFDIR},
    {"symlink", S_IFLNK},
    {"pipe", S_IFIFO},
    {"socket", S_IFSOCK},
}};
constexpr std::array<TypeName, 2> k_device_types{{{"block", S_IFBLK}, {"char", S_IFCHR}}};

std::vector<std::string_view> split(std::string_view text, char sep) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || text[i] == sep) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  return parts;
}

bool parse_number(std::string_view text, uint32_t& out, int base) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && ptr == text.data() + text.size();
}

bool parse_type(std::string_view text, OverrideStat& st) {
  for (const auto& t : k_plain_types)
    if (text == t.name) {
      st.type = t.type;
      return true;
    }
  for (const auto& t : k_device_types) {
    if (!text.starts_with(t.name) || text.size() <= t.name.size() || text[t.name.size()] != '-') continue;
    auto nums = split(text.substr(t.name.size() + 1), '-');
    if (nums.size() != 2 || !parse_number(nums[0], st.rdev_major, 10) ||
        !parse_number(nums[1], st.rdev_minor, 10))
      return false;
    st.type = t.type;
    return true;
  }
  return false;
}

}  // namespace

Result<OverrideStat> OverrideStat::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return make_error(ExitCode::bad_input, "invalid {} value `{}`: {}", k_override_stat_xattr, text, why);
  };
  auto parts = split(text, ':');
  if (parts.size() != 3 && parts.size() != 4) return bad("want UID:GID:MODE[:TYPE]");
  OverrideStat st;
  uint32_t mode = 0;
  if (!parse_number(parts[0], st.uid, 10) || !parse_number(parts[1], st.gid, 10))
    return bad("uid and gid must be decimal numbers");
  if (!parse_number(parts[2], mode, 8)) return bad("mode must be an octal number");
  st.mode = mode & 07777;
  if (parts.size() == 4) {
    if (!parse_type(parts[3], st)) return bad("unknown file type");
  } else if (mode & S_IFMT) {
    st.type = mode & S_IFMT;
  }
  return st;
}

std::string OverrideStat::format() const {
  std::string text = fmt::format("{}:{}:0{:o}", uid, gid, mode & 07777);
  if (!type) return text;
  for (const auto& t : k_plain_types)
    if (*type == t.type) return text + ":" + std::string(t.name);
  for (const auto& t : k_device_types)
    if (*type == t.type) return fmt::format("{}:{}-{}-{}", text, t.name, rdev_major, rdev_minor);
  return text;
}

}  // namespace cbuild::layer
