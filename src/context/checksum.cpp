#include "cbuild/context/checksum.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <ctime>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <unordered_set>

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

Result<Hashed> hash_file(const fs::path& path, const StatKey& scanned, char* buf) {
  int fd = open_to_read(AT_FDCWD, path.c_str());
  if (fd < 0) return errno_error(fmt::format("read `{}`", path.string()));
  UniqueFd owner(fd);
  struct stat before, after;
  if (::fstat(fd, &before) != 0) return errno_error(fmt::format("stat `{}`", path.string()));
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  Sha256 sha;
  Hashed out;
  for (;;) {
    ssize_t n = ::read(fd, buf, k_read_block);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error(fmt::format("read `{}`", path.string()));
    if (n == 0) break;
    sha.update(buf, static_cast<size_t>(n));
    out.bytes += static_cast<uint64_t>(n);
  }
  if (::fstat(fd, &after) != 0) return errno_error(fmt::format("stat `{}`", path.string()));
  out.digest = sha.finish();
  out.stable = key_of(before) == scanned && key_of(after) == scanned;
  return out;
}

/// Reads and hashes the files at `todo` (indexes into `files`), on up to `threads` threads.
Status hash_all(const Context& ctx, const std::vector<SelectedFile>& files, const std::vector<size_t>& todo,
                unsigned threads, std::vector<Hashed>& results) {
  if (todo.empty()) return {};  // a warm context: no read buffer to allocate
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    std::unique_ptr<char[]> buf(new char[k_read_block]);  // not zeroed: 256 page faults less
    for (size_t i; (i = next.fetch_add(1)) < todo.size();) {
      const Entry& e = *files[todo[i]].entry;
      auto r = hash_file(ctx.disk_path(e), key_of(e), buf.get());
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

uint64_t rdev_of(const Entry& e) {
  return (e.type == FileType::char_device || e.type == FileType::block_device) ? e.rdev : 0;
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
  r.rdev = rdev_of(e);
  r.link_target = e.link_target;
  r.stamp = {e.ino, e.ctime_ns};
  return r;
}

/// The field-tagged encoding of KeyHasher ("tag:len:value" per field), gathered in a 64 KiB
/// buffer hashed when full: 20,000 records would otherwise cost 160,000 small updates, or
/// (in one buffer) 3 MB of fresh pages.
class FieldHasher {
 public:
  FieldHasher() { m_buf.reserve(k_chunk + 256); }
  /// Appends the encoding of one field to `out`.
  static void encode(std::string& out, std::string_view tag, std::string_view value) {
    out += tag;
    out += ':';
    append_number(out, value.size());
    out += ':';
    out += value;
  }
  static void encode(std::string& out, std::string_view tag, uint64_t value) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    encode(out, tag, std::string_view(digits, static_cast<size_t>(end - digits)));
  }
  template <typename Value>
  void add(std::string_view tag, const Value& value) {
    encode(m_buf, tag, value);
    if (m_buf.size() >= k_chunk) flush();
  }
  /// Adds fields encoded beforehand with `encode`.
  void add_encoded(std::string_view fields) {
    m_buf += fields;
    if (m_buf.size() >= k_chunk) flush();
  }
  Digest finish() {
    flush();
    return m_sha.finish();
  }

 private:
  static constexpr size_t k_chunk = 64 << 10;
  static void append_number(std::string& out, uint64_t n) {
    char digits[24];
    auto end = std::to_chars(digits, digits + sizeof digits, n).ptr;
    out.append(digits, end);
  }
  void flush() {
    m_sha.update(m_buf);
    m_buf.clear();
  }
  std::string m_buf;
  Sha256 m_sha;
};

/// The hashed fields of each file are those of its FileRecord (record_of), taken from the
/// entry directly.
Digest digest_of(const Selection& selection, const std::vector<DigestBytes>& contents) {
  FieldHasher b;
  b.add("version", k_checksum_version);
  std::array<char, Digest::k_text_size> text;
  // Type, mode and owner are mostly the same from file to file: their encoding is kept
  // from the previous file when they are.
  std::string meta;
  const Entry* meta_of = nullptr;
  auto same_meta = [](const Entry& a, const Entry& b) {
    return a.type == b.type && a.mode == b.mode && a.uid == b.uid && a.gid == b.gid;
  };
  for (size_t i = 0; i < selection.files.size(); ++i) {
    const Entry& e = *selection.files[i].entry;
    b.add("dest", selection.files[i].dest);
    if (!meta_of || !same_meta(*meta_of, e)) {
      meta.clear();
      FieldHasher::encode(meta, "type", to_string(e.type));
      FieldHasher::encode(meta, "mode", uint64_t{e.mode});
      FieldHasher::encode(meta, "uid", uint64_t{e.uid});
      FieldHasher::encode(meta, "gid", uint64_t{e.gid});
      meta_of = &e;
    }
    b.add_encoded(meta);
    if (e.type == FileType::symlink) b.add("link", e.link_target);
    if (uint64_t rdev = rdev_of(e)) b.add("rdev", rdev);
    if (e.type == FileType::regular) b.add("content", Digest::text_of(contents[i], text));
  }
  return b.finish();
}

}  // namespace

Result<ContentChecksum> checksum(const Context& ctx, const Selection& selection,
                                 const ChecksumOptions& options, HashStats* stats) {
  int64_t scan_start = options.now_ns ? options.now_ns : now_ns();
  int64_t racy_from = scan_start - scan_start % k_ns_per_s;
  const auto& files = selection.files;
  const size_t n = files.size();
  ContentChecksum out;
  out.contents.resize(n);
  // Stat cache lookups (read-only), on two threads for a big selection; a regular file
  // without a cached digest is to be read (`todo`, in selection order).
  auto lookup = [&](size_t from, size_t to, std::vector<size_t>& todo) {
    size_t hint = 0;  // the selection is in walk order, as the cache: each lookup one comparison
    for (size_t i = from; i < to; ++i) {
      const Entry& e = *files[i].entry;
      if (e.type != FileType::regular) continue;
      std::optional<DigestBytes> cached;
      if (options.cache) cached = options.cache->lookup_bytes(e.path, key_of(e), &hint);
      if (cached)
        out.contents[i] = *cached;
      else
        todo.push_back(i);
    }
  };
  std::vector<size_t> todo;
  if (n >= k_parallel_lookup_files && options.threads > 1) {
    std::vector<size_t> first_half;
    std::thread half([&] { lookup(0, n / 2, first_half); });
    lookup(n / 2, n, todo);
    half.join();
    todo.insert(todo.begin(), first_half.begin(), first_half.end());
  } else {
    lookup(0, n, todo);
  }
  HashStats local;
  for (const auto& file : files) local.files += file.entry->type == FileType::regular;
  local.cache_hits = local.files - todo.size();
  std::vector<Hashed> hashed(todo.size());
  TRY(hash_all(ctx, files, todo, options.threads, hashed));
  for (size_t i = 0; i < todo.size(); ++i) {
    const Entry& e = *files[todo[i]].entry;
    out.contents[todo[i]] = hashed[i].digest.bytes();
    ++local.files_read;
    local.bytes_read += hashed[i].bytes;
    bool racy = e.mtime_ns >= racy_from || e.ctime_ns >= racy_from;
    if (racy) ++local.racy;
    if (options.cache && hashed[i].stable && !racy)
      options.cache->record(e.path, key_of(e), hashed[i].digest);
  }
  if (options.cache) TRY(options.cache->commit());
  out.digest = digest_of(selection, out.contents);
  if (stats) {
    stats->files += local.files;
    stats->cache_hits += local.cache_hits;
    stats->files_read += local.files_read;
    stats->bytes_read += local.bytes_read;
    stats->racy += local.racy;
  }
  return out;
}

std::vector<FileRecord> file_records(const Selection& selection, const ContentChecksum& sum) {
  std::vector<FileRecord> records;
  records.reserve(selection.files.size());
  for (size_t i = 0; i < selection.files.size(); ++i) {
    const auto& file = selection.files[i];
    records.push_back(record_of(*file.entry, file.dest));
    if (file.entry->type == FileType::regular) records.back().content = Digest::from_bytes(sum.contents[i]);
  }
  return records;
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
  // Hashed, not ordered: 20,000 paths sharing long prefixes made the tree's compares most of
  // a big COPY's miss explanation.
  std::unordered_map<std::string_view, const FileRecord*> old_by_path;
  old_by_path.reserve(before.size());
  for (const auto& r : before) old_by_path[r.path] = &r;
  FileDiff d;
  std::unordered_set<std::string_view> seen;
  seen.reserve(after.size());
  for (const auto& r : after) {
    if (!seen.insert(r.path).second) continue;
    auto it = old_by_path.find(r.path);
    if (it == old_by_path.end())
      d.added.push_back(r.path);
    else if (!(*it->second == r))
      d.changed.push_back(r.path);
  }
  for (const auto& [path, r] : old_by_path)
    if (!seen.count(path)) d.removed.emplace_back(path);
  std::sort(d.removed.begin(), d.removed.end());
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
