#include "cbuild/context/stat_cache.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstring>

namespace cbuild::context {

namespace {

constexpr std::array<char, 8> k_magic = {'c', 'b', 's', 't', 'a', 't', '\0', '\n'};

struct Header {
  std::array<char, 8> magic;
  uint32_t version;
  uint32_t count;
  uint64_t length;
  uint64_t check;
};
static_assert(sizeof(Header) == 32);

struct DiskRecord {
  uint64_t size;
  int64_t mtime_ns, ctime_ns;
  uint64_t ino;
  uint32_t mode, path_offset, path_length, zero;
  std::array<uint8_t, 32> digest;
};
static_assert(sizeof(DiskRecord) == 80);

template <typename T>
T read_at(const char* data, size_t offset) {
  T out;
  std::memcpy(&out, data + offset, sizeof out);
  return out;
}

size_t record_offset(size_t i) { return sizeof(Header) + i * sizeof(DiskRecord); }

/// The record count of a well-formed file, nullopt for anything else.
std::optional<uint32_t> check_file(const char* data, size_t length) {
  if (length < sizeof(Header)) return std::nullopt;
  auto h = read_at<Header>(data, 0);
  if (h.magic != k_magic || h.version != k_stat_cache_version || h.length != length) return std::nullopt;
  size_t records_end = record_offset(h.count);
  if (records_end > length) return std::nullopt;
  if (stat_cache_check(std::string_view(data + sizeof(Header), length - sizeof(Header))) != h.check)
    return std::nullopt;
  const size_t path_bytes = length - records_end;
  for (size_t i = 0; i < h.count; ++i) {
    auto r = read_at<DiskRecord>(data, record_offset(i));
    if (r.path_offset > path_bytes || r.path_length > path_bytes - r.path_offset) return std::nullopt;
  }
  return h.count;
}

int64_t mtime_ns(const struct stat& st) { return int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec; }

}  // namespace

fs::path stat_cache_path(const fs::path& store_root, const fs::path& context_dir) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(fs::absolute(context_dir, ec), ec);
  if (ec) canonical = fs::absolute(context_dir, ec);
  Digest d = Digest::of(canonical.string());
  return store_root / "contexts" / (std::string(d.hex()) + ".stat");
}

uint64_t stat_cache_check(std::string_view data) {
  // Four independent multiply-xorshift lanes over 8-byte words: each step is a bijection of
  // its lane, so any one changed word changes the result; ~10 GB/s.
  constexpr uint64_t k_mul = 0x9e3779b97f4a7c15ull;
  auto mix = [](uint64_t h, uint64_t w) {
    h = (h ^ w) * k_mul;
    return h ^ (h >> 29);
  };
  std::array<uint64_t, 4> lanes = {1, 2, 3, 4};
  size_t i = 0;
  for (; i + 32 <= data.size(); i += 32)
    for (size_t l = 0; l < lanes.size(); ++l) lanes[l] = mix(lanes[l], read_at<uint64_t>(data.data(), i + 8 * l));
  uint64_t h = mix(0, data.size());
  for (uint64_t lane : lanes) h = mix(h, lane);
  for (; i < data.size(); ++i) h = mix(h, static_cast<unsigned char>(data[i]));
  return h;
}

StatCache::StatCache(StatCache&& o) noexcept
    : m_path(std::move(o.m_path)),
      m_map(std::exchange(o.m_map, {})),
      m_changes(std::move(o.m_changes)),
      m_size(std::exchange(o.m_size, 0)),
      m_change_hint(o.m_change_hint) {}

StatCache& StatCache::operator=(StatCache&& o) noexcept {
  if (this != &o) {
    unmap();
    m_path = std::move(o.m_path);
    m_map = std::exchange(o.m_map, {});
    m_changes = std::move(o.m_changes);
    m_size = std::exchange(o.m_size, 0);
    m_change_hint = o.m_change_hint;
  }
  return *this;
}

StatCache::~StatCache() { unmap(); }

void StatCache::unmap() {
  if (m_map.data) ::munmap(const_cast<char*>(m_map.data), m_map.length);
  m_map = {};
}

Result<StatCache> StatCache::open(const fs::path& path) {
  StatCache cache;
  cache.m_path = path;
  TRY(cache.map_file());
  cache.m_size = cache.m_map.count;
  return cache;
}

Status StatCache::map_file() {
  unmap();
  UniqueFd fd(::open(m_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno != ENOENT) return errno_error(fmt::format("open stat cache `{}`", m_path.string()));
    if (m_path.extension() != ".db")  // version 1 was a SQLite database: a cache, just removed
      for (const char* suffix : {".db", ".db-wal", ".db-shm"})
        (void)::unlink(fs::path(m_path).replace_extension(suffix).c_str());
    return {};
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return errno_error(fmt::format("stat `{}`", m_path.string()));
  m_map.dev = st.st_dev;
  m_map.ino = st.st_ino;
  m_map.mtime_ns = mtime_ns(st);
  const auto length = static_cast<size_t>(st.st_size);
  if (length < sizeof(Header)) return {};
  void* data = ::mmap(nullptr, length, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
  if (data == MAP_FAILED) return errno_error(fmt::format("map stat cache `{}`", m_path.string()));
  auto count = check_file(static_cast<const char*>(data), length);
  if (!count) {  // damaged or another format: empty, rewritten at the next commit
    ::munmap(data, length);
    return {};
  }
  m_map.data = static_cast<const char*>(data);
  m_map.length = length;
  m_map.count = *count;
  return {};
}

std::string_view StatCache::path_at(size_t i) const {
  auto r = read_at<DiskRecord>(m_map.data, record_offset(i));
  return {m_map.data + record_offset(m_map.count) + r.path_offset, r.path_length};
}

StatCache::Row StatCache::row_at(size_t i) const {
  auto r = read_at<DiskRecord>(m_map.data, record_offset(i));
  return {StatKey{r.size, r.mtime_ns, r.ctime_ns, r.ino, r.mode}, r.digest};
}

size_t StatCache::find(std::string_view path, size_t* hint) const {
  if (hint && *hint < m_map.count && path_at(*hint) == path) return (*hint)++;
  size_t lo = 0, hi = m_map.count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = walk_order(path_at(mid), path);
    if (c == 0) {
      if (hint) *hint = mid + 1;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  if (hint) *hint = lo;  // a path not cached: the next one in walk order is probably there
  return SIZE_MAX;
}

std::optional<Digest> StatCache::lookup(std::string_view path, const StatKey& key, size_t* hint) const {
  auto bytes = lookup_bytes(path, key, hint);
  if (!bytes) return std::nullopt;
  return Digest::from_bytes(*bytes);
}

std::optional<DigestBytes> StatCache::lookup_bytes(std::string_view path, const StatKey& key, size_t* hint) const {
  std::optional<Row> row;
  if (auto it = m_changes.find(path); it != m_changes.end()) {
    row = it->second;
  } else if (size_t i = find(path, hint); i != SIZE_MAX) {
    row = row_at(i);
  }
  if (!row || !(row->key == key)) return std::nullopt;
  return row->digest;
}

bool StatCache::live(std::string_view path) {
  if (auto it = m_changes.find(path); it != m_changes.end()) return it->second.has_value();
  return find(path, &m_change_hint) != SIZE_MAX;
}

void StatCache::change(std::string_view path, std::optional<Row> row) {
  const bool was = live(path), is = row.has_value();
  if (!was && !is) return;
  if (auto it = m_changes.find(path); it != m_changes.end())
    it->second = std::move(row);
  else
    m_changes.emplace(std::string(path), std::move(row));
  m_size = m_size + is - was;
}

void StatCache::record(std::string_view path, const StatKey& key, const Digest& digest) {
  Row row{key, digest.bytes()};
  if (!m_changes.contains(path))
    if (size_t i = find(path, &m_change_hint); i != SIZE_MAX && row_at(i) == row) return;  // nothing new
  change(path, row);
}

void StatCache::forget(std::string_view path) { change(path, std::nullopt); }

size_t StatCache::forget_unless(const std::function<bool(std::string_view)>& keep) {
  std::vector<std::string_view> drop;  // into the mapping or the keys of m_changes: both stay
  for_each_live([&](std::string_view path, const Row&) {
    if (!keep(path)) drop.push_back(path);
  });
  for (auto path : drop) change(path, std::nullopt);
  return drop.size();
}

std::vector<std::string> StatCache::paths() const {
  std::vector<std::string> out;
  out.reserve(m_size);
  for_each_live([&](std::string_view path, const Row&) { out.emplace_back(path); });
  return out;
}

void StatCache::for_each_live(const std::function<void(std::string_view, const Row&)>& f) const {
  // A merge of two sequences in walk order: the mapped records and the changes.
  size_t i = 0;
  auto it = m_changes.begin();
  while (i < m_map.count || it != m_changes.end()) {
    int c = i == m_map.count ? 1 : it == m_changes.end() ? -1 : walk_order(path_at(i), it->first);
    if (c < 0) {
      f(path_at(i), row_at(i));
      ++i;
      continue;
    }
    if (it->second) f(it->first, *it->second);
    i += c == 0;
    ++it;
  }
}

std::string StatCache::serialize() const {
  std::vector<DiskRecord> records;
  records.reserve(m_size);
  std::string paths;
  for_each_live([&](std::string_view path, const Row& row) {
    const StatKey& k = row.key;
    records.push_back({k.size, k.mtime_ns, k.ctime_ns, k.ino, k.mode, static_cast<uint32_t>(paths.size()),
                       static_cast<uint32_t>(path.size()), 0, row.digest});
    paths += path;
  });
  std::string out(record_offset(records.size()) + paths.size(), '\0');
  std::memcpy(out.data() + sizeof(Header), records.data(), records.size() * sizeof(DiskRecord));
  std::memcpy(out.data() + record_offset(records.size()), paths.data(), paths.size());
  Header h{k_magic, k_stat_cache_version, static_cast<uint32_t>(records.size()), out.size(),
           stat_cache_check(std::string_view(out).substr(sizeof(Header)))};
  std::memcpy(out.data(), &h, sizeof h);
  return out;
}

Status StatCache::commit() {
  if (m_changes.empty()) return {};
  // Another process may have committed since this file was mapped: merge onto its file.
  struct stat st;
  bool exists = ::stat(m_path.c_str(), &st) == 0;
  bool moved = exists ? (st.st_dev != m_map.dev || st.st_ino != m_map.ino || mtime_ns(st) != m_map.mtime_ns)
                      : m_map.ino != 0;
  if (moved) {
    TRY(map_file());
    m_size = m_map.count;
    for (const auto& [path, row] : m_changes) {
      bool mapped = find(path, nullptr) != SIZE_MAX;
      m_size = m_size + row.has_value() - mapped;
    }
  }
  std::string bytes = serialize();
  if (m_path.has_parent_path()) TRY(make_dirs(m_path.parent_path()));
  auto file = TRY(AtomicFile::create(m_path, 0644));
  TRY(file.write(bytes));
  TRY(file.commit(Durability::unsynced));  // a cache: the check catches what a crash damages
  m_changes.clear();
  TRY(map_file());
  m_size = m_map.count;
  return {};
}

}  // namespace cbuild::context
