#include "cbuild/context/stat_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <tuple>

namespace cbuild::context {

namespace {

Error db_error(sqlite3* db, const fs::path& path, std::string_view what) {
  return make_error("{} stat cache `{}`: {}", what, path.string(), db ? sqlite3_errmsg(db) : "out of memory");
}

/// A prepared statement finalized on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) { sqlite3_prepare_v2(db, sql, -1, &m_stmt, nullptr); }
  ~Statement() { sqlite3_finalize(m_stmt); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  sqlite3_stmt* get() const { return m_stmt; }
  explicit operator bool() const { return m_stmt != nullptr; }

 private:
  sqlite3_stmt* m_stmt = nullptr;
};

constexpr const char* k_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS files(
  path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, ino INTEGER,
  mode INTEGER, digest TEXT NOT NULL);
)sql";

}  // namespace

fs::path stat_cache_path(const fs::path& store_root, const fs::path& context_dir) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(context_dir, ec), ec);
  if (ec) canonical = fs::absolute(context_dir, ec);
  Digest d = Digest::of(canonical.string());
  return store_root / "contexts" / (std::string(d.hex()) + ".db");
}

StatCache::StatCache(StatCache&& o) noexcept
    : m_path(std::move(o.m_path)),
      m_db(std::exchange(o.m_db, nullptr)),
      m_rows(std::move(o.m_rows)),
      m_pending(std::move(o.m_pending)) {}

StatCache& StatCache::operator=(StatCache&& o) noexcept {
  if (this != &o) {
    if (m_db) sqlite3_close(m_db);
    m_path = std::move(o.m_path);
    m_db = std::exchange(o.m_db, nullptr);
    m_rows = std::move(o.m_rows);
    m_pending = std::move(o.m_pending);
  }
  return *this;
}

StatCache::~StatCache() {
  if (m_db) sqlite3_close(m_db);
}

Result<StatCache> StatCache::open(const fs::path& db_path) {
  if (db_path.has_parent_path()) TRY(make_dirs(db_path.parent_path()));
  StatCache cache;
  cache.m_path = db_path;
  if (sqlite3_open_v2(db_path.c_str(), &cache.m_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK)
    return db_error(cache.m_db, db_path, "open");
  sqlite3_busy_timeout(cache.m_db, 10'000);
  if (sqlite3_exec(cache.m_db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;", nullptr, nullptr,
                   nullptr) != SQLITE_OK ||
      sqlite3_exec(cache.m_db, k_schema, nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(cache.m_db, db_path, "initialise");
  TRY(cache.load());
  return cache;
}

Status StatCache::load() {
  std::string version;
  {
    Statement st(m_db, "SELECT value FROM meta WHERE key='version'");
    if (!st) return db_error(m_db, m_path, "read");
    if (sqlite3_step(st.get()) == SQLITE_ROW)
      version = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
  }
  if (version != std::to_string(k_stat_cache_version)) {
    std::string sql = fmt::format(
        "BEGIN IMMEDIATE; DELETE FROM files; INSERT OR REPLACE INTO meta(key, value) VALUES('version', "
        "'{}'); COMMIT;",
        k_stat_cache_version);
    if (sqlite3_exec(m_db, sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
      return db_error(m_db, m_path, "reset");
    }
    return {};
  }
  {
    Statement count(m_db, "SELECT count(*) FROM files");
    if (count && sqlite3_step(count.get()) == SQLITE_ROW)
      m_rows.reserve(static_cast<size_t>(sqlite3_column_int64(count.get(), 0)));
  }
  Statement st(m_db, "SELECT path, size, mtime_ns, ctime_ns, ino, mode, digest FROM files");
  if (!st) return db_error(m_db, m_path, "read");
  int rc;
  while ((rc = sqlite3_step(st.get())) == SQLITE_ROW) {
    auto text = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 6));
    std::string_view digest = text ? text : "";
    if (!digest.starts_with("sha256:") || digest.size() != 71) continue;  // damaged: a miss, not an error
    Row row;
    std::copy(digest.begin() + 7, digest.end(), row.hex.begin());
    row.key.size = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 1));
    row.key.mtime_ns = sqlite3_column_int64(st.get(), 2);
    row.key.ctime_ns = sqlite3_column_int64(st.get(), 3);
    row.key.ino = static_cast<uint64_t>(sqlite3_column_int64(st.get(), 4));
    row.key.mode = static_cast<uint32_t>(sqlite3_column_int64(st.get(), 5));
    auto path = reinterpret_cast<const char*>(sqlite3_column_text(st.get(), 0));
    if (!path) continue;
    m_rows.emplace(std::string(path, static_cast<size_t>(sqlite3_column_bytes(st.get(), 0))), std::move(row));
  }
  if (rc != SQLITE_DONE) return db_error(m_db, m_path, "read");
  return {};
}

std::optional<Digest> StatCache::lookup(const std::string& path, const StatKey& key) const {
  auto it = m_rows.find(path);
  if (it == m_rows.end() || !(it->second.key == key)) return std::nullopt;
  // Composed on the stack: a lookup per context file must not allocate more than the Digest.
  constexpr std::string_view k_prefix = "sha256:";
  std::array<char, k_prefix.size() + std::tuple_size_v<decltype(Row::hex)>> text;
  std::copy(k_prefix.begin(), k_prefix.end(), text.begin());
  std::copy(it->second.hex.begin(), it->second.hex.end(), text.begin() + k_prefix.size());
  auto digest = Digest::parse(std::string_view(text.data(), text.size()));
  if (!digest) return std::nullopt;
  return std::move(*digest);
}

void StatCache::record(const std::string& path, const StatKey& key, const Digest& digest) {
  Row row{key, {}};
  std::string_view hex = digest.hex();
  if (hex.size() != row.hex.size()) return;
  std::copy(hex.begin(), hex.end(), row.hex.begin());
  m_rows[path] = row;
  m_pending[path] = std::move(row);
}

void StatCache::forget(const std::string& path) {
  m_rows.erase(path);
  m_pending[path] = std::nullopt;
}

size_t StatCache::forget_unless(const std::function<bool(std::string_view)>& keep) {
  size_t forgotten = 0;
  for (auto it = m_rows.begin(); it != m_rows.end();) {
    if (keep(it->first)) {
      ++it;
      continue;
    }
    m_pending[it->first] = std::nullopt;
    it = m_rows.erase(it);
    ++forgotten;
  }
  return forgotten;
}

std::vector<std::string> StatCache::paths() const {
  std::vector<std::string> out;
  out.reserve(m_rows.size());
  for (const auto& [path, row] : m_rows) out.push_back(path);
  return out;
}

Status StatCache::commit() {
  if (m_pending.empty()) return {};
  if (sqlite3_exec(m_db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) != SQLITE_OK)
    return db_error(m_db, m_path, "write");
  auto fail = [&](std::string_view what) {
    Error e = db_error(m_db, m_path, what);
    sqlite3_exec(m_db, "ROLLBACK", nullptr, nullptr, nullptr);
    return e;
  };
  {
    Statement put(m_db,
                  "INSERT OR REPLACE INTO files(path, size, mtime_ns, ctime_ns, ino, mode, digest) "
                  "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    Statement del(m_db, "DELETE FROM files WHERE path = ?1");
    if (!put || !del) return fail("write");
    for (const auto& [path, row] : m_pending) {
      sqlite3_stmt* st = row ? put.get() : del.get();
      sqlite3_reset(st);
      sqlite3_bind_text(st, 1, path.data(), static_cast<int>(path.size()), SQLITE_STATIC);
      if (row) {
        sqlite3_bind_int64(st, 2, static_cast<sqlite3_int64>(row->key.size));
        sqlite3_bind_int64(st, 3, row->key.mtime_ns);
        sqlite3_bind_int64(st, 4, row->key.ctime_ns);
        sqlite3_bind_int64(st, 5, static_cast<sqlite3_int64>(row->key.ino));
        sqlite3_bind_int64(st, 6, row->key.mode);
        std::string d = "sha256:" + std::string(row->hex.data(), row->hex.size());
        sqlite3_bind_text(st, 7, d.data(), static_cast<int>(d.size()), SQLITE_TRANSIENT);
      }
      if (sqlite3_step(st) != SQLITE_DONE) return fail("write");
    }
  }
  if (sqlite3_exec(m_db, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) return fail("commit");
  m_pending.clear();
  return {};
}

}  // namespace cbuild::context
