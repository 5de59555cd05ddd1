#include "cbuild/context/checksum.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <atomic>
#include <charconv>
#include <ctime>
#include <map>
#include <mutex>
#include <thread>

namespace cbuild::context {

namespace {

constexpr size_t k_read_block = 1 << 20;
constexpr size_t k_parallel_min_files = 8;
constexpr size_t k_parallel_lookup_files = 4096;  // below this a second thread costs more than it saves
constexpr int64_t k_ns_per_s = 1'000'000'000;

StatKey key_of(const Entry& e) {
  mode_t type_bits = 0;
  if (e.type == FileType::regular) type_bits = S_IFREG;
  return {e.size, e.mtime_ns, e.ctime_ns, e.ino, static_cast<uint32_t>(type_bits | e.mode)};
}

StatKey key_of(const struct stat& st) {
  return {static_cast<uint64_t>(st.st_size), int64_t(st.st_mtim.tv_sec) * k_ns_per_s + st.st_mtim.tv_nsec,
          int64_t(st.st_ctim.tv_sec) * k_ns_per_s + st.st_ctim.tv_nsec, st.st_ino,
          static_cast<uint32_t>(st.st_mode)};
}

int64_t now_ns() {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return int64_t(ts.tv_sec) * k_ns_per_s + ts.tv_nsec;
}

/// The outcome of reading one file.
struct Hashed {
  Digest digest;
  uint64_t bytes = 0;
  bool stable = false;  ///< stat data unchanged while reading and equal to the scan's
};

Result<Hashed> hash_file(const fs::path& path, const StatKey& scanned, std::vector<char>& buf) {
  int fd = open_to_read(AT_FDCWD, path.c_str());
  if (fd < 0) return errno_error(fmt::format("read `{}`", path.string()));
  UniqueFd owner(fd);
  struct stat before, after;
  if (::fstat(fd, &before) != 0) return errno_error(fmt::format("stat `{}`", path.string()));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Sha256 sha;
  Hashed out;
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(fmt::format("read `{}`", path.string()));
    if (n == 0) break;
    sha.update(buf.data(), static_cast<size_t>(n));
    out.bytes += static_cast<uint64_t>(n);
  }
  if (::fstat(fd, &after) != 0) return errno_error(fmt::format("stat `{}`", path.string()));
  out.digest = sha.finish();
  out.stable = key_of(before) == scanned && key_of(after) == scanned;
  return out;
}

/// Reads and hashes the files at `todo` (indexes into `records`), on up to `threads` threads.
Status hash_all(const Context& ctx, const std::vector<const Entry*>& entries, const std::vector<size_t>& todo,
                unsigned threads, std::vector<Hashed>& results) {
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    std::vector<char> buf(k_read_block);
    for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
      const Entry& e = *entries[todo[i]];
      auto r = hash_file(ctx.disk_path(e), key_of(e), buf);
      if (!r) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::move(r).error();
        next = todo.size();
        return;
      }
      results[i] = std::move(*r);
    }
  };
  unsigned n = todo.size() >= k_parallel_min_files ? std::max(1u, threads) : 1u;
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < n; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  if (first_error) return std::move(*first_error);
  return {};
}

FileRecord record_of(const Entry& e, std::string dest) {
  FileRecord r;
  r.path = e.path;
  r.dest = std::move(dest);
  r.type = e.type;
  r.mode = e.mode;
  r.uid = e.uid;
  r.gid = e.gid;
  r.size = e.size;
  r.rdev = (e.type == FileType::char_device || e.type == FileType::block_device) ? e.rdev : 0;
  r.link_target = e.link_target;
  return r;
}

/// The field-tagged encoding of KeyHasher ("tag:len:value" per field), gathered in a 64 KiB
/// buffer hashed when full: 20,000 records would otherwise cost 160,000 small updates, or
/// (in one buffer) 3 MB of fresh pages.
class FieldHasher {
 public:
  FieldHasher() { m_buf.reserve(k_chunk + 256); }
  void add(std::string_view tag, std::string_view value) {
    m_buf += tag;
    m_buf += ':';
    append_number(value.size());
    m_buf += ':';
    m_buf += value;
    if (m_buf.size() >= k_chunk) flush();
  }
  void add(std::string_view tag, uint64_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    add(tag, std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  Digest finish() {
    flush();
    return m_sha.finish();
  }

 private:
  static constexpr size_t k_chunk = 64 << 10;
  void append_number(uint64_t n) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    m_buf.append(digits, end);
  }
  void flush() {
    m_sha.update(m_buf);
    m_buf.clear();
  }
  std::string m_buf;
  Sha256 m_sha;
};

Digest digest_of(const std::vector<FileRecord>& files) {
  FieldHasher b;
  b.add("version", k_checksum_version);
  for (const auto& f : files) {
    b.add("dest", f.dest);
    b.add("type", to_string(f.type));
    b.add("mode", uint64_t{f.mode});
    b.add("uid", uint64_t{f.uid});
    b.add("gid", uint64_t{f.gid});
    if (f.type == FileType::symlink) b.add("link", f.link_target);
    if (f.rdev) b.add("rdev", f.rdev);
    if (f.type == FileType::regular) b.add("content", f.content.str());
  }
  return b.finish();
}

}  // namespace

Result<ContentChecksum> checksum(const Context& ctx, const Selection& selection,
                                 const ChecksumOptions& options, HashStats* stats) {
  int64_t scan_start = options.now_ns ? options.now_ns : now_ns();
  int64_t racy_from = scan_start - scan_start % k_ns_per_s;
  ContentChecksum out;
  const size_t n = selection.files.size();
  std::vector<const Entry*> entries(n);
  out.files.resize(n);
  // Records and stat cache lookups (read-only) on two threads for a big selection; a
  // regular file left without content is to be read.
  auto fill = [&](size_t from, size_t to) {
    size_t hint = 0;  // the selection is in walk order, as the cache: each lookup one comparison
    for (size_t i = from; i < to; ++i) {
      const auto& file = selection.files[i];
      out.files[i] = record_of(*file.entry, file.dest);
      entries[i] = file.entry;
      if (file.entry->type != FileType::regular) continue;
      std::optional<Digest> cached;
      if (options.cache) cached = options.cache->lookup(file.entry->path, key_of(*file.entry), &hint);
      if (cached) out.files[i].content = std::move(*cached);
    }
  };
  if (n >= k_parallel_lookup_files && options.threads > 1) {
    std::thread half([&] { fill(0, n / 2); });
    fill(n / 2, n);
    half.join();
  } else {
    fill(0, n);
  }
  std::vector<size_t> todo;
  HashStats local;
  for (size_t i = 0; i < n; ++i) {
    if (entries[i]->type != FileType::regular) continue;
    ++local.files;
    if (out.files[i].content.empty())
      todo.push_back(i);
    else
      ++local.cache_hits;
  }
  std::vector<Hashed> hashed(todo.size());
  TRY(hash_all(ctx, entries, todo, options.threads, hashed));
  for (size_t i = 0; i < todo.size(); ++i) {
    const Entry& e = *entries[todo[i]];
    out.files[todo[i]].content = hashed[i].digest;
    ++local.files_read;
    local.bytes_read += hashed[i].bytes;
    bool racy = e.mtime_ns >= racy_from || e.ctime_ns >= racy_from;
    if (racy) ++local.racy;
    if (options.cache && hashed[i].stable && !racy)
      options.cache->record(e.path, key_of(e), hashed[i].digest);
  }
  if (options.cache) TRY(options.cache->commit());
  out.digest = digest_of(out.files);
  if (stats) {
    stats->files += local.files;
    stats->cache_hits += local.cache_hits;
    stats->files_read += local.files_read;
    stats->bytes_read += local.bytes_read;
    stats->racy += local.racy;
  }
  return out;
}

Status prune_stat_cache(const Context& ctx, StatCache& cache) {
  size_t regular = 0;
  for (const auto& e : ctx.entries()) regular += e.type == FileType::regular;
  if (cache.size() <= regular) return cache.commit();  // no row to spare: skip 20,000 lookups
  const auto& entries = ctx.entries();
  size_t at = 0;  // rows and entries are both in walk order: one merge, no search per row
  cache.forget_unless([&](std::string_view path) {
    while (at < entries.size() && walk_order(entries[at].path, path) < 0) ++at;
    return at < entries.size() && entries[at].path == path && entries[at].type == FileType::regular;
  });
  return cache.commit();
}

FileDiff diff(const std::vector<FileRecord>& before, const std::vector<FileRecord>& after) {
  std::map<std::string_view, const FileRecord*> old_by_path;
  for (const auto& r : before) old_by_path[r.path] = &r;
  FileDiff d;
  std::map<std::string_view, bool> seen;
  for (const auto& r : after) {
    if (seen[r.path]) continue;
    seen[r.path] = true;
    auto it = old_by_path.find(r.path);
    if (it == old_by_path.end())
      d.added.push_back(r.path);
    else if (!(*it->second == r))
      d.changed.push_back(r.path);
  }
  for (const auto& [path, r] : old_by_path)
    if (!seen.count(path)) d.removed.emplace_back(path);
  return d;
}

std::string FileDiff::explain(size_t max_paths) const {
  static constexpr std::pair<const std::vector<std::string> FileDiff::*, std::string_view> k_kinds[] = {
      {&FileDiff::changed, "changed"}, {&FileDiff::added, "added"}, {&FileDiff::removed, "removed"}};
  std::string out;
  for (auto [member, verb] : k_kinds) {
    const auto& paths = this->*member;
    if (paths.empty()) continue;
    if (!out.empty()) out += "; ";
    out +=
        paths.size() == 1 ? fmt::format("file {}: ", verb) : fmt::format("{} files {}: ", paths.size(), verb);
    for (size_t i = 0; i < paths.size() && i < max_paths; ++i) out += (i ? ", " : "") + paths[i];
    if (paths.size() > max_paths) out += ", ...";
  }
  return out;
}

}  // namespace cbuild::context
