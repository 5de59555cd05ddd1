#pragma once
// Module-private helpers for walking and copying trees with full metadata.
#include "cbuild/util/result.hpp"

#include <sys/stat.h>

#include <string>
#include <vector>

namespace cbuild::snapshot {

/// Entry names of a directory (unsorted, without "." and "..").
Result<std::vector<std::string>> list_dir(const std::string& dir);
/// Owner, mode (not for symlinks), xattrs (not overlay's) and times of `src` onto `dst`.
Status copy_metadata(const std::string& src, const std::string& dst, const struct stat& st);
/// Copy one non-directory entry (reflink when the filesystem can, else copy_file_range).
Status copy_node(const std::string& src, const std::string& dst, const struct stat& st);
bool is_whiteout(const struct stat& st);
bool is_opaque(const std::string& dir);
Status set_opaque(const std::string& dir);
Status make_whiteout(const std::string& path);
/// Set only the mtime of `path` (not following symlinks).
Status set_mtime(const std::string& path, const struct timespec& mtime);
std::string join(const std::string& dir, const std::string& name);

}  // namespace cbuild::snapshot
