#include "cbuild/image/config.hpp"

#include <algorithm>

#include "json_fields.hpp"

namespace cbuild::image {
namespace {

using detail::FieldReader;
using detail::put_key_set;
using detail::put_nonempty;

Result<HealthConfig> health_from_json(const Json& json) {
  auto reader = TRY(FieldReader::open(json, "config.Healthcheck"));
  HealthConfig h;
  TRY(reader.strings("Test", h.test));
  TRY(reader.integer("Interval", h.interval));
  TRY(reader.integer("Timeout", h.timeout));
  TRY(reader.integer("StartPeriod", h.start_period));
  TRY(reader.integer("StartInterval", h.start_interval));
  TRY(reader.integer("Retries", h.retries));
  return h;
}

Json to_json(const HealthConfig& h) {
  Json out = Json::object();
  put_nonempty(out, "Test", h.test);
  if (h.interval) out["Interval"] = h.interval;
  if (h.timeout) out["Timeout"] = h.timeout;
  if (h.start_period) out["StartPeriod"] = h.start_period;
  if (h.start_interval) out["StartInterval"] = h.start_interval;
  if (h.retries) out["Retries"] = h.retries;
  return out;
}

Result<ContainerConfig> container_config_from_json(const Json& json) {
  auto reader = TRY(FieldReader::open(json, "config"));
  ContainerConfig c;
  TRY(reader.string("User", c.user));
  TRY(reader.key_set("ExposedPorts", c.exposed_ports));
  TRY(reader.strings("Env", c.env));
  TRY(reader.optional_strings("Entrypoint", c.entrypoint));
  TRY(reader.optional_strings("Cmd", c.cmd));
  TRY(reader.key_set("Volumes", c.volumes));
  TRY(reader.string("WorkingDir", c.working_dir));
  TRY(reader.string_map("Labels", c.labels));
  TRY(reader.string("StopSignal", c.stop_signal));
  if (const Json& health = reader.raw("Healthcheck"); !health.is_null()) {
    c.healthcheck = TRY(health_from_json(health));
  }
  TRY(reader.optional_strings("Shell", c.shell));
  TRY(reader.strings("OnBuild", c.on_build));
  TRY(reader.boolean("ArgsEscaped", c.args_escaped));
  c.extra = reader.extra({"User", "ExposedPorts", "Env", "Entrypoint", "Cmd", "Volumes", "WorkingDir",
                          "Labels", "StopSignal", "Healthcheck", "Shell", "OnBuild", "ArgsEscaped"});
  return c;
}

Json to_json(const ContainerConfig& c) {
  Json out = Json::object();
  put_nonempty(out, "User", c.user);
  put_key_set(out, "ExposedPorts", c.exposed_ports);
  put_nonempty(out, "Env", c.env);
  if (c.entrypoint) out["Entrypoint"] = *c.entrypoint;
  if (c.cmd) out["Cmd"] = *c.cmd;
  put_key_set(out, "Volumes", c.volumes);
  put_nonempty(out, "WorkingDir", c.working_dir);
  put_nonempty(out, "Labels", c.labels);
  put_nonempty(out, "StopSignal", c.stop_signal);
  if (c.healthcheck) out["Healthcheck"] = to_json(*c.healthcheck);
  if (c.shell) out["Shell"] = *c.shell;
  put_nonempty(out, "OnBuild", c.on_build);
  if (c.args_escaped) out["ArgsEscaped"] = true;
  detail::merge_extra(out, c.extra);
  return out;
}

Result<HistoryEntry> history_from_json(const Json& json) {
  auto reader = TRY(FieldReader::open(json, "history[]"));
  HistoryEntry h;
  TRY(reader.string("created", h.created));
  TRY(reader.string("created_by", h.created_by));
  TRY(reader.string("author", h.author));
  TRY(reader.string("comment", h.comment));
  TRY(reader.boolean("empty_layer", h.empty_layer));
  h.extra = reader.extra({"created", "created_by", "author", "comment", "empty_layer"});
  return h;
}

Json to_json(const HistoryEntry& h) {
  Json out = Json::object();
  put_nonempty(out, "created", h.created);
  put_nonempty(out, "created_by", h.created_by);
  put_nonempty(out, "author", h.author);
  put_nonempty(out, "comment", h.comment);
  if (h.empty_layer) out["empty_layer"] = true;
  detail::merge_extra(out, h.extra);
  return out;
}

Status read_rootfs(const FieldReader& top, ImageConfig& image) {
  const Json& rootfs = top.raw("rootfs");
  if (rootfs.is_null()) return {};  // tolerated: some tools omit it for empty images
  auto reader = TRY(FieldReader::open(rootfs, "rootfs"));
  std::string type;
  TRY(reader.string("type", type));
  if (type != "layers") return reader.field_error("type", "\"layers\"");
  std::vector<std::string> ids;
  TRY(reader.strings("diff_ids", ids));
  for (const std::string& id : ids) {
    auto digest = Digest::parse(id);
    if (!digest) return std::move(digest).error().wrap("`rootfs.diff_ids`");
    image.diff_ids.push_back(std::move(digest).value());
  }
  return {};
}

}  // namespace

std::optional<std::string> ContainerConfig::get_env(std::string_view key) const {
  for (auto it = env.rbegin(); it != env.rend(); ++it) {
    std::string_view entry = *it;
    if (entry.size() > key.size() && entry.starts_with(key) && entry[key.size()] == '=') {
      return std::string(entry.substr(key.size() + 1));
    }
  }
  return std::nullopt;
}

void ContainerConfig::set_env(std::string_view key, std::string_view value) {
  std::string entry = std::string(key) + "=" + std::string(value);
  for (std::string& e : env) {
    if (std::string_view(e).starts_with(std::string(key) + "=")) {
      e = std::move(entry);
      return;
    }
  }
  env.push_back(std::move(entry));
}

Result<ImageConfig> ImageConfig::parse(std::string_view bytes) {
  Json json = TRY(detail::parse_json(bytes, "image config"));
  auto reader = TRY(FieldReader::open(json, ""));
  ImageConfig image;
  TRY(reader.string("created", image.created));
  TRY(reader.string("author", image.author));
  TRY(reader.string("architecture", image.architecture));
  TRY(reader.string("os", image.os));
  TRY(reader.string("os.version", image.os_version));
  TRY(reader.strings("os.features", image.os_features));
  TRY(reader.string("variant", image.variant));
  if (const Json& config = reader.raw("config"); !config.is_null()) {
    image.config = TRY(container_config_from_json(config));
  }
  TRY(read_rootfs(reader, image));
  if (const Json& history = reader.raw("history"); !history.is_null()) {
    if (!history.is_array()) return reader.field_error("history", "an array");
    for (const Json& entry : history) image.history.push_back(TRY(history_from_json(entry)));
  }
  image.extra = reader.extra({"created", "author", "architecture", "os", "os.version", "os.features",
                              "variant", "config", "rootfs", "history"});
  return image;
}

std::string ImageConfig::serialize() const {
  Json out = Json::object();
  put_nonempty(out, "created", created);
  put_nonempty(out, "author", author);
  out["architecture"] = architecture;
  out["os"] = os;
  put_nonempty(out, "os.version", os_version);
  put_nonempty(out, "os.features", os_features);
  put_nonempty(out, "variant", variant);
  out["config"] = to_json(config);
  Json ids = Json::array();
  for (const Digest& d : diff_ids) ids.push_back(d.str());
  out["rootfs"] = Json{{"type", "layers"}, {"diff_ids", std::move(ids)}};
  if (!history.empty()) {
    Json list = Json::array();
    for (const HistoryEntry& h : history) list.push_back(to_json(h));
    out["history"] = std::move(list);
  }
  detail::merge_extra(out, extra);
  return out.dump();
}

ImageConfig ImageConfig::for_host() {
  Platform p = host_platform();
  ImageConfig image;
  image.architecture = p.architecture;
  image.os = p.os;
  image.variant = p.variant;
  return image;
}

size_t ImageConfig::non_empty_history() const {
  return static_cast<size_t>(
      std::count_if(history.begin(), history.end(), [](const HistoryEntry& h) { return !h.empty_layer; }));
}

}  // namespace cbuild::image
