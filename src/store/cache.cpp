// The build-cache index: key → record JSON plus the snapshots and blobs the entry keeps.
#include "cbuild/store/store.hpp"
#include "impl.hpp"

namespace cbuild::store {

namespace {

constexpr const char* k_cache_columns = "key, record, size, created, last_used";

CacheRecord cache_from(const detail::Query& q) {
  return CacheRecord{q.text(0), q.text(1), q.u64(2), q.i64(3), q.i64(4), {}, {}};
}

Status load_refs(Store::Impl& impl, CacheRecord& record) {
  auto q = TRY(impl.db.query("SELECT kind, ref FROM cache_refs WHERE key = ? ORDER BY kind, ref"));
  q.bind(record.key);
  while (TRY(q.step())) {
    if (q.text(0) == "snapshot") {
      record.snapshots.push_back(q.text(1));
    } else if (auto d = Digest::parse(q.text(1)); d.ok()) {
      record.blobs.push_back(*d);
    }
  }
  return {};
}

Status insert_refs(Store::Impl& impl, const CacheRecord& record) {
  auto ref = TRY(impl.db.query("INSERT OR IGNORE INTO cache_refs(key, kind, ref) VALUES (?, ?, ?)"));
  for (const auto& id : record.snapshots) {
    ref.reset();
    TRY(ref.bind(record.key).bind("snapshot").bind(id).run());
  }
  for (const auto& blob : record.blobs) {
    ref.reset();
    TRY(ref.bind(record.key).bind("blob").bind(blob.str()).run());
  }
  return {};
}

}  // namespace

Status Store::put_cache(const CacheRecord& record) {
  if (record.key.empty()) return make_error(ExitCode::bad_input, "store cache entry: empty key");
  for (const auto& blob : record.blobs)
    if (!has_blob(blob))
      return make_error(ExitCode::not_found, "store cache entry `{}`: blob {} is not in the store", record.key,
                        blob.str());
  return m_impl->write([&]() -> Status {
    auto exists = TRY(m_impl->db.query("SELECT 1 FROM snapshots WHERE id = ?"));
    for (const auto& id : record.snapshots) {
      exists.reset();
      exists.bind(id);
      if (!TRY(exists.step()))
        return make_error(ExitCode::not_found, "store cache entry `{}`: snapshot `{}` not found", record.key, id);
    }
    const int64_t now = now_seconds();
    // Replacing the row cascades to its old references.
    auto del = TRY(m_impl->db.query("DELETE FROM cache WHERE key = ?"));
    TRY(del.bind(record.key).run());
    auto q = TRY(m_impl->db.query(fmt::format("INSERT INTO cache({}) VALUES (?, ?, ?, ?, ?)", k_cache_columns)));
    TRY(q.bind(record.key).bind(record.record).bind(record.size).bind(record.created ? record.created : now)
            .bind(record.last_used ? record.last_used : now).run());
    return insert_refs(*m_impl, record);
  });
}

Result<std::optional<CacheRecord>> Store::get_cache(std::string_view key) {
  std::lock_guard lock(m_impl->mu);
  CacheRecord record;
  {
    auto q = TRY(m_impl->db.query(fmt::format("SELECT {} FROM cache WHERE key = ?", k_cache_columns)));
    q.bind(key);
    if (!TRY(q.step())) return std::optional<CacheRecord>();
    record = cache_from(q);
  }
  TRY(load_refs(*m_impl, record));
  return std::optional<CacheRecord>(std::move(record));
}

Status Store::touch_cache(std::string_view key, int64_t when) {
  return m_impl->write([&]() -> Status {
    auto q = TRY(m_impl->db.query("UPDATE cache SET last_used = ? WHERE key = ?"));
    TRY(q.bind(when ? when : now_seconds()).bind(key).run());
    if (q.changes() == 0) return make_error(ExitCode::not_found, "cache entry `{}` not found", key);
    return {};
  });
}

Result<std::vector<CacheRecord>> Store::list_cache() {
  std::lock_guard lock(m_impl->mu);
  std::vector<CacheRecord> out;
  {
    auto q = TRY(m_impl->db.query(fmt::format("SELECT {} FROM cache ORDER BY last_used, key", k_cache_columns)));
    while (TRY(q.step())) out.push_back(cache_from(q));
  }
  for (auto& record : out) TRY(load_refs(*m_impl, record));
  return out;
}

Result<bool> Store::remove_cache(std::string_view key) {
  bool existed = false;
  TRY(m_impl->write([&]() -> Status {
    auto q = TRY(m_impl->db.query("DELETE FROM cache WHERE key = ?"));
    TRY(q.bind(key).run());
    existed = q.changes() > 0;
    return {};
  }));
  return existed;
}

}  // namespace cbuild::store
