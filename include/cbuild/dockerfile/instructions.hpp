#pragma once
/// Typed Dockerfile instructions: one struct per instruction, converted from AST nodes by
/// a table keyed by keyword, with flags checked against a per-instruction flag table
/// (BuildKit's bflag rules: `--name=value`, booleans `--link`/`--link=true|false`,
/// repeatable string-list flags). Values are as written: the plan module expands them.
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "cbuild/dockerfile/ast.hpp"
#include "cbuild/dockerfile/mount.hpp"

namespace cbuild::dockerfile {

/// `key=value` of ENV and LABEL. `no_delim`: the legacy `ENV key value` form.
struct KeyValue {
  std::string key;
  std::string value;
  bool no_delim = false;
  friend bool operator==(const KeyValue&, const KeyValue&) = default;
};

/// One name of an ARG line, with its default when one was written.
struct ArgDecl {
  std::string key;
  std::optional<std::string> value;
  friend bool operator==(const ArgDecl&, const ArgDecl&) = default;
};

/// A heredoc used as a RUN script or as a COPY/ADD source file.
struct HeredocFile {
  std::string name;  ///< the delimiter, e.g. "EOF" (COPY: the file name)
  std::string data;  ///< the body (tabs already stripped for `<<-`)
  bool chomp = false;
  bool expand = true;  ///< false when the delimiter was quoted
  friend bool operator==(const HeredocFile&, const HeredocFile&) = default;
};

/// RUN/CMD/ENTRYPOINT command: exec form (`prepend_shell` false) or one shell string.
struct CommandLine {
  std::vector<std::string> args;
  bool prepend_shell = false;
  std::vector<HeredocFile> files;  ///< heredocs of a RUN
};

struct FromCommand {
  std::string base;        ///< image reference, stage name or "scratch", as written
  std::string stage_name;  ///< `AS name`, lowercased; empty when unnamed
  std::string platform;    ///< `--platform`, as written
};
struct RunCommand {
  CommandLine command;
  std::vector<std::string> mount_flags;  ///< `--mount` values as written (expanded by the plan)
  std::vector<MountSpec> mounts;         ///< parsed; fields with `$` kept as written
  std::string network = "default";       ///< none | host | default
  std::string security = "sandbox";      ///< sandbox | insecure
};
struct CmdCommand {
  CommandLine command;
};
struct EntrypointCommand {
  CommandLine command;
};
struct ShellCommand {
  std::vector<std::string> shell;
};
struct LabelCommand {
  std::vector<KeyValue> labels;
};
struct MaintainerCommand {
  std::string maintainer;
};
struct ExposeCommand {
  std::vector<std::string> ports;  ///< "80", "53/udp", "8000-8010/tcp"
};
struct EnvCommand {
  std::vector<KeyValue> env;
};
struct CopyCommand {
  std::vector<std::string> sources;   ///< paths (context or `from`), not heredocs
  std::vector<HeredocFile> contents;  ///< `COPY <<EOF /dest` sources
  std::string dest;
  std::string from;   ///< `--from`: stage name, index or image
  std::string chown;  ///< `--chown=user:group`
  std::string chmod;  ///< `--chmod=0755` or symbolic
  bool link = false;
  bool parents = false;
  std::vector<std::string> excludes;  ///< `--exclude` (repeatable)
};
struct AddCommand {
  std::vector<std::string> sources;  ///< paths, URLs or git refs
  std::vector<HeredocFile> contents;
  std::string dest;
  std::string chown;
  std::string chmod;
  std::string checksum;  ///< `--checksum=sha256:...`
  bool link = false;
  bool keep_git_dir = false;
  std::vector<std::string> excludes;
};
struct VolumeCommand {
  std::vector<std::string> volumes;
};
struct UserCommand {
  std::string user;
};
struct WorkdirCommand {
  std::string path;
};
struct ArgCommand {
  std::vector<ArgDecl> args;
};
/// A trigger recorded for images built FROM this one; run by the builder later.
struct OnbuildCommand {
  std::string keyword;     ///< the trigger's instruction, uppercased
  std::string expression;  ///< the trigger text without "ONBUILD " (heredocs appended)
};
struct StopsignalCommand {
  std::string signal;
};
/// HEALTHCHECK: `test` is {"NONE"}, {"CMD", args...} or {"CMD-SHELL", command}.
/// Durations in nanoseconds; 0 means "inherit the default".
struct HealthcheckCommand {
  std::vector<std::string> test;
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t start_interval_ns = 0;
  int retries = 0;
};

using Command = std::variant<FromCommand, RunCommand, CmdCommand, EntrypointCommand, ShellCommand,
                             LabelCommand, MaintainerCommand, ExposeCommand, EnvCommand, CopyCommand,
                             AddCommand, VolumeCommand, UserCommand, WorkdirCommand, ArgCommand,
                             OnbuildCommand, StopsignalCommand, HealthcheckCommand>;

/// A typed instruction and where it came from.
struct TypedInstruction {
  Command command;
  std::string keyword;   ///< uppercased, e.g. "COPY"
  std::string original;  ///< the logical line as written
  int start_line = 0;
  int end_line = 0;
};

/// Convert one AST node. Errors: "FILE:LINE: unknown instruction: FOO", "unknown flag
/// --mout", "duplicate flag specified: --from", "COPY requires at least two arguments...",
/// bad `--mount`, bad durations; formatted by `source_error` with the line and a caret.
Result<TypedInstruction> parse_instruction(const Dockerfile& file, const Instruction& node);

/// Convert every instruction of a file, stopping at the first error.
Result<std::vector<TypedInstruction>> parse_instructions(const Dockerfile& file);

/// The uppercase keyword of a typed command ("RUN", "HEALTHCHECK", ...).
std::string_view keyword_of(const Command& command);

/// Go's time.ParseDuration ("1m30s", "1.5h", "300ms"), in nanoseconds.
Result<int64_t> parse_duration(std::string_view text);
/// Go's time.Duration.String(): "0s", "1.5s", "1m30s", "1h0m0s", "250ms", "2µs".
std::string format_duration(int64_t ns);

/// The ports an EXPOSE entry `[IP:][HOSTPORT:]PORT[-PORT][/tcp|udp|sctp]` stands for, each as
/// "PORT/proto" (lowercase, tcp by default): a range gives one per port, as BuildKit records
/// them in the image config. Errors name what is wrong.
Result<std::vector<std::string>> exposed_ports(std::string_view spec);

/// Check a STOPSIGNAL value: a signal number or name (with or without "SIG").
Status validate_signal(std::string_view signal);

/// Check a `--chmod` value: octal (up to 07777) or symbolic (`u+x,go-w`).
Status validate_chmod(std::string_view chmod);

}  // namespace cbuild::dockerfile
