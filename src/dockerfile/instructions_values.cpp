// Value checks for instruction arguments: durations, ports, signals, chmod.
#include <array>
#include <charconv>
#include <cmath>
#include <regex>

#include "cbuild/dockerfile/instructions.hpp"

namespace cbuild::dockerfile {
namespace {

Error bad(std::string message) { return Error{std::move(message), ExitCode::bad_input}; }

struct DurationUnit {
  std::string_view name;
  double ns;
};
// Longest names first so "ms" is not read as "m".
constexpr std::array<DurationUnit, 8> k_units = {{{"ns", 1},
                                                  {"us", 1e3},
                                                  {"\xc2\xb5s", 1e3},  // U+00B5 micro sign
                                                  {"\xce\xbcs", 1e3},  // U+03BC mu
                                                  {"ms", 1e6},
                                                  {"s", 1e9},
                                                  {"m", 60e9},
                                                  {"h", 3600e9}}};

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

Result<int64_t> parse_duration(std::string_view text) {
  auto invalid = [&] { return bad(fmt::format("time: invalid duration \"{}\"", text)); };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return int64_t{0};
  if (s.empty()) return invalid();
  double total = 0;
  while (!s.empty()) {
    size_t i = 0;
    while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
    std::string number(s.substr(0, i));
    if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1)
      return invalid();
    s.remove_prefix(i);
    size_t u = 0;
    while (u < s.size() && s[u] != '.' && !std::isdigit(static_cast<unsigned char>(s[u]))) ++u;
    std::string_view unit = s.substr(0, u);
    if (unit.empty()) return bad(fmt::format("time: missing unit in duration \"{}\"", text));
    auto it =
        std::find_if(k_units.begin(), k_units.end(), [&](const DurationUnit& d) { return d.name == unit; });
    if (it == k_units.end())
      return bad(fmt::format("time: unknown unit \"{}\" in duration \"{}\"", unit, text));
    total += std::strtod(number.c_str(), nullptr) * it->ns;
    s.remove_prefix(u);
  }
  if (total > 9.2e18) return invalid();
  return static_cast<int64_t>(std::llround(negative ? -total : total));
}

Status validate_port(std::string_view port) {
  std::string_view range = port, proto = "tcp";
  if (auto slash = port.find('/'); slash != std::string_view::npos) {
    range = port.substr(0, slash);
    proto = port.substr(slash + 1);
  }
  if (proto != "tcp" && proto != "udp" && proto != "sctp")
    return bad(fmt::format("invalid proto: {}", proto));
  auto dash = range.find('-');
  std::string_view first = range.substr(0, dash);
  std::string_view last = dash == std::string_view::npos ? first : range.substr(dash + 1);
  auto number = [](std::string_view s) -> std::optional<unsigned> {
    unsigned v = 0;
    if (!all_digits(s)) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || v > 65535) return std::nullopt;
    return v;
  };
  auto a = number(first), b = number(last);
  if (!a || !b) return bad(fmt::format("invalid containerPort: {}", range));
  if (*b < *a) return bad(fmt::format("invalid range specified for container port: {}", range));
  return {};
}

Status validate_signal(std::string_view signal) {
  static constexpr std::array<std::string_view, 31> k_names = {
      "HUP",  "INT",  "QUIT", "ILL",  "TRAP",   "ABRT",   "IOT",   "BUS",  "FPE",  "KILL", "USR1",
      "SEGV", "USR2", "PIPE", "ALRM", "TERM",   "STKFLT", "CHLD",  "CONT", "STOP", "TSTP", "TTIN",
      "TTOU", "URG",  "XCPU", "XFSZ", "VTALRM", "PROF",   "WINCH", "IO",   "PWR"};
  std::string_view s = signal;
  if (all_digits(s)) {
    unsigned v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    if (v >= 1 && v <= 64) return {};
    return bad(fmt::format("invalid signal: {}", signal));
  }
  std::string name(s);
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (name.rfind("SIG", 0) == 0) name.erase(0, 3);
  if (std::find(k_names.begin(), k_names.end(), name) != k_names.end()) return {};
  static const std::regex k_rt("^RTM(IN|AX)([+-]([0-9]|[1-2][0-9]|30))?$");
  if (std::regex_match(name, k_rt)) return {};
  return bad(fmt::format("invalid signal: {}", signal));
}

Status validate_chmod(std::string_view chmod) {
  if (all_digits(chmod)) {
    unsigned v = 0;
    auto [p, ec] = std::from_chars(chmod.data(), chmod.data() + chmod.size(), v, 8);
    if (ec == std::errc() && p == chmod.data() + chmod.size() && v <= 07777) return {};
    return bad(fmt::format("invalid chmod parameter: '{}'. it should be octal string and between 0 and 07777",
                           chmod));
  }
  static const std::regex k_symbolic(
      "^[ugoa]*([-+=]([rwxXst]*|[ugo]))+(,[ugoa]*([-+=]([rwxXst]*|[ugo]))+)*$");
  if (std::regex_match(std::string(chmod), k_symbolic)) return {};
  return bad(fmt::format("invalid chmod parameter: '{}'", chmod));
}

}  // namespace cbuild::dockerfile
