// libFuzzer target: any bytes must parse or fail with a located error, never crash, and a
// parsed file must keep its invariants (line ranges, one dump line per instruction).
#include "cbuild/dockerfile/parser.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace {

void require(bool condition) {
  if (!condition) __builtin_trap();
}

void check_instruction(const cbuild::dockerfile::Instruction& in, int previous_end, std::size_t line_count) {
  require(in.start_line > previous_end);
  require(in.end_line >= in.start_line);
  require(static_cast<std::size_t>(in.end_line) <= line_count);
  if (in.onbuild) {
    require(in.onbuild->start_line == in.start_line && in.onbuild->end_line == in.end_line);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto result = cbuild::dockerfile::parse(text, "Dockerfile");
  if (!result.ok()) {
    require(result.error().message.rfind("Dockerfile", 0) == 0);
    return 0;
  }
  const cbuild::dockerfile::Dockerfile& file = result.value();
  require(!file.instructions.empty());
  int previous_end = 0;
  for (const auto& in : file.instructions) {
    check_instruction(in, previous_end, file.lines.size());
    previous_end = in.end_line;
  }
  std::string dumped = cbuild::dockerfile::dump(file);
  // Quoting escapes every newline, so each instruction is exactly one line of the dump.
  require(static_cast<std::size_t>(std::count(dumped.begin(), dumped.end(), '\n')) ==
          file.instructions.size() - 1);
  return 0;
}
