#include "cbuild/image/time.hpp"

#include <fmt/format.h>

#include <ctime>

namespace cbuild::image {
namespace {

bool read_digits(std::string_view s, size_t pos, size_t count, int& out) {
  if (pos + count > s.size()) return false;
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

std::tm utc(int64_t unix_seconds) {
  std::tm tm{};
  std::time_t t = static_cast<std::time_t>(unix_seconds);
  gmtime_r(&t, &tm);
  return tm;
}

}  // namespace

std::string format_rfc3339(int64_t unix_seconds) {
  std::tm tm = utc(unix_seconds);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string format_go_time(int64_t unix_seconds) {
  std::tm tm = utc(unix_seconds);
  return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02} +0000 UTC", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::optional<int64_t> parse_rfc3339(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)
  std::tm tm{};
  int year, month, day, hour, minute, second;
  if (!read_digits(s, 0, 4, year) || s.size() < 20 || s[4] != '-' || !read_digits(s, 5, 2, month) ||
      s[7] != '-' || !read_digits(s, 8, 2, day) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      !read_digits(s, 11, 2, hour) || s[13] != ':' || !read_digits(s, 14, 2, minute) || s[16] != ':' ||
      !read_digits(s, 17, 2, second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t pos = 19;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') ++pos;
    if (pos == start) return std::nullopt;
  }
  int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (!read_digits(s, pos + 1, 2, oh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !read_digits(s, pos + 4, 2, om)) {
      return std::nullopt;
    }
    offset = (s[pos] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::string human_duration(int64_t seconds) {
  // Thresholds and wording of github.com/docker/go-units HumanDuration.
  double s = static_cast<double>(seconds);
  auto n = [](double v) { return static_cast<int64_t>(v); };
  if (seconds < 1) return "Less than a second";
  if (seconds == 1) return "1 second";
  if (seconds < 60) return fmt::format("{} seconds", seconds);
  double minutes = s / 60;
  if (n(minutes) == 1) return "About a minute";
  if (minutes < 60) return fmt::format("{} minutes", n(minutes));
  double hours = s / 3600 + 0.5;
  if (n(hours) == 1) return "About an hour";
  if (hours < 48) return fmt::format("{} hours", n(hours));
  if (hours < 24 * 7 * 2) return fmt::format("{} days", n(hours / 24));
  if (hours < 24 * 30 * 2) return fmt::format("{} weeks", n(hours / 24 / 7));
  if (hours < 24 * 365 * 2) return fmt::format("{} months", n(hours / 24 / 30));
  return fmt::format("{} years", n(s / 3600 / 24 / 365));
}

}  // namespace cbuild::image
