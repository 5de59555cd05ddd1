#pragma once
/// COPY and ADD as Docker (BuildKit) performs them: placing selected source files into a
/// step's root filesystem with the destination rules, ownership, modes and mtimes Docker
/// gives them. The caller has already chosen the files (context::select_files, on the build
/// context or on a mounted stage/image root) and hashed them for the cache key; this module
/// only writes.
///
/// Destination rules (as `docker build` with BuildKit):
///  - `dest` is absolute or relative to the stage's WORKDIR; `dest` ending in "/" (or "/."
///    or being ".") names a directory.
///  - one source naming a single non-directory (`single_file`): copied to `dest` itself,
///    unless `dest` names a directory (trailing slash, or an existing directory in the
///    root, symlinks resolved inside the root), then to `dest/<name>`;
///  - otherwise (a directory source, several sources, wildcards) `dest` is a directory and
///    each file goes to `dest/<rel>` where `rel` is the file's path relative to its source
///    (what context::SelectedFile::dest holds). Several sources into a `dest` without a
///    trailing slash is the error Docker gives ("When using COPY with more than one source
///    file, the destination must be a directory and end with a /"), reported by the caller
///    (the plan knows the instruction).
///  - missing parent directories of the destination are created with mode 0755, owned by
///    the `--chown` owner when given, else 0:0; existing directories on the way keep their
///    mode, owner and times. A path component of `dest` that is a symlink is followed
///    inside the root (an absolute target starts at the root, ".." stops there), as is
///    `dest` itself; below `dest` (inside the copied tree) symlinks are never followed.
///  - an existing non-directory at a target (a symlink included) is replaced; an existing
///    directory where a file goes, or a non-directory where a directory goes, is an error
///    naming the path; a directory onto an existing directory merges (and, as in
///    BuildKit, takes the source directory's owner, mode and mtime).
///  - symlinks are copied as symlinks, fifos and devices recreated (a device refused to an
///    unprivileged process becomes an empty file described in override_stat), sockets
///    skipped. Inline content becomes a regular file, mode 0644 unless `--chmod`.
/// Metadata of what is copied: owner = the `--chown` owner, else 0:0 (never the source
/// owner; ADD-extracted archives keep the owners in the archive unless `--chown`); mode =
/// the source's permission bits (setuid/setgid/sticky included), or `--chmod` for files and
/// directories alike; mtime = the source's (Docker preserves them); xattrs copied except
/// `*.overlay.*`, `user.containers.override_stat` and `security.selinux`. Directories inside
/// a copied tree get the source directory's mode and mtime (set after their contents).
///
/// Ownership on disk: files are created by the calling process, which runs either as real
/// root (host ids) or as root of the build user namespace. `ids` maps container ids to the
/// ids to chown to (identity when empty). Where chown is refused (EPERM: a single-id map),
/// the wanted owner and mode go to `user.containers.override_stat`, as the layer applier does.
#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "cbuild/layer/id_map.hpp"
#include "cbuild/layer/writer.hpp"
#include "cbuild/util/digest.hpp"
#include "cbuild/util/result.hpp"

namespace cbuild::build {

namespace fs = std::filesystem;

/// One thing to place: a file on disk or inline content (heredoc, downloaded URL).
struct CopyItem {
  /// Absolute path on disk; empty when `content` is set. A symlink here is copied as a
  /// symlink: the caller resolves a source the instruction names. (A string: 20,000
  /// fs::path objects, each split into components, cost a big COPY's re-run more than
  /// deciding which of its files to reuse.)
  std::string source;
  std::optional<std::string> content;  ///< inline file content (a regular file, mode 0644)
  std::string rel;                     ///< path relative to the destination directory ("a/b.txt")
  int64_t mtime_sec = -1;              ///< for inline content: mtime (-1: the epoch, 0)
  /// The file was found inside a directory source (`ADD dir/ /d/`): ADD extracts only
  /// archives named by a source itself (or a wildcard match), as BuildKit does.
  bool in_directory = false;
  /// The SHA-256 of a regular source's data, from the context checksum, when known: a
  /// reused file's layer entry takes it instead of hashing the data again.
  const std::array<uint8_t, 32>* digest = nullptr;
};

/// Resolved `--chown` owner (container ids).
struct CopyOwner {
  uint32_t uid = 0;
  uint32_t gid = 0;
};

/// Files of the previous result of the same step that a re-run may take instead of copying
/// again (a big COPY where one source changed costs what changed, not the whole tree).
/// Overlay roots only: new files go to the step's upper directory.
struct CopyReuse {
  std::string snapshot;  ///< the previous result
  fs::path previous;     ///< its snapshot directory
  /// The directory of the snapshot it is stacked on, if any (snapshot::CommitLinks): files
  /// not in `previous` are there.
  fs::path previous_base;
  fs::path upper;     ///< the step's upper directory
  /// `CopyItem::rel` of the sources whose content and metadata (mtimes aside) equal what the
  /// previous result copied. A file is reused only when, besides, its copy in `previous` has
  /// the size, mtime, mode and owner this copy would give it and neither has xattrs, and
  /// nothing is at its target in the root. Those checks are skipped, with `same_parent`, for
  /// a source untouched since the previous result was copied (the same inode and ctime as
  /// then): the value is then its size, else -1.
  std::unordered_map<std::string, int64_t> unchanged;
  /// The previous result was copied by the same instruction onto a parent with the same
  /// content: what is at a target in the root was there for that copy too, so targets are
  /// not looked up (unless two items share one).
  bool same_parent = false;
};

/// Files left for `link_reused`, by directory: `names` in `from` (in CopyReuse::previous)
/// are linked into `to` (in CopyReuse::upper).
using ReusedDir = layer::LinkedDir;

struct CopyRequest {
  std::vector<CopyItem> items;
  std::string dest;           ///< as written (after expansion)
  std::string workdir = "/";  ///< the stage's WORKDIR, for a relative dest
  bool single_file = false;   ///< one source that is not a directory (see rules above)
  std::optional<CopyOwner> chown;
  std::optional<mode_t> chmod;  ///< permission bits (07777)
  /// ADD: a local regular file whose content is a tar archive with at least one entry
  /// (plain, gzip, bzip2, xz or zstd, detected from the content, never the name, as Docker
  /// does) is extracted into the destination directory (created, even without a trailing
  /// slash) instead of copied. As docker's chrooted untar: entries keep the archive's
  /// mode, mtime, xattrs and owner (the `--chown` owner when given; `--chmod` does not
  /// apply); whatever is in the way of an entry is replaced unless both are directories;
  /// whiteouts are plain files; symlinks on an entry's parent path are followed inside
  /// the destination, never outside it. Absolute names and ".." components are errors
  /// (docker would resolve them inside). Inline content and `in_directory` files are
  /// never extracted.
  bool extract_archives = false;
  /// Without `chown`, copied entries keep the owner they have in the source instead of 0:0
  /// (COPY --from a stage or an image, as BuildKit does); on-disk ids are mapped back to
  /// container ids through `ids`. Created parent directories still get 0:0.
  bool keep_owner = false;
  layer::IdMapping ids;  ///< container → on-disk ids for chown (empty: identity)
  const CopyReuse* reuse = nullptr;  ///< unchanged files to take from the previous result
};

struct CopyStats {
  uint64_t files = 0;
  uint64_t bytes = 0;
  uint64_t archives_extracted = 0;
  /// With `CopyRequest::reuse`: files not copied but left for `link_reused` (counted in
  /// `files`, `bytes` and `files_reused`).
  std::vector<ReusedDir> reused;
  uint64_t files_reused = 0;
};

/// Hard-links each reused file into the upper directory (a copy with the same metadata
/// where a link is refused, e.g. at the link limit), keeping the times of the directories
/// linked into. Call once the overlay root is unmounted (the builder links while the
/// commit writes the layer: snapshot::CommitLinks).
Status link_reused(const std::vector<ReusedDir>& dirs);
/// A regular file copied to the new path `to` with its owner, mode and times (where a hard
/// link is refused or would share what must not be shared).
Status copy_with_metadata(const fs::path& from, const fs::path& to);

/// The reused files in one string (a child process's result) and back.
std::string reused_to_bytes(const std::vector<ReusedDir>& dirs);
Result<std::vector<ReusedDir>> reused_from_bytes(std::string_view bytes);

/// Place `request.items` into the root filesystem at `root` (a mounted or plain directory
/// the caller may write). Errors name the source or destination path.
Result<CopyStats> copy_into(const fs::path& root, const CopyRequest& request);

/// Parse `--chmod`: octal ("755", "0644") or symbolic ("u+x,go-w", applied to 0644 files /
/// 0755 dirs as BuildKit does only for octal; symbolic is rejected with a clear error).
Result<mode_t> parse_chmod(std::string_view text);

/// ADD of an http(s) URL: download `url` (libcurl; up to 10 redirects followed, http and
/// https only; proxies from the environment) to a new file in `dir`, mode 0600 as BuildKit
/// creates it. The file name is the last element of the original URL's decoded path, as
/// dockerfile2llb names it ("__unnamed__" when there is none). Its mtime is Last-Modified
/// when the server sends one, else the epoch (BuildKit's http source does the same, so the
/// layer does not depend on the build time). With `checksum` ("sha256:<hex>") the content
/// must match, else an error naming the URL and both digests and nothing is kept. Errors
/// name the URL and the HTTP status ("HTTP status 404 (Not Found)"; exit code not_found
/// for 404), or libcurl's reason.
struct Download {
  fs::path path;
  std::string name;
  Digest digest;
  int64_t mtime_sec = 0;  ///< Last-Modified; 0 when unknown
};
Result<Download> download(const std::string& url, const fs::path& dir,
                          const std::optional<Digest>& checksum = std::nullopt);

}  // namespace cbuild::build
