// `cbuild parse [--dump | --lines | --format text|json] FILE`: show how a Dockerfile parses.
#include "cbuild/dockerfile/parser.hpp"
#include "cbuild/util/fs.hpp"
#include "commands.hpp"

#include <fmt/core.h>
#include <nlohmann/json.hpp>

#include <iostream>
#include <iterator>

namespace cbuild::cli {
namespace {

struct ParseOptions {
  std::string file;
  bool dump = false;
  bool lines = false;
  std::string format = "text";
};

Result<std::string> read_input(const std::string& file) {
  if (file != "-") return read_file(file);
  std::string text(std::istreambuf_iterator<char>(std::cin), {});
  if (std::cin.bad()) return errno_error("read `stdin`");
  return text;
}

nlohmann::json to_json(const dockerfile::Instruction& in) {
  nlohmann::json heredocs = nlohmann::json::array();
  for (const dockerfile::Heredoc& h : in.heredocs) {
    heredocs.push_back({{"name", h.name}, {"content", h.content}, {"expand", h.expand},
                        {"chomp", h.chomp}, {"fd", h.fd}});
  }
  nlohmann::json out = {{"keyword", in.keyword},     {"flags", in.flags},
                        {"args", in.args},           {"json_form", in.json_form},
                        {"heredocs", heredocs},      {"comments", in.comments},
                        {"start_line", in.start_line}, {"end_line", in.end_line},
                        {"original", in.original}};
  if (in.onbuild) out["onbuild"] = to_json(*in.onbuild);
  return out;
}

std::string to_json(const dockerfile::Dockerfile& file) {
  nlohmann::json instructions = nlohmann::json::array();
  for (const auto& in : file.instructions) instructions.push_back(to_json(in));
  nlohmann::json out = {
      {"path", file.path},
      {"directives",
       {{"syntax", file.directives.syntax}, {"check", file.directives.check},
        {"escape", std::string(1, file.directives.escape)}}},
      {"instructions", instructions},
      {"warnings", file.warnings},
  };
  // Dockerfiles may hold invalid UTF-8: replace it rather than fail.
  return out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

// One block per instruction: lines, keyword, flags and quoted arguments, heredocs.
std::string listing(const dockerfile::Instruction& in, int indent) {
  std::string out = fmt::format("{:>{}}{}", "", indent, in.keyword);
  if (!in.flags.empty()) {
    out += " [";
    for (std::size_t i = 0; i < in.flags.size(); ++i) out += (i ? " " : "") + dockerfile::go_quote(in.flags[i]);
    out += "]";
  }
  if (in.json_form) out += " (exec form)";
  for (const auto& arg : in.args) out += " " + dockerfile::go_quote(arg);
  out += "\n";
  if (in.onbuild) out += listing(*in.onbuild, indent + 2);
  for (const auto& h : in.heredocs) {
    out += fmt::format("{:>{}}  heredoc {}{}{}{}: {} bytes\n", "", indent, dockerfile::go_quote(h.name),
                       h.expand ? "" : " (no expansion)", h.chomp ? " (tabs stripped)" : "",
                       h.fd >= 0 ? fmt::format(" (fd {})", h.fd) : "", h.content.size());
  }
  return out;
}

std::string listing(const dockerfile::Dockerfile& file) {
  std::string out;
  if (!file.directives.syntax.empty()) out += fmt::format("# syntax={}\n", file.directives.syntax);
  if (file.directives.escape != '\\') out += fmt::format("# escape={}\n", file.directives.escape);
  if (!file.directives.check.empty()) out += fmt::format("# check={}\n", file.directives.check);
  for (const auto& in : file.instructions) {
    out += fmt::format("{:>9} ", fmt::format("{}-{}", in.start_line, in.end_line));
    out += listing(in, 0);
  }
  return out;
}

// `start end` of the whole file (first to last instruction), then one pair per instruction.
std::string line_ranges(const dockerfile::Dockerfile& file) {
  std::string out = fmt::format("{} {}\n", file.instructions.front().start_line, file.instructions.back().end_line);
  for (const auto& in : file.instructions) out += fmt::format("{} {}\n", in.start_line, in.end_line);
  return out;
}

Status run_parse(const ParseOptions& o) {
  std::string text = TRY(read_input(o.file));
  dockerfile::Dockerfile file = TRY(dockerfile::parse(text, o.file == "-" ? "<stdin>" : o.file));
  for (const auto& warning : file.warnings) fmt::print(stderr, "warning: {}\n", warning);
  if (o.dump) {
    fmt::print("{}\n", dockerfile::dump(file));
  } else if (o.lines) {
    fmt::print("{}", line_ranges(file));
  } else if (o.format == "json") {
    fmt::print("{}\n", to_json(file));
  } else {
    fmt::print("{}", listing(file));
  }
  return {};
}

}  // namespace

void add_parse_command(CLI::App& app, Globals& globals) {
  auto options = std::make_shared<ParseOptions>();
  auto* cmd = app.add_subcommand("parse", "Parse a Dockerfile and show its syntax tree");
  cmd->add_option("file", options->file, "Dockerfile to parse (- reads stdin)")->required();
  auto* dump = cmd->add_flag("--dump", options->dump, "Print BuildKit's AST dump");
  auto* lines = cmd->add_flag("--lines", options->lines, "Print the line range of the file and of each instruction");
  cmd->add_option("--format", options->format, "Listing format")
      ->check(CLI::IsMember({"text", "json"}))
      ->excludes(dump)
      ->excludes(lines);
  dump->excludes(lines);
  cmd->callback([options, &globals] { finish(globals, run_parse(*options)); });
}

}  // namespace cbuild::cli
