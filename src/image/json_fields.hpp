#pragma once
// Module-private helpers to read typed fields out of JSON objects with errors that name
// the field ("`config.Env`: expected an array of strings"), and to keep unknown fields.
#include <initializer_list>
#include <set>
#include <string_view>

#include "cbuild/image/descriptor.hpp"

namespace cbuild::image::detail {

/// Parses JSON text without exceptions; the error names `what`.
Result<Json> parse_json(std::string_view bytes, std::string_view what);

/// Reads fields of one JSON object. Absent and null fields leave the output unchanged.
class FieldReader {
 public:
  /// `context` prefixes field names in errors ("config" → "`config.Env`").
  static Result<FieldReader> open(const Json& object, std::string context);

  Status string(std::string_view key, std::string& out) const;
  Status strings(std::string_view key, std::vector<std::string>& out) const;
  /// null → nullopt, an array (even empty) → a value.
  Status optional_strings(std::string_view key, std::optional<std::vector<std::string>>& out) const;
  Status string_map(std::string_view key, std::map<std::string, std::string>& out) const;
  /// The keys of an object of empty objects (`ExposedPorts`, `Volumes`).
  Status key_set(std::string_view key, std::set<std::string>& out) const;
  Status integer(std::string_view key, int64_t& out) const;
  Status boolean(std::string_view key, bool& out) const;
  /// The field itself (null when absent).
  const Json& raw(std::string_view key) const;
  /// Every field whose key is not in `known`.
  Json extra(std::initializer_list<std::string_view> known) const;
  Error field_error(std::string_view key, std::string_view expected) const;
  const std::string& context() const { return m_context; }

 private:
  FieldReader(const Json& object, std::string context) : m_object(&object), m_context(std::move(context)) {}
  const Json* find(std::string_view key) const;
  const Json* m_object;
  std::string m_context;
};

/// Writes `value` under `key` unless it is empty (Go's `omitempty`).
void put_nonempty(Json& out, const char* key, const std::string& value);
void put_nonempty(Json& out, const char* key, const std::vector<std::string>& value);
void put_nonempty(Json& out, const char* key, const std::map<std::string, std::string>& value);
/// An object of empty objects, unless empty.
void put_key_set(Json& out, const char* key, const std::set<std::string>& value);
/// Copies the fields of `extra` that `out` does not already have.
void merge_extra(Json& out, const Json& extra);

}  // namespace cbuild::image::detail
