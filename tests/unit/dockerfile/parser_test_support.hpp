#pragma once
// Helpers shared by the parser unit tests.
#include "cbuild/dockerfile/parser.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

namespace cbuild::dockerfile::test {

/// Parse text that must be valid; fails the test with the error otherwise.
inline Dockerfile parse_ok(std::string_view text) {
  auto result = parse(text, "Dockerfile");
  INFO(text);
  if (!result.ok()) FAIL(result.error().message);
  return std::move(result).value();
}

/// The BuildKit dump of text that must be valid.
inline std::string dump_of(std::string_view text) { return dump(parse_ok(text)); }

/// The error message for text that must be rejected.
inline std::string error_of(std::string_view text) {
  auto result = parse(text, "Dockerfile");
  INFO(text);
  REQUIRE_FALSE(result.ok());
  CHECK(result.error().code == ExitCode::bad_input);
  return result.error().message;
}

}  // namespace cbuild::dockerfile::test
