// `RUN --mount` parsing: a CSV record of fields, each dispatched through a key table.
#include "cbuild/dockerfile/mount.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>

namespace cbuild::dockerfile {
namespace {

Error mount_error(std::string message) { return Error{std::move(message), ExitCode::bad_input}; }

// One CSV record as Go's encoding/csv reads it: `"` quotes a field, `""` inside quotes is
// a literal quote; a quote inside an unquoted field is an error.
Result<std::vector<std::string>> split_csv(std::string_view text) {
  std::vector<std::string> fields;
  size_t i = 0;
  for (;;) {
    std::string field;
    if (i < text.size() && text[i] == '"') {
      ++i;
      for (;;) {
        if (i >= text.size())
          return mount_error("failed to parse csv mounts: extraneous or missing \" in quoted-field");
        if (text[i] == '"') {
          if (i + 1 < text.size() && text[i + 1] == '"') {
            field += '"';
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        field += text[i++];
      }
      if (i < text.size() && text[i] != ',')
        return mount_error("failed to parse csv mounts: extraneous or missing \" in quoted-field");
    } else {
      while (i < text.size() && text[i] != ',') {
        if (text[i] == '"') return mount_error("failed to parse csv mounts: bare \" in non-quoted-field");
        field += text[i++];
      }
    }
    fields.push_back(std::move(field));
    if (i >= text.size()) break;
    ++i;  // the comma
  }
  return fields;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Go's strconv.ParseBool.
std::optional<bool> parse_bool(std::string_view s) {
  static constexpr std::array<std::string_view, 6> k_true = {"1", "t", "T", "TRUE", "true", "True"};
  static constexpr std::array<std::string_view, 6> k_false = {"0", "f", "F", "FALSE", "false", "False"};
  for (auto t : k_true)
    if (s == t) return true;
  for (auto f : k_false)
    if (s == f) return false;
  return std::nullopt;
}

std::optional<uint32_t> parse_u32(std::string_view s, int base) {
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

bool file_info_allowed(MountType t) {
  return t == MountType::secret || t == MountType::ssh || t == MountType::cache;
}

struct TypeName {
  std::string_view name;
  MountType type;
};
constexpr std::array<TypeName, 5> k_types = {{{"bind", MountType::bind},
                                              {"cache", MountType::cache},
                                              {"tmpfs", MountType::tmpfs},
                                              {"secret", MountType::secret},
                                              {"ssh", MountType::ssh}}};

struct SharingName {
  std::string_view name;
  CacheSharing sharing;
};
constexpr std::array<SharingName, 3> k_sharings = {{{"shared", CacheSharing::shared},
                                                    {"private", CacheSharing::private_},
                                                    {"locked", CacheSharing::locked}}};

struct ParseState {
  MountSpec m;
  bool ro_auto = true;
};

using KeyHandler = Status (*)(ParseState&, const std::string& key, const std::string& value);

Status set_bool(ParseState& st, const std::string& key, const std::string& value, bool invert) {
  auto b = parse_bool(value);
  if (!b) return mount_error(fmt::format("invalid value for {}: {}", key, value));
  st.m.readonly = invert ? !*b : *b;
  st.ro_auto = false;
  return {};
}

Status set_id_number(std::optional<uint32_t>& field, const std::string& key, const std::string& value,
                     int base) {
  auto v = parse_u32(value, base);
  if (!v) return mount_error(fmt::format("invalid value {} for {}", value, key));
  field = *v;
  return {};
}

struct KeyEntry {
  std::string_view name;
  KeyHandler handler;
};

// Every key BuildKit accepts, with its aliases.
const std::array<KeyEntry, 19> k_keys = {{
    {"type",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       for (const auto& t : k_types)
         if (t.name == lower(v)) {
           st.m.type = t.type;
           return {};
         }
       return mount_error(fmt::format("unsupported mount type \"{}\" (bind, cache, tmpfs, secret, ssh)", v));
     }},
    {"from",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.from = v;
       return {};
     }},
    {"source",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.source = v;
       return {};
     }},
    {"src",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.source = v;
       return {};
     }},
    {"target",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.target = v;
       return {};
     }},
    {"dst",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.target = v;
       return {};
     }},
    {"destination",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.target = v;
       return {};
     }},
    {"readonly",
     [](ParseState& st, const std::string& k, const std::string& v) { return set_bool(st, k, v, false); }},
    {"ro",
     [](ParseState& st, const std::string& k, const std::string& v) { return set_bool(st, k, v, false); }},
    {"readwrite",
     [](ParseState& st, const std::string& k, const std::string& v) { return set_bool(st, k, v, true); }},
    {"rw",
     [](ParseState& st, const std::string& k, const std::string& v) { return set_bool(st, k, v, true); }},
    {"required",
     [](ParseState& st, const std::string& k, const std::string& v) -> Status {
       if (st.m.type != MountType::secret && st.m.type != MountType::ssh)
         return mount_error(fmt::format("unexpected key '{}' for mount type '{}'", k, to_string(st.m.type)));
       auto b = parse_bool(v);
       if (!b) return mount_error(fmt::format("invalid value for {}: {}", k, v));
       st.m.required = *b;
       return {};
     }},
    {"size",
     [](ParseState& st, const std::string& k, const std::string& v) -> Status {
       if (st.m.type != MountType::tmpfs)
         return mount_error(fmt::format("unexpected key '{}' for mount type '{}'", k, to_string(st.m.type)));
       auto size = parse_ram_size(v);
       if (!size) return mount_error(fmt::format("invalid value for {}: {}", k, v));
       st.m.size = *size;
       return {};
     }},
    {"env",
     [](ParseState& st, const std::string& k, const std::string& v) -> Status {
       if (st.m.type != MountType::secret)
         return mount_error(fmt::format("unexpected key '{}' for mount type '{}'", k, to_string(st.m.type)));
       st.m.env = v;
       return {};
     }},
    {"id",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       st.m.id = v;
       return {};
     }},
    {"sharing",
     [](ParseState& st, const std::string&, const std::string& v) -> Status {
       for (const auto& s : k_sharings)
         if (s.name == lower(v)) {
           st.m.sharing = s.sharing;
           st.m.sharing_set = true;
           return {};
         }
       return mount_error(fmt::format("unsupported sharing value \"{}\" (shared, private, locked)", v));
     }},
    {"mode", [](ParseState& st, const std::string& k,
                const std::string& v) { return set_id_number(st.m.mode, k, v, 8); }},
    {"uid", [](ParseState& st, const std::string& k,
               const std::string& v) { return set_id_number(st.m.uid, k, v, 10); }},
    {"gid", [](ParseState& st, const std::string& k,
               const std::string& v) { return set_id_number(st.m.gid, k, v, 10); }},
}};

Status apply_field(ParseState& st, const std::string& key, const std::string& value,
                   const std::string& field) {
  for (const auto& e : k_keys)
    if (e.name == key) return e.handler(st, key, value);
  return mount_error(fmt::format("unexpected key '{}' in '{}'", key, field));
}

// A field without `=`: only the boolean keys may stand alone.
Status apply_bare(ParseState& st, const std::string& key, const std::string& field) {
  if (key == "readonly" || key == "ro" || key == "readwrite" || key == "rw") {
    st.m.readonly = key == "readonly" || key == "ro";
    st.ro_auto = false;
    return {};
  }
  if (key == "required") {
    if (st.m.type != MountType::secret && st.m.type != MountType::ssh)
      return mount_error(fmt::format("unexpected key '{}' for mount type '{}'", key, to_string(st.m.type)));
    st.m.required = true;
    return {};
  }
  return mount_error(fmt::format("invalid field '{}' must be a key=value pair", field));
}

Status validate(ParseState& st) {
  MountSpec& m = st.m;
  if (!file_info_allowed(m.type)) {
    if (m.mode) return mount_error(fmt::format("mode not allowed for \"{}\" type mounts", to_string(m.type)));
    if (m.uid) return mount_error(fmt::format("uid not allowed for \"{}\" type mounts", to_string(m.type)));
    if (m.gid) return mount_error(fmt::format("gid not allowed for \"{}\" type mounts", to_string(m.type)));
  }
  if (st.ro_auto) m.readonly = !(m.type == MountType::cache || m.type == MountType::tmpfs);
  if (m.type == MountType::secret) {
    if (!m.from.empty()) return mount_error("secret mount should not have a from");
    if (m.sharing_set) return mount_error("secret mount should not define sharing");
    if (m.source.empty() && m.target.empty() && m.id.empty())
      return mount_error("invalid secret mount. one of source, target required");
    if (!m.source.empty() && !m.id.empty()) return mount_error("both source and id can't be set");
  }
  if (m.sharing_set && m.type != MountType::cache)
    return mount_error(fmt::format("invalid cache sharing set for {} mount", to_string(m.type)));
  if (m.type == MountType::ssh && !m.from.empty()) return mount_error("ssh mount should not have a from");
  if (m.type == MountType::tmpfs && !m.from.empty()) return mount_error("tmpfs mount should not have a from");
  bool needs_target = m.type == MountType::bind || m.type == MountType::cache || m.type == MountType::tmpfs;
  if (needs_target && m.target.empty())
    return mount_error(
        fmt::format("mount type {} requires a target (target=, dst= or destination=)", to_string(m.type)));
  return {};
}

}  // namespace

std::string_view to_string(MountType type) {
  for (const auto& t : k_types)
    if (t.type == type) return t.name;
  return "bind";
}

std::string_view to_string(CacheSharing sharing) {
  for (const auto& s : k_sharings)
    if (s.sharing == sharing) return s.name;
  return "shared";
}

Result<MountSpec> parse_mount(std::string_view value, const MountExpander& expand) {
  auto fields = TRY(split_csv(value));
  ParseState st;
  bool deferred = false;
  for (const auto& field : fields) {
    auto eq = field.find('=');
    std::string key = lower(std::string_view(field).substr(0, eq));
    if (eq == std::string::npos) {
      TRY(apply_bare(st, key, field));
      continue;
    }
    std::string v = field.substr(eq + 1);
    if (expand) {
      v = TRY(expand(v));
    } else if (v.find('$') != std::string::npos) {
      // Checked when the plan expands it; keep string fields as written.
      deferred = true;
      bool is_string_key = key == "from" || key == "source" || key == "src" || key == "target" ||
                           key == "dst" || key == "destination" || key == "id" || key == "env";
      if (is_string_key)
        TRY(apply_field(st, key, v, field));
      else if (std::none_of(k_keys.begin(), k_keys.end(), [&](const KeyEntry& e) { return e.name == key; }))
        return mount_error(fmt::format("unexpected key '{}' in '{}'", key, field));
      continue;
    }
    TRY(apply_field(st, key, v, field));
  }
  if (deferred) {
    if (st.ro_auto) st.m.readonly = !(st.m.type == MountType::cache || st.m.type == MountType::tmpfs);
    return st.m;
  }
  TRY(validate(st));
  return st.m;
}

namespace {

std::string join_path(std::string_view dir, std::string_view rel) {
  std::string out(dir.empty() ? "/" : dir);
  if (out.back() != '/') out += '/';
  out += rel;
  return out;
}

std::string base_name(std::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

Result<void> apply_mount_defaults(MountSpec& m, std::string_view workdir, int ssh_index) {
  if (!m.target.empty() && m.target.front() != '/') m.target = join_path(workdir, m.target);
  switch (m.type) {
    case MountType::cache:
      if (m.id.empty()) m.id = m.target;
      if (!m.mode) m.mode = 0755;
      if (!m.uid) m.uid = 0;
      if (!m.gid) m.gid = 0;
      break;
    case MountType::secret:
      if (!m.source.empty()) m.id = m.source;
      if (m.id.empty()) {
        if (m.target.empty()) return mount_error("invalid secret mount. one of source, target required");
        m.id = base_name(m.target);
      }
      if (m.target.empty() && !m.env) m.target = "/run/secrets/" + base_name(m.id);
      if (!m.mode) m.mode = 0400;
      if (!m.uid) m.uid = 0;
      if (!m.gid) m.gid = 0;
      break;
    case MountType::ssh:
      if (m.id.empty()) m.id = "default";
      if (m.target.empty()) m.target = fmt::format("/run/buildkit/ssh_agent.{}", ssh_index);
      if (!m.mode) m.mode = 0600;
      if (!m.uid) m.uid = 0;
      if (!m.gid) m.gid = 0;
      break;
    case MountType::bind:
    case MountType::tmpfs:
      break;
  }
  if (m.target == "/") return mount_error("invalid mount target \"/\"");
  return {};
}

// docker/go-units RAMInBytes: a decimal number, optional space, optional k/m/g/t/p with
// optional i and b; multiples of 1024.
Result<uint64_t> parse_ram_size(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && (std::isdigit(static_cast<unsigned char>(text[i])) || text[i] == '.')) ++i;
  std::string number(text.substr(0, i));
  bool well_formed = !number.empty() && std::isdigit(static_cast<unsigned char>(number.front())) &&
                     std::isdigit(static_cast<unsigned char>(number.back())) &&
                     number.find("..") == std::string::npos;
  if (!well_formed) return mount_error(fmt::format("invalid size: '{}'", text));
  std::string_view rest = text.substr(i);
  if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  double multiplier = 1;
  static constexpr std::string_view k_units = "kmgtp";
  if (!rest.empty()) {
    auto u = k_units.find(static_cast<char>(std::tolower(static_cast<unsigned char>(rest.front()))));
    if (u != std::string_view::npos) {
      multiplier = std::pow(1024.0, static_cast<double>(u + 1));
      rest.remove_prefix(1);
    }
  }
  if (!rest.empty() && (rest.front() == 'i' || rest.front() == 'I')) rest.remove_prefix(1);
  if (!rest.empty() && (rest.front() == 'b' || rest.front() == 'B')) rest.remove_prefix(1);
  if (!rest.empty()) return mount_error(fmt::format("invalid size: '{}'", text));
  // Go's float parse takes only the first dot; "1.2.3" parses as 1.2 there too.
  double value = std::strtod(number.c_str(), nullptr);
  return static_cast<uint64_t>(value * multiplier);
}

}  // namespace cbuild::dockerfile
