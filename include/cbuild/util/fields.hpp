#pragma once
/// "k=v,k2=v2" option lists, as buildx reads --output, --secret, --cache-to and --cache-from
/// values: fields split at commas, each at its first '='; a field without '=' maps to "".
#include <map>
#include <string>
#include <string_view>

namespace cbuild {

std::map<std::string, std::string> parse_fields(std::string_view text);

}  // namespace cbuild
