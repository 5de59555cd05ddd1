#pragma once
/// The deterministic layer writer: a directory tree → a PAX tar (an OCI layer), streamed
/// once through SHA-256 (the diffID) and, when asked, through a compressor to a sink.
///
/// Tar conventions (version 1; they follow what docker's pkg/archive and BuildKit emit,
/// so layers look like docker's and the same tree always gives the same diffID):
///  - entries in depth-first order, the names of each directory sorted by byte value
///    (Go's filepath.Walk order, used by docker and containerd); a directory comes before
///    its contents; the root itself has no entry; names are relative, without "./";
///    directories end in "/".
///  - libarchive's restricted PAX format: a ustar header, plus a PAX extended header only
///    where ustar cannot hold a field (long names, large ids or sizes, xattrs as
///    `SCHILY.xattr.NAME`). No uname/gname, no atime/ctime.
///  - mtime in whole seconds (sub-second part dropped, as docker does), clamped to
///    `clamp_mtime` (SOURCE_DATE_EPOCH) when given: newer entries get the epoch.
///  - numeric uid/gid: host ids mapped to container ids through `ids`; the xattr
///    `user.containers.override_stat` (see override_stat.hpp) overrides owner, mode and
///    type and is not emitted itself.
///  - regular files, directories, symlinks, hardlinks (a file whose inode was already
///    written becomes a hardlink entry to the first path), char/block devices, fifos;
///    sockets are skipped. All xattrs are kept (e.g. `security.capability`, ACLs) except
///    overlayfs's own (`*.overlay.*`), the override_stat xattr and `security.selinux`
///    (a host label, not image content); they are written sorted by name.
///  - whiteouts are empty regular files, mode 0600, uid/gid 0, with the mtime of their
///    directory (after clamping): identical whether they came from an overlay upperdir or
///    from a diff directory where the snapshotter created `.wh.*` files itself. In a plain
///    tree every name starting with `.wh.` is taken as a whiteout and normalised so.
///  - names are raw bytes: a non-ASCII name gets a PAX `path` record with a per-entry
///    `hdrcharset=BINARY` (libarchive always runs under the "C" locale here, so the bytes
///    never depend on the process locale).
///  - the tar ends with the two zero blocks, no padding to a 10 KiB record (as Go's
///    archive/tar, hence docker and BuildKit, write it).
#include <time.h>

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cbuild/layer/compression.hpp"
#include "cbuild/layer/id_map.hpp"
#include "cbuild/layer/sink.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/fs.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::layer {

/// What the input tree is.
enum class TreeKind {
  /// A full rootfs, or a diff directory in which whiteouts are already files named
  /// `.wh.NAME` / `.wh..wh..opq` (the native snapshotter's output).
  plain,
  /// An overlayfs upperdir: 0/0 character devices and `*.overlay.whiteout` files become
  /// `.wh.NAME`; directories with `*.overlay.opaque` = "y" get a `.wh..wh..opq` entry.
  overlay_upper,
};

/// Regular files hard-linked into a tree directory by directory: `names` in `from` become
/// the same names in `to` (both absolute paths).
struct LinkedDir {
  std::string from;
  std::string to;
  std::vector<std::string> names;
  /// The SHA-256 of each name's data, when known (else empty): the content digest then
  /// takes it instead of hashing the data again.
  std::vector<std::array<uint8_t, 32>> digests;
};

/// Files being linked into the tree while its layer is written (a COPY re-run links the
/// files it reuses on a second thread as the commit writes): the writer lists them as if
/// they were there and reads them from where they are linked from, and takes the mtimes
/// the directories had before linking touched them. The layer is that of the tree once
/// linked and its directory times restored.
struct PendingFiles {
  struct Dir {
    std::string from;                ///< absolute
    std::vector<std::string> names;  ///< regular files, not yet (or already) in the tree
    std::vector<std::array<uint8_t, 32>> digests;  ///< their data's SHA-256 (LinkedDir), or empty
    timespec mtime{};  ///< the directory's, before linking: the one to write
  };
  /// By directory relative to the root with a trailing slash ("" for the root, "a/b/").
  std::map<std::string, Dir> dirs;

  /// The files of `links`, whose `to` directories must lie in `root`, and the directories'
  /// current mtimes (taken before any link is made).
  static Result<PendingFiles> of(const fs::path& root, const std::vector<LinkedDir>& links);

  /// The files of `base` that show through a tree `own` stacked on it as an overlay lower
  /// directory (a snapshot holding only what differs from its base: see
  /// snapshot::Snapshotter::commit): in each directory of `own` that `base` has too, the
  /// regular files of `base` that `own` lacks. The layer of `own` with them is that of the
  /// stack. Null when the stack would show more than `own` and these files: a directory of
  /// `base` is not one in `own`, a directory on either side is opaque, or `base` has
  /// something other than a regular file that `own` lacks (a symlink, a whiteout...).
  static Result<std::optional<PendingFiles>> derived(const fs::path& own, const fs::path& base);

  /// Whether both list the same names in the same directories (digests, mtimes and where
  /// the files are read from aside).
  bool same_names(const PendingFiles& other) const;
};

struct WriteOptions {
  TreeKind kind = TreeKind::plain;
  /// Paths relative to the root (no leading "/", e.g. "proc", "etc/hosts") left out of
  /// the layer with everything below them: mount points the executor created.
  std::vector<std::string> exclude;
  /// SOURCE_DATE_EPOCH: entries with a later mtime get this one.
  std::optional<int64_t> clamp_mtime;
  /// Host → container id translation of on-disk owners. Empty: ids unchanged.
  IdMapping ids;
  /// Compression of the stream sent to the sink (Compression::none: the tar itself).
  CompressionOptions compression{Compression::none};
  /// Files linked in while the tree is written (see PendingFiles); none when null.
  const PendingFiles* pending = nullptr;
};

/// What a write produced.
struct LayerDigests {
  Digest diff_id;         ///< sha256 of the uncompressed tar
  uint64_t tar_size = 0;  ///< uncompressed tar size
  uint64_t entries = 0;   ///< tar entries written (whiteouts included)
  Compression compression = Compression::none;
  Digest blob_digest;      ///< sha256 of what went to the sink (== diff_id when none)
  uint64_t blob_size = 0;  ///< bytes sent to the sink
};

/// Writes the layer for the tree at `root` to `out`, compressed as `options.compression`
/// says, computing diffID and blob digest in the same pass.
Result<LayerDigests> write_layer(const fs::path& root, const WriteOptions& options, ByteSink& out);

/// The fast path for committing to the local store: the diffID of the layer
/// `write_layer` would produce, with no output (the tar is only hashed). File data is
/// read in large blocks straight into the buffers a second thread hashes (OpenSSL
/// SHA-256, SHA-NI), so reading and hashing overlap and nothing is copied in user space.
/// `options.compression` is ignored; blob fields of the result are empty.
Result<LayerDigests> layer_diff_id(const fs::path& root, const WriteOptions& options);

/// The diffID of a layer and its content digest, which two runs writing the same files at
/// different times share: SHA-256 over each entry's tar fields but the mtime (name, type,
/// mode, owner, size, link targets, device numbers, xattrs), each regular file's followed
/// by the SHA-256 of its data (from PendingFiles::Dir::digests when given).
struct LayerIdentity {
  LayerDigests layer;  ///< as layer_diff_id gives it
  Digest content;
};
/// Both digests in one pass over the tree (each file read once, its bytes hashed twice,
/// the second time on another thread).
Result<LayerIdentity> layer_identity(const fs::path& root, const WriteOptions& options);

}  // namespace cbuild::layer
