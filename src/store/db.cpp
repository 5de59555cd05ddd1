#include "db.hpp"

namespace cbuild::store::detail {

Query::~Query() {
  if (!m_stmt) return;
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
}

void Query::reset() {
  sqlite3_reset(m_stmt);
  sqlite3_clear_bindings(m_stmt);
  m_next = 1;
}

Query& Query::bind(std::string_view text) {
  sqlite3_bind_text(m_stmt, m_next++, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  return *this;
}

Query& Query::bind(int64_t value) {
  sqlite3_bind_int64(m_stmt, m_next++, value);
  return *this;
}

Query& Query::bind_null() {
  sqlite3_bind_null(m_stmt, m_next++);
  return *this;
}

Result<bool> Query::step() {
  int rc = sqlite3_step(m_stmt);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return make_error("store database: {} (in `{}`)", sqlite3_errmsg(m_db), sqlite3_sql(m_stmt));
}

Status Query::run() {
  for (;;) {
    bool row = TRY(step());
    if (!row) return {};
  }
}

std::string Query::text(int col) const {
  const auto* p = sqlite3_column_text(m_stmt, col);
  if (!p) return {};
  return std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(m_stmt, col)));
}

Db::~Db() {
  for (auto& [sql, stmt] : m_cache) sqlite3_finalize(stmt);
  if (m_db) sqlite3_close(m_db);
}

Error Db::error(std::string_view what) const {
  return make_error("store database: {}: {}", what, m_db ? sqlite3_errmsg(m_db) : "not open");
}

Status Db::open(const std::filesystem::path& path) {
  int rc = sqlite3_open_v2(path.c_str(), &m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                           nullptr);
  if (rc != SQLITE_OK) {
    auto err = make_error("open `{}`: {}", path.string(), m_db ? sqlite3_errmsg(m_db) : sqlite3_errstr(rc));
    sqlite3_close(m_db);
    m_db = nullptr;
    return err;
  }
  // Wait for other processes' write transactions instead of failing with SQLITE_BUSY.
  sqlite3_busy_timeout(m_db, 120000);
  // The last connection to close keeps the -wal and -shm files instead of deleting them, so
  // the next cbuild does not create two inodes again; the size limit empties the kept WAL
  // after its final checkpoint (its frames would otherwise be checkpointed again by every
  // later close).
  int persist = 1;
  sqlite3_file_control(m_db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist);
  return exec("PRAGMA journal_size_limit = 0");
}

Status Db::exec(std::string_view sql) {
  std::string text(sql);
  char* msg = nullptr;
  if (sqlite3_exec(m_db, text.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
    auto err = make_error("store database: {} (in `{}`)", msg ? msg : sqlite3_errmsg(m_db), text);
    sqlite3_free(msg);
    return err;
  }
  return {};
}

Result<Query> Db::query(const std::string& sql) {
  auto it = m_cache.find(sql);
  if (it == m_cache.end()) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v3(m_db, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) != SQLITE_OK)
      return error(fmt::format("prepare `{}`", sql));
    it = m_cache.emplace(sql, stmt).first;
  }
  return Query(m_db, it->second);
}

}  // namespace cbuild::store::detail
