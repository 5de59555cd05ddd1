// AST node → typed instruction: one parse function per instruction, chosen from a table
// keyed by keyword, each with the table of flags it accepts.
#include "cbuild/dockerfile/instructions.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <regex>

#include "cbuild/dockerfile/parser.hpp"
#include "flags.hpp"

namespace cbuild::dockerfile {
namespace {

struct Request {
  const Dockerfile& file;
  const Instruction& node;
  std::string keyword;  // uppercased
  ParsedFlags flags;
};

Error bad(std::string message) { return Error{std::move(message), ExitCode::bad_input}; }

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i) out += sep;
    out += parts[i];
  }
  return out;
}

Error at_least_one(std::string_view kw) { return bad(fmt::format("{} requires at least one argument", kw)); }
Error exactly_one(std::string_view kw) { return bad(fmt::format("{} requires exactly one argument", kw)); }

CommandLine command_line(const Instruction& node) {
  CommandLine c;
  if (node.json_form)
    c.args = node.args;
  else if (!node.args.empty())
    c.args = {join(node.args, " ")};
  c.prepend_shell = !node.json_form;
  for (const Heredoc& h : node.heredocs) c.files.push_back({h.name, h.content, h.chomp, h.expand});
  return c;
}

// ENV and LABEL arguments come as (key, value, delimiter) triples, as in BuildKit's AST.
Result<std::vector<KeyValue>> key_values(const Request& r) {
  const auto& args = r.node.args;
  if (args.empty()) return at_least_one(r.keyword);
  if (args.size() % 3 != 0) return bad(fmt::format("Bad input to {}, too many arguments", r.keyword));
  std::vector<KeyValue> out;
  for (size_t i = 0; i < args.size(); i += 3) {
    if (args[i].empty()) return bad(fmt::format("{} names can not be blank", r.keyword));
    out.push_back({args[i], args[i + 1], args[i + 2].empty()});
  }
  return out;
}

// `<<EOF`, `<<-EOF`, `3<<"EOF"`: the heredoc name when `word` is a heredoc marker.
std::optional<std::string> heredoc_marker(std::string_view word) {
  size_t i = 0;
  while (i < word.size() && std::isdigit(static_cast<unsigned char>(word[i]))) ++i;
  if (word.substr(i, 2) != "<<") return std::nullopt;
  i += 2;
  if (i < word.size() && word[i] == '-') ++i;
  std::string name;
  for (char c : word.substr(i))
    if (c != '"' && c != '\'') name += c;
  if (name.empty() || name.find('<') != std::string::npos) return std::nullopt;
  return name;
}

struct Sources {
  std::vector<std::string> paths;
  std::vector<HeredocFile> contents;
  std::string dest;
};

Result<Sources> sources_and_dest(const Request& r) {
  const auto& args = r.node.args;
  if (args.size() < 2)
    return bad(
        fmt::format("{} requires at least two arguments, but only one was provided. "
                    "Destination could not be determined",
                    r.keyword));
  Sources s;
  s.dest = args.back();
  if (heredoc_marker(s.dest))
    return bad(fmt::format("{} cannot accept a heredoc as a destination", r.keyword));
  for (size_t i = 0; i + 1 < args.size(); ++i) {
    auto name = heredoc_marker(args[i]);
    const Heredoc* doc = nullptr;
    if (name)
      for (const Heredoc& h : r.node.heredocs)
        if (h.name == *name) doc = &h;
    if (doc)
      s.contents.push_back({doc->name, doc->content, doc->chomp, doc->expand});
    else
      s.paths.push_back(args[i]);
  }
  return s;
}

bool has_var(std::string_view s) { return s.find('$') != std::string_view::npos; }

Result<Command> parse_from(Request& r) {
  const auto& a = r.node.args;
  FromCommand c;
  if (a.size() == 3 && lower(a[1]) == "as") {
    c.stage_name = lower(a[2]);
    static const std::regex k_name("^[a-z][a-z0-9-_.]*$");
    if (!std::regex_match(c.stage_name, k_name))
      return bad(
          fmt::format("invalid name for build stage: \"{}\", name can't start with a number "
                      "or contain symbols",
                      a[2]));
  } else if (a.size() != 1) {
    return bad("FROM requires either one or three arguments");
  }
  c.base = a[0];
  c.platform = r.flags.get("platform");
  return Command{std::move(c)};
}

struct ModeName {
  std::string_view flag;
  std::array<std::string_view, 3> allowed;
};

Result<Command> parse_run(Request& r) {
  RunCommand c;
  c.command = command_line(r.node);
  if (c.command.args.empty() && c.command.files.empty()) return at_least_one("RUN");
  for (const std::string& m : r.flags.get_all("mount")) {
    auto spec = parse_mount(m);
    if (!spec) return bad(fmt::format("--mount={}: {}", m, spec.error().message));
    c.mount_flags.push_back(m);
    c.mounts.push_back(std::move(*spec));
  }
  static constexpr std::array<ModeName, 2> k_modes = {
      {{"network", {"default", "none", "host"}}, {"security", {"sandbox", "insecure", ""}}}};
  for (const ModeName& mode : k_modes) {
    if (!r.flags.used(mode.flag)) continue;
    std::string v = r.flags.get(mode.flag);
    if (v.empty() || std::find(mode.allowed.begin(), mode.allowed.end(), v) == mode.allowed.end())
      return bad(fmt::format("unsupported {} mode \"{}\"", mode.flag, v));
    (mode.flag == "network" ? c.network : c.security) = v;
  }
  return Command{std::move(c)};
}

Result<Command> parse_cmd(Request& r) { return Command{CmdCommand{command_line(r.node)}}; }
Result<Command> parse_entrypoint(Request& r) { return Command{EntrypointCommand{command_line(r.node)}}; }

Result<Command> parse_shell(Request& r) {
  if (r.node.args.empty()) return at_least_one("SHELL");
  if (!r.node.json_form) return bad("SHELL requires the arguments to be in JSON form");
  return Command{ShellCommand{r.node.args}};
}

Result<Command> parse_label(Request& r) { return Command{LabelCommand{TRY(key_values(r))}}; }
Result<Command> parse_env(Request& r) { return Command{EnvCommand{TRY(key_values(r))}}; }

Result<Command> parse_maintainer(Request& r) {
  if (r.node.args.size() != 1) return exactly_one("MAINTAINER");
  return Command{MaintainerCommand{r.node.args[0]}};
}

Result<Command> parse_expose(Request& r) {
  if (r.node.args.empty()) return at_least_one("EXPOSE");
  for (const auto& p : r.node.args)
    if (!has_var(p)) TRY(exposed_ports(p));
  return Command{ExposeCommand{r.node.args}};
}

Result<Command> parse_copy(Request& r) {
  auto s = TRY(sources_and_dest(r));
  CopyCommand c;
  c.sources = std::move(s.paths);
  c.contents = std::move(s.contents);
  c.dest = std::move(s.dest);
  c.from = r.flags.get("from");
  c.chown = r.flags.get("chown");
  c.chmod = r.flags.get("chmod");
  c.link = r.flags.get_bool("link");
  c.parents = r.flags.get_bool("parents");
  c.excludes = r.flags.get_all("exclude");
  if (!c.chmod.empty() && !has_var(c.chmod)) TRY(validate_chmod(c.chmod));
  return Command{std::move(c)};
}

Result<Command> parse_add(Request& r) {
  auto s = TRY(sources_and_dest(r));
  AddCommand c;
  c.sources = std::move(s.paths);
  c.contents = std::move(s.contents);
  c.dest = std::move(s.dest);
  c.chown = r.flags.get("chown");
  c.chmod = r.flags.get("chmod");
  c.checksum = r.flags.get("checksum");
  c.link = r.flags.get_bool("link");
  c.keep_git_dir = r.flags.get_bool("keep-git-dir");
  c.excludes = r.flags.get_all("exclude");
  if (!c.chmod.empty() && !has_var(c.chmod)) TRY(validate_chmod(c.chmod));
  return Command{std::move(c)};
}

Result<Command> parse_volume(Request& r) {
  if (r.node.args.empty()) return at_least_one("VOLUME");
  VolumeCommand c;
  for (std::string v : r.node.args) {
    v.erase(0, v.find_first_not_of(" \t"));
    v.erase(v.find_last_not_of(" \t") + 1);
    if (v.empty()) return bad("VOLUME specified can not be an empty string");
    c.volumes.push_back(v);
  }
  return Command{std::move(c)};
}

Result<Command> parse_user(Request& r) {
  if (r.node.args.size() != 1 || r.node.args[0].empty()) return exactly_one("USER");
  return Command{UserCommand{r.node.args[0]}};
}

Result<Command> parse_workdir(Request& r) {
  if (r.node.args.size() != 1 || r.node.args[0].empty()) return exactly_one("WORKDIR");
  return Command{WorkdirCommand{r.node.args[0]}};
}

Result<Command> parse_stopsignal(Request& r) {
  if (r.node.args.size() != 1) return exactly_one("STOPSIGNAL");
  if (!has_var(r.node.args[0])) TRY(validate_signal(r.node.args[0]));
  return Command{StopsignalCommand{r.node.args[0]}};
}

Result<Command> parse_arg(Request& r) {
  if (r.node.args.empty()) return at_least_one("ARG");
  ArgCommand c;
  for (const std::string& a : r.node.args) {
    auto eq = a.find('=');
    if (eq == 0) return bad("ARG names can not be blank");
    if (eq == std::string::npos)
      c.args.push_back({a, std::nullopt});
    else
      c.args.push_back({a.substr(0, eq), a.substr(eq + 1)});
  }
  return Command{std::move(c)};
}

Result<Command> parse_onbuild(Request& r) {
  if (!r.node.onbuild) return at_least_one("ONBUILD");
  const Instruction& inner = *r.node.onbuild;
  std::string kw = upper(inner.keyword);
  if (kw == "ONBUILD") return bad("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
  if (kw == "FROM" || kw == "MAINTAINER")
    return bad(fmt::format("{} isn't allowed as an ONBUILD trigger", kw));
  TRY(parse_instruction(r.file, inner));  // a trigger must itself be valid
  static const std::regex k_prefix("^\\s*ONBUILD\\s*", std::regex::icase);
  std::string expression =
      std::regex_replace(r.node.original, k_prefix, "", std::regex_constants::format_first_only);
  for (const Heredoc& h : inner.heredocs) expression += "\n" + h.content + h.name;
  return Command{OnbuildCommand{kw, expression}};
}

Result<int64_t> health_duration(const ParsedFlags& flags, std::string_view name) {
  std::string v = flags.get(name);
  if (v.empty()) return int64_t{0};
  int64_t d = TRY(parse_duration(v));
  if (d == 0) return d;
  if (d < 1'000'000) return bad(fmt::format("Interval \"{}\" cannot be less than 1ms", name));
  return d;
}

Result<Command> parse_healthcheck(Request& r) {
  const auto& a = r.node.args;
  if (a.empty()) return at_least_one("HEALTHCHECK");
  HealthcheckCommand c;
  std::string type = upper(a[0]);
  std::vector<std::string> rest(a.begin() + 1, a.end());
  if (type == "NONE") {
    if (!rest.empty()) return bad("HEALTHCHECK NONE takes no arguments");
    c.test = {"NONE"};
    return Command{std::move(c)};
  }
  if (type != "CMD") return bad(fmt::format("Unknown type \"{}\" in HEALTHCHECK (try CMD)", type));
  if (rest.empty()) return bad("Missing command after HEALTHCHECK CMD");
  if (r.node.json_form) {
    c.test = {"CMD"};
    c.test.insert(c.test.end(), rest.begin(), rest.end());
  } else {
    c.test = {"CMD-SHELL", join(rest, " ")};
  }
  c.interval_ns = TRY(health_duration(r.flags, "interval"));
  c.timeout_ns = TRY(health_duration(r.flags, "timeout"));
  c.start_period_ns = TRY(health_duration(r.flags, "start-period"));
  c.start_interval_ns = TRY(health_duration(r.flags, "start-interval"));
  if (r.flags.used("retries")) {
    std::string v = r.flags.get("retries");
    int64_t n = 0;
    auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (v.empty() || ec != std::errc() || p != v.data() + v.size() || n > INT32_MAX || n < INT32_MIN)
      return bad(fmt::format("invalid value for --retries: {}", v));
    if (n < 0) return bad(fmt::format("--retries cannot be negative ({})", n));
    c.retries = static_cast<int>(n);
  }
  return Command{std::move(c)};
}

using ParseFn = Result<Command> (*)(Request&);

constexpr FlagSpec k_from_flags[] = {{"platform", FlagType::string}};
constexpr FlagSpec k_run_flags[] = {
    {"mount", FlagType::strings}, {"network", FlagType::string}, {"security", FlagType::string}};
constexpr FlagSpec k_copy_flags[] = {{"from", FlagType::string},     {"chown", FlagType::string},
                                     {"chmod", FlagType::string},    {"link", FlagType::boolean},
                                     {"parents", FlagType::boolean}, {"exclude", FlagType::strings}};
constexpr FlagSpec k_add_flags[] = {{"chown", FlagType::string},         {"chmod", FlagType::string},
                                    {"checksum", FlagType::string},      {"link", FlagType::boolean},
                                    {"keep-git-dir", FlagType::boolean}, {"exclude", FlagType::strings}};
constexpr FlagSpec k_health_flags[] = {{"interval", FlagType::string},
                                       {"timeout", FlagType::string},
                                       {"start-period", FlagType::string},
                                       {"start-interval", FlagType::string},
                                       {"retries", FlagType::string}};

struct InstructionSpec {
  std::string_view keyword;
  std::span<const FlagSpec> flags;
  ParseFn parse;
};

// Every instruction; the order matches the Command variant so `keyword_of` can index it.
const std::array<InstructionSpec, 18> k_instructions = {{
    {"FROM", k_from_flags, parse_from},
    {"RUN", k_run_flags, parse_run},
    {"CMD", {}, parse_cmd},
    {"ENTRYPOINT", {}, parse_entrypoint},
    {"SHELL", {}, parse_shell},
    {"LABEL", {}, parse_label},
    {"MAINTAINER", {}, parse_maintainer},
    {"EXPOSE", {}, parse_expose},
    {"ENV", {}, parse_env},
    {"COPY", k_copy_flags, parse_copy},
    {"ADD", k_add_flags, parse_add},
    {"VOLUME", {}, parse_volume},
    {"USER", {}, parse_user},
    {"WORKDIR", {}, parse_workdir},
    {"ARG", {}, parse_arg},
    {"ONBUILD", {}, parse_onbuild},
    {"STOPSIGNAL", {}, parse_stopsignal},
    {"HEALTHCHECK", k_health_flags, parse_healthcheck},
}};
static_assert(std::variant_size_v<Command> == 18);

// 0-based column of `needle` in the instruction's first line, -1 when absent.
int column_of(const Dockerfile& file, int line, std::string_view needle) {
  if (line < 1 || line > static_cast<int>(file.lines.size()) || needle.empty()) return -1;
  auto pos = file.lines[line - 1].find(needle);
  return pos == std::string::npos ? -1 : static_cast<int>(pos);
}

// The `--flag` an error message names, to put the caret under it.
std::string flag_in_message(std::string_view message) {
  auto pos = message.find("--");
  if (pos == std::string_view::npos) return {};
  auto end = message.find_first_of(" ,=:", pos);
  return std::string(message.substr(pos, end == std::string_view::npos ? end : end - pos));
}

}  // namespace

Result<TypedInstruction> parse_instruction(const Dockerfile& file, const Instruction& node) {
  const std::string kw = upper(node.keyword);
  auto spec = std::find_if(k_instructions.begin(), k_instructions.end(),
                           [&](const InstructionSpec& s) { return s.keyword == kw; });
  if (spec == k_instructions.end()) return unknown_instruction_error(file, node);
  auto flags = parse_flags(node.flags, spec->flags);
  if (!flags) {
    const std::string& msg = flags.error().message;
    return source_error(file, node.start_line, msg, column_of(file, node.start_line, flag_in_message(msg)));
  }
  Request request{file, node, kw, std::move(*flags)};
  auto command = spec->parse(request);
  if (!command) {
    const std::string& msg = command.error().message;
    // Errors from a wrapped ONBUILD trigger are already located.
    if (kw == "ONBUILD" && msg.rfind(file.path + ":", 0) == 0) return std::move(command).error();
    return source_error(file, node.start_line, msg, column_of(file, node.start_line, flag_in_message(msg)));
  }
  return TypedInstruction{std::move(*command), kw, node.original, node.start_line, node.end_line};
}

Result<std::vector<TypedInstruction>> parse_instructions(const Dockerfile& file) {
  std::vector<TypedInstruction> out;
  for (const Instruction& node : file.instructions) out.push_back(TRY(parse_instruction(file, node)));
  return out;
}

std::string_view keyword_of(const Command& command) { return k_instructions[command.index()].keyword; }

}  // namespace cbuild::dockerfile
