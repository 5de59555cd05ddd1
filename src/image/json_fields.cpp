#include "json_fields.hpp"

#include <algorithm>

namespace cbuild::image::detail {

Result<Json> parse_json(std::string_view bytes, std::string_view what) {
  Json json = Json::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return make_error(ExitCode::bad_input, "parse {}: invalid JSON", what);
  return json;
}

Result<FieldReader> FieldReader::open(const Json& object, std::string context) {
  if (!object.is_object()) {
    return make_error(ExitCode::bad_input, "`{}`: expected a JSON object", context.empty() ? "." : context);
  }
  return FieldReader(object, std::move(context));
}

const Json* FieldReader::find(std::string_view key) const {
  auto it = m_object->find(std::string(key));
  if (it == m_object->end() || it->is_null()) return nullptr;
  return &*it;
}

const Json& FieldReader::raw(std::string_view key) const {
  static const Json k_null;
  const Json* field = find(key);
  return field ? *field : k_null;
}

Error FieldReader::field_error(std::string_view key, std::string_view expected) const {
  return make_error(ExitCode::bad_input, "`{}{}{}`: expected {}", m_context, m_context.empty() ? "" : ".",
                    key, expected);
}

Status FieldReader::string(std::string_view key, std::string& out) const {
  const Json* field = find(key);
  if (!field) return {};
  if (!field->is_string()) return field_error(key, "a string");
  out = field->get<std::string>();
  return {};
}

Status FieldReader::strings(std::string_view key, std::vector<std::string>& out) const {
  std::optional<std::vector<std::string>> value;
  TRY(optional_strings(key, value));
  if (value) out = std::move(*value);
  return {};
}

Status FieldReader::optional_strings(std::string_view key,
                                     std::optional<std::vector<std::string>>& out) const {
  const Json* field = find(key);
  if (!field) {
    if (m_object->contains(std::string(key))) out.reset();  // explicit null
    return {};
  }
  if (!field->is_array()) return field_error(key, "an array of strings");
  std::vector<std::string> values;
  for (const Json& item : *field) {
    if (!item.is_string()) return field_error(key, "an array of strings");
    values.push_back(item.get<std::string>());
  }
  out = std::move(values);
  return {};
}

Status FieldReader::string_map(std::string_view key, std::map<std::string, std::string>& out) const {
  const Json* field = find(key);
  if (!field) return {};
  if (!field->is_object()) return field_error(key, "an object of strings");
  out.clear();
  for (const auto& [k, v] : field->items()) {
    if (!v.is_string()) return field_error(key, "an object of strings");
    out.emplace(k, v.get<std::string>());
  }
  return {};
}

Status FieldReader::key_set(std::string_view key, std::set<std::string>& out) const {
  const Json* field = find(key);
  if (!field) return {};
  if (!field->is_object()) return field_error(key, "an object");
  out.clear();
  for (const auto& item : field->items()) out.insert(item.key());
  return {};
}

Status FieldReader::integer(std::string_view key, int64_t& out) const {
  const Json* field = find(key);
  if (!field) return {};
  if (!field->is_number_integer()) return field_error(key, "an integer");
  out = field->get<int64_t>();
  return {};
}

Status FieldReader::boolean(std::string_view key, bool& out) const {
  const Json* field = find(key);
  if (!field) return {};
  if (!field->is_boolean()) return field_error(key, "a boolean");
  out = field->get<bool>();
  return {};
}

Json FieldReader::extra(std::initializer_list<std::string_view> known) const {
  Json out = Json::object();
  for (const auto& [k, v] : m_object->items()) {
    if (std::find(known.begin(), known.end(), k) == known.end()) out[k] = v;
  }
  return out;
}

void put_nonempty(Json& out, const char* key, const std::string& value) {
  if (!value.empty()) out[key] = value;
}

void put_nonempty(Json& out, const char* key, const std::vector<std::string>& value) {
  if (!value.empty()) out[key] = value;
}

void put_nonempty(Json& out, const char* key, const std::map<std::string, std::string>& value) {
  if (!value.empty()) out[key] = value;
}

void put_key_set(Json& out, const char* key, const std::set<std::string>& value) {
  if (value.empty()) return;
  Json object = Json::object();
  for (const std::string& k : value) object[k] = Json::object();
  out[key] = std::move(object);
}

void merge_extra(Json& out, const Json& extra) {
  if (!extra.is_object()) return;
  for (const auto& [k, v] : extra.items()) {
    if (!out.contains(k)) out[k] = v;
  }
}

}  // namespace cbuild::image::detail
