// Remote cache hits recorded without their layers; fetched when something needs them.
#include "lazy_results.hpp"

namespace cbuild::build {

std::string LazyResults::snapshot_id(const std::vector<Digest>& chain) {
  auto ids = store::chain_ids(chain);
  return ids.empty() ? std::string() : ids.back().str();
}

Status LazyResults::add(size_t import, const RemoteRecord& record, store::CacheRecord entry) {
  if (record.chain.empty()) return m_store.put_cache(entry);
  std::string id = snapshot_id(record.chain);
  entry.snapshots = {id};
  std::lock_guard lock(m_mutex);
  m_chains.try_emplace(id, Chain{import, record.chain});
  for (const auto& d : record.chain) m_layers.try_emplace(d, import);
  if (TRY(m_store.get_snapshot(id)))
    TRY(m_store.put_cache(entry));  // unpacked by an earlier build
  else
    m_pending.push_back(std::move(entry));
  return {};
}

Status LazyResults::materialize(const std::string& snapshot) {
  std::lock_guard lock(m_mutex);
  auto it = m_chains.find(snapshot);
  if (it == m_chains.end()) return {};
  const Chain& c = it->second;
  std::string parent;
  auto ids = store::chain_ids(c.diff_ids);
  for (size_t i = 0; i < c.diff_ids.size(); ++i) {
    if (!TRY(m_store.get_snapshot(ids[i].str()))) {
      fs::path blob = TRY(m_imports[c.import].ensure_blob(c.diff_ids[i]));
      TRY(m_snapshotter.unpack(parent, blob, c.diff_ids[i]));
    }
    parent = ids[i].str();
  }
  std::vector<store::CacheRecord> waiting;
  for (auto& entry : m_pending) {
    if (TRY(m_store.get_snapshot(entry.snapshots.front())))
      TRY(m_store.put_cache(entry));
    else
      waiting.push_back(std::move(entry));
  }
  m_pending = std::move(waiting);
  return {};
}

std::optional<std::vector<Digest>> LazyResults::chain(const std::string& snapshot) const {
  std::lock_guard lock(m_mutex);
  auto it = m_chains.find(snapshot);
  if (it == m_chains.end()) return std::nullopt;
  return it->second.diff_ids;
}

Status LazyResults::fetch_layers(const std::vector<Digest>& diff_ids) {
  for (const auto& d : diff_ids) {
    size_t import = 0;
    {
      std::lock_guard lock(m_mutex);
      auto it = m_layers.find(d);
      if (it == m_layers.end()) continue;
      import = it->second;
    }
    TRY(m_imports[import].ensure_blob(d));
  }
  return {};
}

}  // namespace cbuild::build
