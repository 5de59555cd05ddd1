// Cache keys and miss explanations.
//
// Key inputs (version 1) are a JSON object; the key is the sha256 of its compact dump
// (nlohmann sorts object keys, so equal inputs give equal keys):
//   v            1
//   parent       result identity of the parent ("sha256:…"), or "link" for COPY --link
//   instruction  the step's text after expansion ("RUN make", "COPY --chown=1 a /b")
//   env          ["K=V", …] the step's environment (RUN only: other steps do not read it)
//   args         {"NAME": "value"} cache-relevant build args in scope (RUN only)
//   user, workdir, shell, network, security, platform
//   mounts       [{type, target, source, from, id, sharing, readonly, content}] (RUN)
//   files        content checksum of the selected sources (COPY/ADD), "sha256:…"
//   from         {"stage or image": identity} of trees read (COPY --from, bind from=)
// The previous inputs of the same step (same context, Dockerfile, stage and position) are
// kept in the store's cache index under "slot:<sha256>" to explain the next miss.
#include "build_internal.hpp"

#include <fmt/format.h>

#include <set>

namespace cbuild::build {

std::string cache_key(const Json& inputs) { return Digest::of(inputs.dump()).str(); }

Digest next_identity(const Digest& parent, const Digest& content) {
  return Digest::of(parent.str() + " " + content.str());
}

namespace {

// Names of build args whose values differ between two args objects.
std::vector<std::string> changed_keys(const Json& a, const Json& b) {
  std::set<std::string> names;
  for (const auto& [k, v] : a.items()) names.insert(k);
  for (const auto& [k, v] : b.items()) names.insert(k);
  std::vector<std::string> out;
  for (const auto& n : names)
    if (!a.contains(n) || !b.contains(n) || a[n] != b[n]) out.push_back(n);
  return out;
}

// Environment variable names whose values differ ("K=V" lists).
std::vector<std::string> changed_env(const Json& a, const Json& b) {
  auto to_map = [](const Json& list) {
    Json m = Json::object();
    if (list.is_array())
      for (const auto& kv : list) {
        std::string s = kv.get<std::string>();
        auto eq = s.find('=');
        m[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
      }
    return m;
  };
  return changed_keys(to_map(a), to_map(b));
}

std::string name_list(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size() && i < 3; ++i) out += (i ? ", " : "") + names[i];
  if (names.size() > 3) out += fmt::format(" and {} more", names.size() - 3);
  return out;
}

const Json& field(const Json& j, const char* name) {
  static const Json k_null;
  auto it = j.find(name);
  return it == j.end() ? k_null : *it;
}

}  // namespace

std::string explain_miss(const Json* before, const Json& now,
                         const std::vector<context::FileRecord>& before_files,
                         const std::vector<context::FileRecord>& now_files) {
  if (!before || !before->is_object()) return "new step";
  const Json& b = *before;
  if (field(b, "instruction") != field(now, "instruction")) return "instruction changed";
  if (field(b, "parent") != field(now, "parent")) {
    return field(now, "first").is_boolean() && field(now, "first").get<bool>() ? "base image changed"
                                                                                : "parent rebuilt";
  }
  if (field(b, "files") != field(now, "files")) {
    auto d = context::diff(before_files, now_files);
    if (!d.empty()) return d.explain(3);
    return "source files changed";
  }
  if (field(b, "args") != field(now, "args")) {
    auto names = changed_keys(field(b, "args"), field(now, "args"));
    return fmt::format("build arg{} {} changed", names.size() > 1 ? "s" : "", name_list(names));
  }
  if (field(b, "from") != field(now, "from")) {
    const Json& bf = field(b, "from");
    const Json& nf = field(now, "from");
    std::vector<std::string> names;
    if (bf.is_object() && nf.is_object()) names = changed_keys(bf, nf);
    return names.empty() ? "source stage rebuilt" : fmt::format("{} rebuilt", name_list(names));
  }
  if (field(b, "mounts") != field(now, "mounts")) {
    const Json& bm = field(b, "mounts");
    const Json& nm = field(now, "mounts");
    if (bm.is_array() && nm.is_array() && bm.size() == nm.size()) {
      for (size_t i = 0; i < nm.size(); ++i) {
        Json x = bm[i], y = nm[i];
        if (x.value("content", "") != y.value("content", "")) {
          x.erase("content");
          y.erase("content");
          if (x == y)
            return fmt::format("{} mount source changed: {}", y.value("type", "bind"), y.value("target", ""));
        }
      }
    }
    return "mounts changed";
  }
  if (field(b, "env") != field(now, "env")) {
    auto names = changed_env(field(b, "env"), field(now, "env"));
    return fmt::format("environment changed: {}", name_list(names));
  }
  for (const char* name : {"user", "workdir", "shell", "network", "security", "platform"})
    if (field(b, name) != field(now, name)) return fmt::format("{} changed", name);
  return "not in the cache (evicted or never stored)";
}

}  // namespace cbuild::build
