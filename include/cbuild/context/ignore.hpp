#pragma once
/// .dockerignore files and Docker's exclude-pattern matcher (the behaviour of
/// moby/patternmatcher as BuildKit uses it for contexts, `COPY --exclude` and
/// `COPY --parents` include patterns).
///
/// Pattern syntax: Go `filepath.Match` (see match.hpp) plus `**`, which matches any number
/// of directories including none (`**/x`, `a/**`, `a/**/b`); a leading `!` makes an
/// exception that re-includes what earlier patterns excluded. Patterns are applied in order
/// and the last one that matches decides. A pattern that matches a directory matches
/// everything below it.
///
/// Known, deliberate differences from patternmatcher (which translates patterns to Go
/// regexps): a backslash escape is always literal (`\d` is "d", not a digit class), `^`
/// outside a class is literal, POSIX classes (`[[:alpha:]]`) are not recognised, and a
/// reversed range (`[z-a]`) is rejected when the matcher is created instead of at first use.
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::context {

namespace detail {
struct IgnorePattern;
}

/// Parses .dockerignore text as BuildKit does (ignorefile.ReadAll): a UTF-8 BOM is dropped;
/// lines whose first character is `#` are comments; other lines are trimmed, blank ones
/// skipped; `!` is split off and the rest trimmed, cleaned (`path.Clean`) and stripped of
/// one leading `/`. "!" alone is kept (the matcher rejects it).
std::vector<std::string> parse_ignore_file(std::string_view text);

/// An ordered list of exclude patterns.
class PatternMatcher {
 public:
  /// Per-pattern results for a directory, handed to its children (patternmatcher's
  /// MatchInfo). Empty means "no information": parents are then matched from the path.
  using MatchInfo = std::vector<uint8_t>;

  /// Fails on "!" alone and on malformed patterns ("syntax error in pattern `[`").
  static Result<PatternMatcher> create(const std::vector<std::string>& patterns);
  PatternMatcher();
  PatternMatcher(PatternMatcher&&) noexcept;
  PatternMatcher& operator=(PatternMatcher&&) noexcept;
  ~PatternMatcher();

  bool empty() const;
  /// True when some pattern is an exception (`!x`).
  bool has_exceptions() const { return m_has_exceptions; }

  /// Is `path` (relative, cleaned, slash-separated) excluded, given the match results of its
  /// parent directory? Fills `info` for its own children when it is a directory.
  bool match(std::string_view path, const MatchInfo& parent, MatchInfo* info) const;
  /// Is `path` excluded (its parents are matched from the path: MatchesOrParentMatches)?
  bool matches(std::string_view path) const;
  /// Does some pattern match `path` itself, ignoring parents (MatchesExact)?
  bool matches_exact(std::string_view path) const;

  /// For an excluded directory: must the walk still enter it because an exception could
  /// re-include something below? (fsutil's rule: when every exception is a plain path,
  /// optionally ending in `/*` or `/**`, enter only directories on the way to one.)
  bool must_walk_excluded_dir(std::string_view dir) const;

 private:
  std::vector<detail::IgnorePattern> m_patterns;
  bool m_has_exceptions = false;
  bool m_only_plain_exceptions = true;
};

/// The ignore file a build uses and its patterns.
struct IgnoreFile {
  std::filesystem::path path;  ///< empty when there is none
  std::vector<std::string> patterns;
};

/// BuildKit's choice: `<dockerfile>.dockerignore` beside the Dockerfile (e.g.
/// `build/app.Dockerfile.dockerignore`) wins over `<context>/.dockerignore`. `dockerfile` may
/// be empty (Dockerfile read from stdin). The Dockerfile and the ignore file themselves are
/// not special: they are sent only if no pattern excludes them, as with BuildKit.
Result<IgnoreFile> load_ignore_file(const std::filesystem::path& context_dir,
                                    const std::filesystem::path& dockerfile);

}  // namespace cbuild::context
