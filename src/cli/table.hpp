#pragma once
// Column output as docker prints its tables (text/tabwriter, 3 spaces between columns).
#include <fmt/core.h>

#include <algorithm>
#include <string>
#include <vector>

namespace cbuild::cli {

using TableRow = std::vector<std::string>;

/// Prints `header` and `rows` left-aligned in columns; the last column is not padded.
inline void print_table(const TableRow& header, const std::vector<TableRow>& rows) {
  std::vector<size_t> widths(header.size(), 0);
  auto measure = [&](const TableRow& row) {
    for (size_t i = 0; i < row.size() && i < widths.size(); ++i)
      widths[i] = std::max(widths[i], row[i].size());
  };
  measure(header);
  for (const TableRow& row : rows) measure(row);
  auto print_row = [&](const TableRow& row) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 3, ' ');
    }
    fmt::print("{}\n", line);
  };
  print_row(header);
  for (const TableRow& row : rows) print_row(row);
}

}  // namespace cbuild::cli
