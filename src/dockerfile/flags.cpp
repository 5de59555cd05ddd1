#include "flags.hpp"

#include <algorithm>

namespace cbuild::dockerfile {

std::string ParsedFlags::get(std::string_view name) const {
  auto it = m_values.find(std::string(name));
  return it == m_values.end() || it->second.empty() ? std::string() : it->second.back();
}

std::vector<std::string> ParsedFlags::get_all(std::string_view name) const {
  auto it = m_values.find(std::string(name));
  return it == m_values.end() ? std::vector<std::string>{} : it->second;
}

Result<ParsedFlags> parse_flags(std::span<const std::string> args, std::span<const FlagSpec> specs) {
  ParsedFlags out;
  for (const std::string& arg : args) {
    if (arg.rfind("--", 0) != 0) return make_error(ExitCode::bad_input, "arg should start with -- : {}", arg);
    if (arg == "--") break;
    std::string_view body = std::string_view(arg).substr(2);
    auto eq = body.find('=');
    std::string name(body.substr(0, eq));
    std::string value = eq == std::string_view::npos ? "" : std::string(body.substr(eq + 1));
    auto spec = std::find_if(specs.begin(), specs.end(), [&](const FlagSpec& s) { return s.name == name; });
    if (spec == specs.end()) return make_error(ExitCode::bad_input, "unknown flag --{}", name);
    auto& values = out.m_values[name];
    if (!values.empty() && spec->type != FlagType::strings)
      return make_error(ExitCode::bad_input, "duplicate flag specified: --{}", name);
    switch (spec->type) {
      case FlagType::boolean: {
        if (eq != std::string_view::npos && value.empty())
          return make_error(ExitCode::bad_input, "missing a value on flag: --{}", name);
        std::string low = value;
        std::transform(low.begin(), low.end(), low.begin(), [](unsigned char c) { return std::tolower(c); });
        if (low.empty()) low = "true";
        if (low != "true" && low != "false")
          return make_error(ExitCode::bad_input, "expecting boolean value for flag --{}, not: {}", name,
                            value);
        values.push_back(low);
        break;
      }
      case FlagType::string:
      case FlagType::strings:
        if (eq == std::string_view::npos)
          return make_error(ExitCode::bad_input, "missing a value on flag: --{}", name);
        values.push_back(value);
        break;
    }
  }
  return out;
}

}  // namespace cbuild::dockerfile
