// Value checks for instruction arguments: durations, ports, signals, chmod.
#include <array>
#include <charconv>
#include <cmath>
#include <regex>
#include <string>
#include <vector>

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

std::string format_duration(int64_t ns) {
  if (ns == 0) return "0s";
  // Magnitude as unsigned: INT64_MIN has no positive counterpart.
  const bool negative = ns < 0;
  uint64_t u = negative ? ~static_cast<uint64_t>(ns) + 1 : static_cast<uint64_t>(ns);
  // `digits` decimals of v / 10^digits, trailing zeros (and a bare point) dropped.
  auto fraction = [](uint64_t v, int digits) {
    std::string whole = std::to_string(v);
    if (whole.size() <= static_cast<size_t>(digits)) whole.insert(0, static_cast<size_t>(digits) + 1 - whole.size(), '0');
    std::string out = whole.substr(0, whole.size() - static_cast<size_t>(digits));
    std::string frac = whole.substr(whole.size() - static_cast<size_t>(digits));
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    return frac.empty() ? out : out + "." + frac;
  };
  std::string out;
  if (u < 1'000'000'000) {
    if (u < 1'000) out = std::to_string(u) + "ns";
    else if (u < 1'000'000) out = fraction(u, 3) + "\xc2\xb5s";  // U+00B5, as Go writes it
    else out = fraction(u, 6) + "ms";
  } else {
    uint64_t secs = u / 1'000'000'000;
    out = fraction(secs % 60 * 1'000'000'000 + u % 1'000'000'000, 9) + "s";
    if (secs >= 60) out = std::to_string(secs / 60 % 60) + "m" + out;
    if (secs >= 3600) out = std::to_string(secs / 3600) + "h" + out;
  }
  return negative ? "-" + out : out;
}

Result<std::vector<std::string>> exposed_ports(std::string_view spec) {
  // [IP:][HOSTPORT:]PORT[-PORT][/PROTO], as BuildKit reads it: only the container ports count.
  std::string_view container = spec, host;
  if (auto colon = spec.rfind(':'); colon != std::string_view::npos) {
    container = spec.substr(colon + 1);
    std::string_view rest = spec.substr(0, colon);
    auto before = rest.rfind(':');
    host = before == std::string_view::npos ? rest : rest.substr(before + 1);
  }
  std::string_view range = container, proto = "tcp";
  if (auto slash = container.find('/'); slash != std::string_view::npos) {
    range = container.substr(0, slash);
    proto = container.substr(slash + 1);
  }
  std::string lower(proto);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower.empty()) lower = "tcp";
  if (lower != "tcp" && lower != "udp" && lower != "sctp") return bad(fmt::format("invalid proto: {}", proto));
  struct Span {
    unsigned first, last;
  };
  auto span_of = [](std::string_view text) -> std::optional<Span> {
    auto number = [](std::string_view s) -> std::optional<unsigned> {
      unsigned v = 0;
      if (!all_digits(s)) return std::nullopt;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || v > 65535) return std::nullopt;
      return v;
    };
    auto dash = text.find('-');
    auto a = number(text.substr(0, dash));
    auto b = dash == std::string_view::npos ? a : number(text.substr(dash + 1));
    if (!a || !b) return std::nullopt;
    return Span{*a, *b};
  };
  auto ports = span_of(range);
  if (!ports) return bad(fmt::format("invalid containerPort: {}", range));
  if (ports->last < ports->first) return bad(fmt::format("invalid range specified for container port: {}", range));
  if (!host.empty()) {
    auto hosts = span_of(host);
    if (!hosts || hosts->last < hosts->first) return bad(fmt::format("invalid hostPort: {}", host));
    if (hosts->last - hosts->first != ports->last - ports->first && ports->last != ports->first)
      return bad(fmt::format("invalid ranges specified for container and host Ports: {} and {}", range, host));
  }
  std::vector<std::string> out;
  for (unsigned p = ports->first;; ++p) {
    out.push_back(fmt::format("{}/{}", p, lower));
    if (p == ports->last) break;
  }
  return out;
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
