#pragma once
/// USER resolution against a root filesystem's /etc/passwd and /etc/group, with Docker's
/// (runc's) rules:
///  - "" means root; `name`, `uid`, `name:group`, `uid:gid`, `name:gid`, `uid:group`;
///  - a name must exist in /etc/passwd; a numeric uid need not (primary gid is then 0);
///  - a group given explicitly replaces the primary gid and drops supplementary groups;
///    otherwise the supplementary groups are every /etc/group entry listing the user's name.
#include "cbuild/util/result.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::executor {

struct UserIds {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups;  ///< supplementary groups, sorted, without duplicates
  std::string home = "/";        ///< from /etc/passwd ("/" when unknown)
  bool operator==(const UserIds&) const = default;
};

/// Resolve `spec` given the texts of /etc/passwd and /etc/group (either may be empty).
Result<UserIds> resolve_user(std::string_view spec, std::string_view passwd,
                             std::string_view group);

}  // namespace cbuild::executor
