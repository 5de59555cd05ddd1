#pragma once
// Thin SQLite wrapper private to the store: a connection with a statement cache and a
// Query that binds by position and resets itself when it goes out of scope.
#include "cbuild/util/result.hpp"

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <utility>

namespace cbuild::store::detail {

class Query {
 public:
  Query(sqlite3* db, sqlite3_stmt* stmt) : m_db(db), m_stmt(stmt) {}
  Query(const Query&) = delete;
  Query& operator=(const Query&) = delete;
  Query(Query&& o) noexcept : m_db(o.m_db), m_stmt(std::exchange(o.m_stmt, nullptr)), m_next(o.m_next) {}
  Query& operator=(Query&&) = delete;
  ~Query();

  Query& bind(std::string_view text);
  Query& bind(int64_t value);
  Query& bind(uint64_t value) { return bind(static_cast<int64_t>(value)); }
  Query& bind(int value) { return bind(static_cast<int64_t>(value)); }
  Query& bind_null();

  /// Advance: true when a row is available, false when done.
  Result<bool> step();
  /// Step to completion (for statements without rows).
  Status run();
  /// Reset for another execution with new bindings.
  void reset();
  /// Rows changed by the last run().
  int64_t changes() const { return sqlite3_changes(m_db); }

  std::string text(int col) const;
  int64_t i64(int col) const { return sqlite3_column_int64(m_stmt, col); }
  uint64_t u64(int col) const { return static_cast<uint64_t>(i64(col)); }

 private:
  sqlite3* m_db;
  sqlite3_stmt* m_stmt;
  int m_next = 1;
};

class Db {
 public:
  Db() = default;
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  ~Db();

  Status open(const std::filesystem::path& path);
  /// Run SQL without results (may hold several statements).
  Status exec(std::string_view sql);
  /// A cached prepared statement for `sql`, ready to bind.
  Result<Query> query(const std::string& sql);
  Error error(std::string_view what) const;

 private:
  sqlite3* m_db = nullptr;
  std::map<std::string, sqlite3_stmt*> m_cache;
};

}  // namespace cbuild::store::detail
