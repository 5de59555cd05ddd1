#pragma once
/// The image configuration (OCI image-spec config.md, with docker's extensions that
/// BuildKit also writes: Healthcheck, Shell, OnBuild, ArgsEscaped). The image ID is the
/// digest of the config bytes, as in docker. A loaded image keeps its config bytes as they
/// were (in the store), so parsing is for reading; `serialize` is for configs cbuild makes.
/// Fields cbuild does not model are kept in `extra` (top level and `config`) and written back.
#include <set>

#include "cbuild/image/descriptor.hpp"

namespace cbuild::image {

/// HEALTHCHECK: durations in nanoseconds, as docker stores them.
struct HealthConfig {
  std::vector<std::string> test;  ///< {"NONE"}, {"CMD", ...} or {"CMD-SHELL", "..."}
  int64_t interval = 0;
  int64_t timeout = 0;
  int64_t start_period = 0;
  int64_t start_interval = 0;
  int64_t retries = 0;

  bool operator==(const HealthConfig&) const = default;
};

/// The runtime defaults of containers run from the image (`config` in the JSON).
struct ContainerConfig {
  std::string user;
  std::set<std::string> exposed_ports;  ///< "80/tcp"
  std::vector<std::string> env;         ///< "KEY=value", in order
  /// nullopt: not set (inherits nothing, JSON null/absent); a value, even empty: set.
  std::optional<std::vector<std::string>> entrypoint;
  std::optional<std::vector<std::string>> cmd;
  std::set<std::string> volumes;
  std::string working_dir;
  std::map<std::string, std::string> labels;
  std::string stop_signal;
  std::optional<HealthConfig> healthcheck;
  std::optional<std::vector<std::string>> shell;
  std::vector<std::string> on_build;
  bool args_escaped = false;
  Json extra = Json::object();

  /// Value of an environment variable (the last `KEY=` entry), nullopt when unset.
  std::optional<std::string> get_env(std::string_view key) const;
  /// Replaces `KEY=…` in place or appends it (docker's ENV semantics).
  void set_env(std::string_view key, std::string_view value);

  bool operator==(const ContainerConfig&) const = default;
};

/// One `history` entry: what made a layer (or an empty-layer step).
struct HistoryEntry {
  std::string created;  ///< RFC 3339
  std::string created_by;
  std::string author;
  std::string comment;
  bool empty_layer = false;
  Json extra = Json::object();

  bool operator==(const HistoryEntry&) const = default;
};

/// The image config document.
struct ImageConfig {
  std::string created;  ///< RFC 3339, may be empty
  std::string author;
  std::string architecture;
  std::string os;
  std::string os_version;
  std::vector<std::string> os_features;
  std::string variant;
  ContainerConfig config;
  std::vector<Digest> diff_ids;  ///< rootfs.diff_ids (rootfs.type is always "layers")
  std::vector<HistoryEntry> history;
  Json extra = Json::object();

  /// Parses config JSON (OCI or docker); errors have ExitCode::bad_input and name the field.
  static Result<ImageConfig> parse(std::string_view bytes);
  /// Compact JSON, keys sorted: deterministic for equal values.
  std::string serialize() const;
  /// A config for this host's platform with no layers (`FROM scratch`, `import`).
  static ImageConfig for_host();

  /// Number of history entries that are not empty layers: must equal diff_ids.size().
  size_t non_empty_history() const;
  bool operator==(const ImageConfig&) const = default;
};

/// The image ID of a config: sha256 of its bytes.
inline Digest image_id(std::string_view config_bytes) { return Digest::of(config_bytes); }

}  // namespace cbuild::image
