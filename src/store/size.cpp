#include "cbuild/store/gc.hpp"

#include <cctype>
#include <charconv>
#include <cmath>

namespace cbuild::store {

namespace {

struct Unit {
  std::string_view suffix;
  uint64_t factor;
};

// Docker's RAMInBytes units: binary multiples, optional "b"/"ib", case-insensitive.
constexpr Unit k_units[] = {
    {"", 1},           {"b", 1},
    {"k", 1ULL << 10}, {"kb", 1ULL << 10}, {"kib", 1ULL << 10},
    {"m", 1ULL << 20}, {"mb", 1ULL << 20}, {"mib", 1ULL << 20},
    {"g", 1ULL << 30}, {"gb", 1ULL << 30}, {"gib", 1ULL << 30},
    {"t", 1ULL << 40}, {"tb", 1ULL << 40}, {"tib", 1ULL << 40},
};

}  // namespace

Result<uint64_t> parse_size(std::string_view text) {
  size_t end = 0;
  while (end < text.size() && (std::isdigit(static_cast<unsigned char>(text[end])) || text[end] == '.')) ++end;
  std::string number(text.substr(0, end));
  std::string suffix;
  for (char c : text.substr(end)) suffix += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (number.empty() || ec != std::errc() || ptr != number.data() + number.size())
    return make_error(ExitCode::usage, "invalid size `{}`", text);
  for (const auto& unit : k_units) {
    if (unit.suffix != suffix) continue;
    double bytes = value * static_cast<double>(unit.factor);
    if (bytes >= 1.8e19) return make_error(ExitCode::usage, "invalid size `{}`: too large", text);
    return static_cast<uint64_t>(std::llround(bytes));
  }
  return make_error(ExitCode::usage, "invalid size `{}`: unknown unit `{}`", text, text.substr(end));
}

std::string format_size(uint64_t bytes) {
  static constexpr const char* k_names[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1000 && unit + 1 < std::size(k_names)) {
    value /= 1000;
    ++unit;
  }
  if (unit == 0) return fmt::format("{}B", bytes);
  return fmt::format("{:.3g}{}", value, k_names[unit]);
}

}  // namespace cbuild::store
