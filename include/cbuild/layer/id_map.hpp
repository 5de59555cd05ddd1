#pragma once
/// Mapping between container ids (as stored in layer tars) and host ids (as stored on
/// disk in snapshots), in the form of /proc/<pid>/uid_map lines.
#include <cstdint>
#include <optional>
#include <vector>

namespace cbuild::layer {

/// One uid_map/gid_map line: `count` ids from `container` map to ids from `host`.
struct IdRange {
  uint32_t container = 0;
  uint32_t host = 0;
  uint32_t count = 0;
  bool operator==(const IdRange&) const = default;
};

/// A set of ranges. Empty means identity (ids are written and applied unchanged).
struct IdMap {
  std::vector<IdRange> ranges;

  /// The common case: container id N is host id `base + N`, for `count` ids.
  static IdMap shift(uint32_t base, uint32_t count = 65536) { return {{{0, base, count}}}; }
  bool identity() const { return ranges.empty(); }
  /// Host id → container id; nullopt when the host id is outside every range.
  std::optional<uint32_t> to_container(uint32_t host) const;
  /// Container id → host id; nullopt when the container id is outside every range.
  std::optional<uint32_t> to_host(uint32_t container) const;
};

/// Both maps of a user namespace.
struct IdMapping {
  IdMap uids;
  IdMap gids;
};

/// The id the kernel shows for unmapped ids (/proc/sys/kernel/overflowuid); the writer
/// records files owned by a host id outside the map as owned by it, as a process in the
/// user namespace would see them.
constexpr uint32_t k_overflow_id = 65534;

}  // namespace cbuild::layer
