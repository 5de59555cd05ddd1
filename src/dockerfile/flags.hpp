#pragma once
// Instruction flags with BuildKit's bflag rules (module-private).
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cbuild/util/result.hpp"

namespace cbuild::dockerfile {

enum class FlagType { string, boolean, strings };

/// One flag an instruction accepts.
struct FlagSpec {
  std::string_view name;
  FlagType type;
};

/// Flags as given: values by name (booleans hold "true"/"false").
class ParsedFlags {
 public:
  bool used(std::string_view name) const { return m_values.count(std::string(name)) != 0; }
  std::string get(std::string_view name) const;
  bool get_bool(std::string_view name) const { return get(name) == "true"; }
  std::vector<std::string> get_all(std::string_view name) const;

 private:
  friend Result<ParsedFlags> parse_flags(std::span<const std::string>, std::span<const FlagSpec>);
  std::map<std::string, std::vector<std::string>> m_values;
};

/// Parse `--name=value` arguments against the accepted flags. Errors: "unknown flag
/// --x", "duplicate flag specified: --x", "missing a value on flag: --x", "expecting
/// boolean value for flag --x, not: y", "arg should start with -- : x".
Result<ParsedFlags> parse_flags(std::span<const std::string> args, std::span<const FlagSpec> specs);

}  // namespace cbuild::dockerfile
