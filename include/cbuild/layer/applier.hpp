#pragma once
/// The layer applier: unpacks a layer (tar; gzip, zstd, bzip2, xz or uncompressed,
/// detected from the content) onto a directory, safely, and returns its diffID.
///
/// Safety rules (checked for every entry; a violation is an error naming the archive
/// and the entry, and nothing is ever created outside the target):
///  - names are relative: a leading "./" is dropped (an entry for the root itself, "." or
///    "./", is skipped: the target keeps its own mode and owner); absolute names and names with a
///    ".." component are rejected (containerd would resolve "/x" inside the root; issue
///    3 asks for an error, and no well-formed layer has one);
///  - every parent directory is resolved inside the target with
///    openat2(RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS): an entry
///    below a symlink (e.g. `etc -> /etc` then `etc/passwd`) is rejected rather than
///    followed — writers walk real directories, so no well-formed layer has one;
///  - the entry's own name is never followed: an existing file there is replaced;
///  - hardlink targets are resolved the same way and must exist inside the target.
///
/// Names are used as raw bytes (a UTF-8 PAX name that libarchive cannot convert to the "C"
/// locale is kept as is). Xattrs `*.overlay.*`, `user.containers.override_stat` and
/// `security.selinux` in a layer are ignored: a layer must not forge overlayfs metadata.
/// Directory modes and times are set at the end, so read-only directories can be filled.
///
/// Whiteouts: `.wh.NAME` removes NAME; `.wh..wh..opq` removes what the directory held
/// before this layer (entries of this layer stay). With `whiteouts = overlay_*` they are
/// instead stored in overlayfs form (0/0 char device; `*.overlay.opaque` = "y"), for an
/// unpacked layer that will be an overlay lowerdir (a 0/0 char device may be created
/// unprivileged since Linux 5.8; `overlay_user` needs no privilege at all).
///
/// Ownership: container ids from the tar are mapped to host ids through `ids`. When
/// chown or mknod is refused (EPERM, unprivileged) and `strict` is off, the wanted owner,
/// mode and device are recorded in `user.containers.override_stat` (a device becomes an
/// empty regular file) so the layer writer reproduces the entry faithfully. Symlinks
/// cannot carry user xattrs: their ownership is then lost and counted.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "cbuild/layer/compression.hpp"
#include "cbuild/layer/id_map.hpp"
#include "cbuild/layer/whiteout.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::layer {

/// How whiteouts in the layer are applied.
enum class WhiteoutMode {
  remove,           ///< delete what they hide (unpacking onto a merged tree)
  overlay_trusted,  ///< keep as overlayfs whiteouts, opaque xattr `trusted.overlay.opaque`
  overlay_user,     ///< keep as overlayfs whiteouts, opaque xattr `user.overlay.opaque`
};

/// Progress so far, passed to `ApplyOptions::progress` after every entry.
struct ApplyProgress {
  uint64_t entries = 0;
  uint64_t bytes = 0;  ///< uncompressed tar bytes consumed
};

struct ApplyOptions {
  /// Container → host id translation. Empty: ids unchanged.
  IdMapping ids;
  WhiteoutMode whiteouts = WhiteoutMode::remove;
  /// Fail when ownership, a device or an xattr cannot be applied, instead of recording
  /// it in `user.containers.override_stat` (or dropping it, for xattrs).
  bool strict = false;
  std::function<void(const ApplyProgress&)> progress;
};

struct ApplyResult {
  Digest diff_id;         ///< sha256 of the decompressed stream
  uint64_t tar_size = 0;  ///< decompressed bytes
  uint64_t entries = 0;
  uint64_t overrides_recorded = 0;         ///< entries whose owner/mode/device went to the xattr
  uint64_t ownership_lost = 0;             ///< symlinks whose owner could be neither set nor recorded
  uint64_t xattrs_dropped = 0;             ///< xattrs refused by the kernel (e.g. security.* unprivileged)
  std::optional<Compression> compression;  ///< detected; nullopt for bzip2, xz, lzma
};

/// What a layer archive decompresses to, without unpacking it.
struct ArchiveDigest {
  Digest diff_id;                          ///< sha256 of the decompressed stream
  uint64_t tar_size = 0;                   ///< decompressed bytes
  std::optional<Compression> compression;  ///< detected; nullopt for bzip2, xz, lzma
};

/// The diffID of a (possibly compressed) layer file, e.g. to check a loaded or imported
/// blob against a config's rootfs.diff_ids. Reads the whole file; does not parse the tar.
Result<ArchiveDigest> archive_diff_id(const fs::path& archive);
/// Same, reading `fd` to its end (not closed). `name` is used in messages.
Result<ArchiveDigest> archive_diff_id_fd(int fd, std::string_view name);

/// Applies the layer in the file `archive` onto the existing directory `target`.
Result<ApplyResult> apply_layer(const fs::path& archive, const fs::path& target,
                                const ApplyOptions& options = {});

/// Same, reading from `fd` (not closed; read to its end). `name` is used in messages.
Result<ApplyResult> apply_layer_fd(int fd, std::string_view name, const fs::path& target,
                                   const ApplyOptions& options = {});

/// An archive entry name made relative: "./a//b/" → "a/b"; "." and "./" → "". Errors
/// (bad_input): absolute names, ".." components, names longer than PATH_MAX.
Result<std::string> clean_entry_name(std::string_view name);

}  // namespace cbuild::layer
