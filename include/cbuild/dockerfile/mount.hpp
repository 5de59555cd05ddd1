#pragma once
/// `RUN --mount=...` specifications, parsed with BuildKit's rules
/// (frontend/dockerfile/instructions/commands_runmount.go): a CSV list of `key=value`
/// fields; types bind (default), cache, tmpfs, secret, ssh.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::dockerfile {

enum class MountType { bind, cache, tmpfs, secret, ssh };
/// How concurrent builds share one cache mount.
enum class CacheSharing { shared, private_, locked };

std::string_view to_string(MountType type);
std::string_view to_string(CacheSharing sharing);

/// One `--mount`. Fields hold what was written; `apply_mount_defaults` fills in what
/// BuildKit derives (ids, targets, modes).
struct MountSpec {
  MountType type = MountType::bind;
  std::string from;    ///< stage name/index or image for bind/cache; empty: context (bind)
  std::string source;  ///< path in `from` (bind/cache); for secrets an alias of id
  std::string target;  ///< mount point in the container (target, dst, destination)
  std::string id;      ///< cache id, secret id, ssh id
  CacheSharing sharing = CacheSharing::shared;
  bool sharing_set = false;
  bool readonly = true;            ///< default: true for bind/secret/ssh, false for cache/tmpfs
  bool required = false;           ///< secret/ssh: fail when not provided
  std::optional<uint32_t> mode;    ///< octal; cache/secret/ssh only
  std::optional<uint32_t> uid;     ///< cache/secret/ssh only
  std::optional<uint32_t> gid;     ///< cache/secret/ssh only
  std::optional<uint64_t> size;    ///< tmpfs size limit in bytes
  std::optional<std::string> env;  ///< secret: expose as this environment variable

  friend bool operator==(const MountSpec&, const MountSpec&) = default;
};

/// Expands one `--mount` value (build args, env); empty function: no expansion.
using MountExpander = std::function<Result<std::string>(std::string_view)>;

/// Parse one `--mount` flag value. With no expander (instruction parsing), values that
/// contain `$` are kept as written and checked later, when the plan expands them.
/// Errors name the offending field, e.g. "unexpected key 'foo' in 'foo=bar'".
Result<MountSpec> parse_mount(std::string_view value, const MountExpander& expand = {});

/// Fill in BuildKit's defaults for a fully expanded mount: relative targets resolve
/// against `workdir`; cache id = target, mode 0755, uid/gid 0; secret id = source or
/// basename(target), target /run/secrets/<id> (unless env is set), mode 0400; ssh id
/// "default", target /run/buildkit/ssh_agent.<ssh_index>, mode 0600.
Result<void> apply_mount_defaults(MountSpec& mount, std::string_view workdir, int ssh_index);

/// Parse a size with units as docker does (`64m`, `1.5GiB`, `1024`; binary multiples).
Result<uint64_t> parse_ram_size(std::string_view text);

}  // namespace cbuild::dockerfile
