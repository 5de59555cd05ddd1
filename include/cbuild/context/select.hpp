#pragma once
/// Which context files a COPY/ADD uses, as BuildKit decides it.
///
/// Without `--parents`, each source is a path relative to the context root (a leading `/`
/// is the root too) that may hold Go `filepath.Match` wildcards (match.hpp). Wildcards are
/// matched below the longest wildcard-free prefix; a matched directory is not searched
/// further. A symlink named by a source is followed inside the context. A directory copies
/// its contents (dest paths relative to it); a file keeps its name. A literal source that
/// is missing (or ignored by .dockerignore) is an error; a wildcard that matches nothing
/// selects nothing, as in BuildKit. A source leaving the context (`../x`) is an error.
///
/// `--exclude` patterns use .dockerignore syntax (ignore.hpp) and are matched against paths
/// relative to each copied directory, and against wildcard matches relative to the
/// wildcard's base (`COPY --exclude=*.txt hom* /d/` skips home.txt).
///
/// With `--parents`, a source `a/./b/*.txt` is split at the `/./` pivot: files below `a`
/// whose path relative to `a` matches the pattern `b/*.txt` (ignore syntax, so `**` works)
/// are copied keeping that relative path (`b/x.txt`); without a pivot paths are kept from
/// the context root. Directories on the way are selected too. A source without wildcards
/// must exist.
#include <string>
#include <vector>

#include "cbuild/context/context.hpp"

namespace cbuild::context {

struct SelectOptions {
  std::vector<std::string> sources;   ///< as written in the instruction, after expansion
  std::vector<std::string> excludes;  ///< `--exclude` patterns
  bool parents = false;               ///< `--parents`
  std::string instruction = "COPY";   ///< names the instruction in errors
};

/// One thing a source matched.
struct SourceMatch {
  std::string source;  ///< the source as written
  std::string path;    ///< matched path in the context, symlinks resolved ("." = the root)
  std::string name;    ///< the name a single file is copied under (the unresolved base name)
  FileType type = FileType::regular;
};

/// A file to copy: the context entry and its path relative to the destination.
struct SelectedFile {
  const Entry* entry = nullptr;  ///< points into the Context, which must outlive this
  std::string dest;
};

struct Selection {
  std::vector<SourceMatch> matches;
  std::vector<SelectedFile> files;  ///< in source order, each source in walk order
};

/// Errors (ExitCode::bad_input):
///   "COPY failed: file not found in build context or excluded by .dockerignore: stat foo: file does not
///   exist" "COPY failed: forbidden path outside the build context: ../x" "COPY failed: syntax error in
///   pattern `[`"
Result<Selection> select_files(const Context& ctx, const SelectOptions& options);

}  // namespace cbuild::context
