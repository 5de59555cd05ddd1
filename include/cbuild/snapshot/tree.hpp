#pragma once
/// Tree operations of the snapshotter, run as root of the build user namespace (see
/// executor/userns.hpp). Snapshot directories hold one layer each in overlayfs upperdir form
/// (version 1): whiteouts are 0/0 character devices, opaque directories carry the xattr
/// `user.overlay.opaque` = "y". Both snapshotters read and write that form, so a layer
/// committed by either is usable as an overlay lowerdir and hashes the same.
#include "cbuild/executor/spec.hpp"
#include "cbuild/util/result.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace cbuild::snapshot {

namespace fs = std::filesystem;

/// Apply the overlay-form layer `src` onto the merged tree `dst`: whiteouts delete, opaque
/// directories drop what `dst` held there, everything else is copied with owner, mode,
/// mtime and xattrs (`*.overlay.*` excepted). Hardlinks inside `src` stay hardlinks. With
/// `hardlink`, files are linked instead of copied (only for immutable results: flattening).
Status merge_layer(const fs::path& src, const fs::path& dst, bool hardlink);

/// Record every entry of `root` (inode, type, owner, mode, size, mtime, ctime) in
/// `state_file`: the "before" of a native step.
Status write_tree_state(const fs::path& root, const fs::path& state_file);

/// Write the changes of `root` since `state_file` into the empty directory `out`, in
/// overlay upperdir form: changed entries (new inode, type, or ctime) and their parent
/// directories; deleted ones as whiteouts; directories replaced (new inode) as opaque — the
/// same tree overlayfs would have left in an upperdir. Entries in `compare_metadata_only`
/// (parents whose mtime cbuild restored) are compared by metadata instead of ctime.
/// Non-directories are hardlinked from `root` (same filesystem).
Status write_native_diff(const fs::path& root, const fs::path& state_file, const fs::path& out,
                         const std::set<std::string>& compare_metadata_only);

/// Remove the mount points the executor created (container paths under `root`) that are still
/// empty, deepest first, and restore their parents' mtimes. Returns the restored parents
/// (relative paths, "" for the root).
std::set<std::string> remove_created(const fs::path& root,
                                     const std::vector<executor::CreatedPath>& created);

/// In an overlay upperdir, remove the directories among `paths` (and their ancestors) that
/// are empty, not opaque, and identical in owner, mode and mtime to the same directory in the
/// topmost lowerdir that has it: copied up only because cbuild created a mount point there.
void prune_copied_up(const fs::path& upper, const std::vector<fs::path>& lowers,
                     const std::set<std::string>& paths);

}  // namespace cbuild::snapshot
