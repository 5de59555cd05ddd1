#pragma once
/// Image references as docker parses them (github.com/distribution/reference):
///   `busybox`              → docker.io/library/busybox:latest
///   `user/app`             → docker.io/user/app:latest
///   `localhost:5000/x:1`   → localhost:5000/x:1
///   `name:tag@sha256:…`    → name with both tag and digest
/// `parse_reference` is the grammar without normalization (`Parse`);
/// `parse_normalized` adds docker's defaults (`ParseNormalizedNamed`); `parse_docker_ref`
/// also adds `:latest` and drops a tag given with a digest (`ParseDockerRef`), which is the
/// form images are tagged under in the store.
#include <string>
#include <string_view>

#include "cbuild/util/result.hpp"

namespace cbuild::image {

inline constexpr std::string_view k_default_domain = "docker.io";
inline constexpr std::string_view k_legacy_default_domain = "index.docker.io";
inline constexpr std::string_view k_official_repo_prefix = "library/";
inline constexpr std::string_view k_default_tag = "latest";
inline constexpr size_t k_max_name_length = 255;  ///< of the path (domain excluded)

/// A parsed reference: `[domain/]path[:tag][@digest]`. After normalization the domain is
/// never empty. The digest is kept as text (`algorithm:hex`), validated as sha256.
struct Reference {
  std::string domain;  ///< "docker.io", "localhost:5000", "[::1]:5000" or empty
  std::string path;    ///< "library/busybox"
  std::string tag;     ///< empty when absent
  std::string digest;  ///< "sha256:…" or empty

  /// `domain/path` (or `path` when there is no domain).
  std::string name() const;
  /// The full text: `name[:tag][@digest]`.
  std::string str() const;
  /// Docker's short form: "docker.io/" and "library/" (for one-component paths) removed,
  /// e.g. `busybox:latest`, `user/app:1`, `localhost:5000/x:1`.
  std::string familiar_name() const;
  std::string familiar_str() const;

  bool has_tag() const { return !tag.empty(); }
  bool has_digest() const { return !digest.empty(); }
  /// A copy with `tag` replaced (validated).
  Result<Reference> with_tag(std::string_view new_tag) const;

  bool operator==(const Reference&) const = default;
};

/// The grammar alone (no default domain or tag). Errors, as docker words them:
/// "invalid reference format", "…: repository name must be lowercase",
/// "repository name must have at least one component", "repository name must not be more
/// than 255 characters", "invalid checksum digest format/length", "unsupported digest algorithm".
/// All errors have ExitCode::bad_input.
Result<Reference> parse_reference(std::string_view text);

/// Docker's normalization (`ParseNormalizedNamed`): default domain docker.io, `library/`
/// for single-component Hub names, `index.docker.io` → `docker.io`. No default tag.
/// 64-hex strings are refused (they are image IDs).
Result<Reference> parse_normalized(std::string_view text);

/// `ParseDockerRef`: normalized, `:latest` added when there is neither tag nor digest, and
/// the tag dropped when a digest is given (the digest decides).
Result<Reference> parse_docker_ref(std::string_view text);

/// A name to tag an image as (`cbuild tag`, `import`, `load`): normalized, `:latest` added,
/// a digest refused ("refusing to create a tag with a digest reference", as docker).
Result<Reference> parse_tag_target(std::string_view text);

/// True for 64 lowercase hex characters (a full image ID without `sha256:`).
bool is_full_identifier(std::string_view text);

/// Validation of single components (tables in the grammar).
bool is_valid_tag(std::string_view tag);
bool is_valid_path(std::string_view path);
bool is_valid_domain(std::string_view domain);

}  // namespace cbuild::image
