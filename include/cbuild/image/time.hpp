#pragma once
/// Timestamps as image configs hold them (RFC 3339, UTC) and as docker prints them.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cbuild::image {

/// "2024-01-01T00:00:00Z" (UTC, whole seconds), as BuildKit writes `created`.
std::string format_rfc3339(int64_t unix_seconds);
/// Parses RFC 3339 with optional fraction and a `Z` or `±hh:mm` offset; nullopt if malformed.
std::optional<int64_t> parse_rfc3339(std::string_view text);
/// docker's `units.HumanDuration`: "Less than a second", "5 seconds", "About a minute",
/// "3 hours", "2 weeks", "4 months", "2 years".
std::string human_duration(int64_t seconds);
/// "2024-01-01 00:00:00 +0000 UTC" (Go's time.Time String in UTC, docker's CreatedAt).
std::string format_go_time(int64_t unix_seconds);

}  // namespace cbuild::image
