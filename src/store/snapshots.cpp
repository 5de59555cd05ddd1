// Snapshot records and directories; cache-mount directories.
#include "cbuild/store/store.hpp"
#include "impl.hpp"

#include <sys/stat.h>

#include <cerrno>

namespace cbuild::store {

namespace {

constexpr const char* k_snapshot_columns = "id, parent, diff_id, size, created, last_used, info, base";

SnapshotRecord snapshot_from(const detail::Query& q) {
  auto diff = Digest::parse(q.text(2));
  return SnapshotRecord{q.text(0), q.text(1), diff.ok() ? *diff : Digest(), q.u64(3), q.i64(4), q.i64(5), q.text(6), q.text(7)};
}

Result<std::optional<SnapshotRecord>> select_snapshot(Store::Impl& impl, std::string_view id) {
  auto q = TRY(impl.db.query(fmt::format("SELECT {} FROM snapshots WHERE id = ?", k_snapshot_columns)));
  q.bind(id);
  if (!TRY(q.step())) return std::optional<SnapshotRecord>();
  return std::optional<SnapshotRecord>(snapshot_from(q));
}

bool plain_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || s[0] == '.') return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') return false;
  return true;
}

std::string cache_mount_dir_name(std::string_view id) { return std::string(Digest::of(id).hex().substr(0, 32)); }

CacheMountRecord mount_from(const Store::Impl& impl, const detail::Query& q) {
  return CacheMountRecord{q.text(0), (impl.cache_mounts_dir() / q.text(1)).string(), q.u64(2), q.i64(3), q.i64(4)};
}

}  // namespace

Result<std::string> snapshot_dir_name(std::string_view id) {
  if (id.starts_with("sha256:")) {
    auto digest = Digest::parse(id);
    if (!digest.ok()) return std::move(digest).error();
    return std::string(digest->hex());
  }
  if (!plain_name(id)) return make_error(ExitCode::bad_input, "invalid snapshot id `{}`", id);
  return std::string(id);
}

fs::path Store::snapshot_path(std::string_view id) const {
  auto name = snapshot_dir_name(id);
  return m_impl->snapshots_dir() / (name.ok() ? *name : std::string("invalid"));
}

Result<fs::path> Store::begin_snapshot() { return make_temp_dir("snap-"); }

Result<SnapshotRecord> Store::commit_snapshot(const fs::path& staging, SnapshotRecord record) {
  const std::string name = TRY(snapshot_dir_name(record.id));
  if (record.diff_id.empty()) return make_error(ExitCode::bad_input, "store snapshot `{}`: empty diffID", record.id);
  if (!record.parent.empty() && !TRY(get_snapshot(record.parent)))
    return make_error(ExitCode::not_found, "store snapshot `{}`: parent `{}` not found", record.id, record.parent);
  if (!record.base.empty() && !TRY(get_snapshot(record.base)))
    return make_error(ExitCode::not_found, "store snapshot `{}`: base `{}` not found", record.id, record.base);
  if (auto existing = TRY(get_snapshot(record.id))) {
    TRY(m_impl->discard(staging));
    TRY(touch_snapshot(record.id));
    return *TRY(get_snapshot(record.id));
  }
  const fs::path dest = m_impl->snapshots_dir() / name;
  if (::rename(staging.c_str(), dest.c_str()) != 0) {
    // A complete tree is already there: from a concurrent commit of the same id, or left
    // by a process killed between its rename and its insert. Either way it is usable.
    if (errno != EEXIST && errno != ENOTEMPTY)
      return errno_error(fmt::format("rename `{}` to `{}`", staging.string(), dest.string()));
    TRY(m_impl->discard(staging));
  }
  const int64_t now = now_seconds();
  if (!record.created) record.created = now;
  if (!record.last_used) record.last_used = now;
  std::optional<SnapshotRecord> stored;
  TRY(m_impl->write([&]() -> Status {
    // Checked again inside the transaction: a concurrent remove_snapshot may have won.
    if (!record.parent.empty() && !TRY(select_snapshot(*m_impl, record.parent)))
      return make_error(ExitCode::not_found, "store snapshot `{}`: parent `{}` was removed", record.id, record.parent);
    if (!record.base.empty() && !TRY(select_snapshot(*m_impl, record.base)))
      return make_error(ExitCode::not_found, "store snapshot `{}`: base `{}` was removed", record.id, record.base);
    auto q = TRY(m_impl->db.query(
        "INSERT OR IGNORE INTO snapshots(id, parent, diff_id, size, created, last_used, info, base) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"));
    TRY(q.bind(record.id).bind(record.parent).bind(record.diff_id.str()).bind(record.size).bind(record.created)
            .bind(record.last_used).bind(record.info).bind(record.base).run());
    stored = TRY(select_snapshot(*m_impl, record.id));
    return {};
  }));
  return *stored;
}

Result<std::optional<SnapshotRecord>> Store::get_snapshot(std::string_view id) {
  std::lock_guard lock(m_impl->mu);
  return select_snapshot(*m_impl, id);
}

Status Store::touch_snapshot(std::string_view id, int64_t when) {
  return m_impl->write([&]() -> Status {
    auto q = TRY(m_impl->db.query("UPDATE snapshots SET last_used = ? WHERE id = ?"));
    TRY(q.bind(when ? when : now_seconds()).bind(id).run());
    if (q.changes() == 0) return make_error(ExitCode::not_found, "snapshot `{}` not found", id);
    return {};
  });
}

Result<std::vector<SnapshotRecord>> Store::list_snapshots() {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query(fmt::format("SELECT {} FROM snapshots ORDER BY id", k_snapshot_columns)));
  std::vector<SnapshotRecord> out;
  while (TRY(q.step())) out.push_back(snapshot_from(q));
  return out;
}

Status Store::remove_snapshot(std::string_view id) {
  const std::string name = TRY(snapshot_dir_name(id));
  FileLock held = TRY(lease());  // check() must not see the row gone and the tree half-removed
  TRY(m_impl->write([&]() -> Status {
    auto child = TRY(m_impl->db.query("SELECT id FROM snapshots WHERE parent = ? OR base = ? LIMIT 1"));
    child.bind(id).bind(id);
    if (TRY(child.step()))
      return make_error("remove snapshot `{}`: snapshot `{}` is built on it", id, child.text(0));
    auto cache = TRY(m_impl->db.query(
        "DELETE FROM cache WHERE key IN (SELECT key FROM cache_refs WHERE kind = 'snapshot' AND ref = ?)"));
    TRY(cache.bind(id).run());
    auto q = TRY(m_impl->db.query("DELETE FROM snapshots WHERE id = ?"));
    TRY(q.bind(id).run());
    if (q.changes() == 0) return make_error(ExitCode::not_found, "snapshot `{}` not found", id);
    return {};
  }));
  // Row first, then the tree: a crash in between leaves an orphan directory, never a row
  // without its directory.
  return m_impl->discard(m_impl->snapshots_dir() / name);
}

// ---- cache mounts ----------------------------------------------------------------------------

Result<CacheMountRecord> Store::cache_mount(std::string_view id) {
  if (id.empty()) return make_error(ExitCode::bad_input, "cache mount: empty id");
  const std::string dir = cache_mount_dir_name(id);
  const fs::path path = m_impl->cache_mounts_dir() / dir;
  std::optional<CacheMountRecord> out;
  TRY(m_impl->write([&]() -> Status {
    const int64_t now = now_seconds();
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return errno_error(fmt::format("create directory `{}`", path.string()));
    auto q = TRY(m_impl->db.query(
        "INSERT INTO cache_mounts(id, dir, size, created, last_used) VALUES (?, ?, 0, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET last_used = excluded.last_used"));
    TRY(q.bind(id).bind(dir).bind(now).bind(now).run());
    auto sel = TRY(m_impl->db.query("SELECT id, dir, size, created, last_used FROM cache_mounts WHERE id = ?"));
    sel.bind(id);
    if (TRY(sel.step())) out = mount_from(*m_impl, sel);
    return {};
  }));
  return *out;
}

Result<std::vector<CacheMountRecord>> Store::list_cache_mounts() {
  std::lock_guard lock(m_impl->mu);
  auto q = TRY(m_impl->db.query("SELECT id, dir, size, created, last_used FROM cache_mounts ORDER BY id"));
  std::vector<CacheMountRecord> out;
  while (TRY(q.step())) out.push_back(mount_from(*m_impl, q));
  return out;
}

Status Store::set_cache_mount_size(std::string_view id, uint64_t size) {
  return m_impl->write([&]() -> Status {
    auto q = TRY(m_impl->db.query("UPDATE cache_mounts SET size = ? WHERE id = ?"));
    TRY(q.bind(size).bind(id).run());
    if (q.changes() == 0) return make_error(ExitCode::not_found, "cache mount `{}` not found", id);
    return {};
  });
}

Result<bool> remove_cache_mount_unleased(Store::Impl& impl, std::string_view id) {
  std::string dir;
  TRY(impl.write([&]() -> Status {
    auto sel = TRY(impl.db.query("SELECT dir FROM cache_mounts WHERE id = ?"));
    sel.bind(id);
    if (!TRY(sel.step())) return {};
    dir = sel.text(0);
    auto q = TRY(impl.db.query("DELETE FROM cache_mounts WHERE id = ?"));
    return q.bind(id).run();
  }));
  if (dir.empty()) return false;
  TRY(impl.discard(impl.cache_mounts_dir() / dir));
  return true;
}

Result<bool> Store::remove_cache_mount(std::string_view id) {
  FileLock held = TRY(lease());
  return remove_cache_mount_unleased(*m_impl, id);
}

}  // namespace cbuild::store
