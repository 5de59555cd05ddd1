#pragma once
/// The build user namespace's id mapping.
///
/// Every step (and every helper that reads or chowns snapshot files) runs in a user namespace
/// with the same map, so ownership on disk is consistent:
///  - unprivileged user U with subordinate ranges in /etc/subuid, /etc/subgid: container 0 = U,
///    container 1..N = the subordinate ranges in file order (written with newuidmap/newgidmap);
///  - unprivileged user without ranges: container 0 = U only (single-id map, with a warning:
///    chown to other ids fails inside steps);
///  - root: container 0..65535 = root's own /etc/subuid range when it has one, else the fixed
///    range k_root_host_base..k_root_host_base+65535. A step can never act as host root.
#include "cbuild/layer/id_map.hpp"
#include "cbuild/util/result.hpp"

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cbuild::executor {

/// container ids [container, container+count) ↔ host ids [host, host+count): the layer
/// module's range, so one type describes a mapping from the namespace to the layer writer.
using IdRange = layer::IdRange;

/// Host range used for container ids when cbuild runs as root and root has no /etc/subuid entry.
inline constexpr uint32_t k_root_host_base = 1000000;
inline constexpr uint32_t k_root_range_size = 65536;

struct IdMap {
  std::vector<IdRange> uids;
  std::vector<IdRange> gids;
  /// Maps must be written by the setuid helpers newuidmap/newgidmap (unprivileged, subordinate
  /// ranges); otherwise cbuild writes /proc/PID/{uid,gid}_map itself.
  bool use_helpers = false;
  /// Single-id map: setgroups must be denied, and only container id 0 exists.
  bool single = false;
  /// Non-empty when the map is degraded; the caller prints it once.
  std::string warning;

  /// Host id of a container id (nullopt when unmapped).
  std::optional<uint32_t> host_uid(uint32_t container) const;
  std::optional<uint32_t> host_gid(uint32_t container) const;
  /// Container id of a host id (nullopt when unmapped).
  std::optional<uint32_t> container_uid(uint32_t host) const;
  std::optional<uint32_t> container_gid(uint32_t host) const;
  /// Lines as written to /proc/PID/uid_map ("0 1000 1\n1 100000 65536\n").
  static std::string proc_text(const std::vector<IdRange>& ranges);
};

/// Ranges of `user` (name) or `uid` (numeric form) in an /etc/subuid-format text, file order.
std::vector<IdRange> parse_subid(std::string_view text, std::string_view user, uint32_t uid);

/// The map for a process with the given identity, from /etc/subuid and /etc/subgid contents.
IdMap compute_id_map(uint32_t uid, uint32_t gid, std::string_view user_name,
                     std::string_view subuid_text, std::string_view subgid_text);

/// The map for the current process (reads /etc/passwd name, /etc/subuid, /etc/subgid).
/// Computed once per process and cached.
const IdMap& host_id_map();

/// Write the maps of the process `pid` (which has unshared its user namespace).
Status write_id_maps(pid_t pid, const IdMap& map);

}  // namespace cbuild::executor
