#pragma once
/// The `user.containers.override_stat` xattr (format of containers/storage and
/// fuse-overlayfs): where an unprivileged process cannot chown a file or create a device,
/// the owner, mode and type the file should have are recorded here instead.
///
/// Format (version 1, as containers/storage writes it): `UID:GID:MODE[:TYPE]`
///   UID, GID  decimal container ids (the ids inside the layer, not host ids)
///   MODE      octal permission bits, usually with a leading 0 ("0755"); if it carries
///             S_IFMT bits and TYPE is absent, those give the type (fuse-overlayfs style)
///   TYPE      file | dir | symlink | pipe | socket | block-MAJOR-MINOR | char-MAJOR-MINOR
///             (absent: the type of the file on disk)
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "cbuild/util/result.hpp"

namespace cbuild::layer {

constexpr std::string_view k_override_stat_xattr = "user.containers.override_stat";

struct OverrideStat {
  uint32_t uid = 0;
  uint32_t gid = 0;
  mode_t mode = 0;             ///< permission bits (07777)
  std::optional<mode_t> type;  ///< S_IFREG, S_IFDIR, ...; nullopt: keep the on-disk type
  uint32_t rdev_major = 0;     ///< for S_IFCHR / S_IFBLK
  uint32_t rdev_minor = 0;

  static Result<OverrideStat> parse(std::string_view text);
  /// Always writes the TYPE field when `type` is set.
  std::string format() const;
};

}  // namespace cbuild::layer
