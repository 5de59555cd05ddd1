#include "cbuild/context/context.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <deque>
#include <iterator>
#include <mutex>
#include <thread>

#include "cbuild/context/match.hpp"

namespace cbuild::context {

namespace {

constexpr std::array<std::pair<FileType, std::string_view>, 7> k_type_names{{
    {FileType::regular, "file"},
    {FileType::directory, "dir"},
    {FileType::symlink, "symlink"},
    {FileType::fifo, "fifo"},
    {FileType::socket, "socket"},
    {FileType::char_device, "char"},
    {FileType::block_device, "block"},
}};

constexpr std::array<std::pair<mode_t, FileType>, 7> k_mode_types{{
    {S_IFREG, FileType::regular},
    {S_IFDIR, FileType::directory},
    {S_IFLNK, FileType::symlink},
    {S_IFIFO, FileType::fifo},
    {S_IFSOCK, FileType::socket},
    {S_IFCHR, FileType::char_device},
    {S_IFBLK, FileType::block_device},
}};

FileType type_of(mode_t mode) {
  for (auto [bits, type] : k_mode_types)
    if ((mode & S_IFMT) == bits) return type;
  return FileType::regular;
}

void fill_entry(Entry& e, std::string path, const struct stat& st) {
  e.path = std::move(path);
  e.type = type_of(st.st_mode);
  e.mode = st.st_mode & 07777;
  e.uid = st.st_uid;
  e.gid = st.st_gid;
  e.size = e.type == FileType::regular ? static_cast<uint64_t>(st.st_size) : 0;
  e.mtime_ns = int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
  e.ctime_ns = int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec;
  e.ino = st.st_ino;
  e.dev = st.st_dev;
  e.rdev = st.st_rdev;
  e.nlink = static_cast<uint32_t>(st.st_nlink);
}

/// The names in one directory, sorted bytewise. Read with getdents64 into a buffer that is
/// kept for the next directory at the same depth: no DIR (and its 32 KiB buffer), dup or
/// string per name for each of hundreds of directories.
class DirNames {
 public:
  /// Reads the directory open as `dirfd` (from its current offset: a fresh fd). The names
  /// are valid, and NUL-terminated, until the next read.
  Status read(int dirfd, const fs::path& where) {
    constexpr size_t k_min_room = 16 << 10;
    size_t used = 0;
    for (;;) {
      if (m_buf.size() - used < k_min_room) m_buf.resize(std::max<size_t>(2 * m_buf.size(), 64 << 10));
      ssize_t n = ::getdents64(dirfd, m_buf.data() + used, m_buf.size() - used);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_error(fmt::format("read directory `{}`", where.string()));
      if (n == 0) break;
      used += static_cast<size_t>(n);
    }
    m_names.clear();
    for (size_t at = 0; at < used;) {  // offsets, not pointers, while the buffer could grow
      const auto* d = reinterpret_cast<const struct dirent64*>(m_buf.data() + at);
      std::string_view name = d->d_name;
      if (name != "." && name != "..") m_names.push_back(name);
      at += d->d_reclen;
    }
    std::sort(m_names.begin(), m_names.end());
    return {};
  }
  const std::vector<std::string_view>& names() const { return m_names; }

 private:
  std::vector<char> m_buf;
  std::vector<std::string_view> m_names;
};

}  // namespace

std::string_view to_string(FileType type) {
  for (auto [t, name] : k_type_names)
    if (t == type) return name;
  return "file";
}

/// The walk: fsutil's filter rules (see Context) over openat/fstatat.
namespace {

/// Entries found below one top-level name, with subtree ends relative to the part.
struct Part {
  std::vector<Entry> entries;
  std::vector<size_t> ends;
  std::vector<std::string> excluded;  ///< top-most paths the ignore patterns left out
};

/// The walk: fsutil's filter rules (see Context) over openat/fstatat, writing Parts.
class ContextScanner {
 public:
  ContextScanner(const fs::path& root, const PatternMatcher& ignore) : m_root(root), m_ignore(ignore) {}

  /// Scans the top-level `name` into `out`.
  Status scan_part(int rootfd, std::string_view name, Part& out) {
    m_out = &out;
    m_stack.clear();  // what a failed part left
    m_depth = 0;
    return visit(rootfd, name, "", {});
  }

 private:
  static constexpr size_t k_pending = SIZE_MAX;
  struct Frame {
    Entry entry;
    size_t index;
  };

  Status scan_dir(int dirfd, const std::string& rel, const PatternMatcher::MatchInfo& info) {
    if (m_depth == m_levels.size()) m_levels.emplace_back();
    DirNames& level = m_levels[m_depth];  // a deque: stays put while deeper levels are added
    TRY(level.read(dirfd, m_root / rel));
    reserve(level.names().size());
    ++m_depth;
    Status status;
    for (std::string_view name : level.names())
      if (status = visit(dirfd, name, rel, info); !status) break;
    --m_depth;
    return status;
  }

  /// Lists `name` (in directory `rel`, open as `dirfd`; NUL-terminated) unless ignored, and
  /// what is below it.
  Status visit(int dirfd, std::string_view name, const std::string& rel, const PatternMatcher::MatchInfo& info) {
    std::string child;  // one allocation, not the two of rel + "/" + name
    child.reserve(rel.size() + 1 + name.size());
    if (!rel.empty()) child.append(rel).append(1, '/');
    child.append(name);
    struct stat st;
    if (::fstatat(dirfd, name.data(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) return {};  // removed while the directory was being read
      return errno_error(fmt::format("stat `{}`", (m_root / child).string()));
    }
    bool is_dir = S_ISDIR(st.st_mode);
    PatternMatcher::MatchInfo child_info;
    bool excluded = !m_ignore.empty() && m_ignore.match(child, info, is_dir ? &child_info : nullptr);
    if (excluded && (!is_dir || !m_ignore.must_walk_excluded_dir(child))) {
      m_out->excluded.push_back(std::move(child));
      return {};
    }
    if (!is_dir) {  // listed at once, built in place: nothing below it to wait for
      flush();      // first the excluded directories above it that an exception entered
      m_out->ends.push_back(m_out->entries.size() + 1);
      Entry& entry = m_out->entries.emplace_back();
      fill_entry(entry, std::move(child), st);
      if (entry.type == FileType::symlink) entry.link_target = TRY(read_link(dirfd, name, entry.path));
      return {};
    }
    Entry entry;
    fill_entry(entry, child, st);
    m_stack.push_back({std::move(entry), k_pending});
    if (!excluded) flush();
    TRY(enter(dirfd, name, child, child_info, excluded));
    if (m_stack.back().index != k_pending) m_out->ends[m_stack.back().index] = m_out->entries.size();
    m_stack.pop_back();
    return {};
  }

  Result<std::string> read_link(int dirfd, std::string_view name, const std::string& child) {
    std::string target(4096, '\0');
    ssize_t n = ::readlinkat(dirfd, name.data(), target.data(), target.size());
    if (n < 0) return errno_error(fmt::format("read link `{}`", (m_root / child).string()));
    target.resize(static_cast<size_t>(n));
    return target;
  }

  Status enter(int dirfd, std::string_view name, const std::string& child, const PatternMatcher::MatchInfo& info,
               bool excluded) {
    UniqueFd fd(::openat(dirfd, name.data(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) {
      if (excluded && errno == EACCES) return {};  // as fsutil: unreadable and excluded is fine
      return errno_error(fmt::format("open `{}`", (m_root / child).string()));
    }
    return scan_dir(fd.get(), child, info);
  }

  /// Room for `more` entries in the part: one allocation for a directory's names instead of
  /// a vector doubling through them (each step a fresh block and a copy).
  void reserve(size_t more) {
    size_t want = m_out->entries.size() + more;
    if (want <= m_out->entries.capacity()) return;
    want = std::max(want, 2 * m_out->entries.capacity());
    m_out->entries.reserve(want);
    m_out->ends.reserve(want);
  }

  /// Lists the entry on top of the stack, and first any excluded directories above it that
  /// were entered only because of exceptions.
  void flush() {
    for (auto& frame : m_stack) {
      if (frame.index != k_pending) continue;
      frame.index = m_out->entries.size();
      m_out->entries.push_back(std::move(frame.entry));
      m_out->ends.push_back(frame.index + 1);
    }
  }

  const fs::path& m_root;
  const PatternMatcher& m_ignore;
  Part* m_out = nullptr;
  std::vector<Frame> m_stack;
  std::deque<DirNames> m_levels;  // one per depth being read
  size_t m_depth = 0;
};

/// Scans the top-level names as independent parts on up to k_scan_threads threads.
Status scan_parts(const fs::path& root, int rootfd, const PatternMatcher& ignore, std::vector<Part>& parts) {
  DirNames root_names;
  TRY(root_names.read(rootfd, root));
  const auto& names = root_names.names();
  parts.resize(names.size());
  std::atomic<size_t> next{0};
  std::mutex error_mutex;
  std::optional<Error> first_error;
  auto worker = [&] {
    ContextScanner scanner(root, ignore);  // one per thread: its directory buffers are reused
    for (size_t i; (i = next.fetch_add(1)) < names.size();) {
      if (auto st = scanner.scan_part(rootfd, names[i], parts[i]); !st) {
        std::lock_guard lock(error_mutex);
        if (!first_error) first_error = std::move(st).error();
        next = names.size();
      }
    }
  };
  std::optional<std::thread> helper;
  if (names.size() > 1) helper.emplace(worker);
  worker();
  if (helper) helper->join();
  if (first_error) return std::move(*first_error);
  return {};
}

/// Fills `out` with the parts' entries in order. For a big context the second half of the
/// new array is faulted in (MADV_POPULATE_WRITE) on another thread while this one moves the
/// first half in: in a VM each fresh page costs ~2 us, and 20,000 entries take 660 pages.
void join_parts(std::vector<Part>& parts, std::vector<Entry>& out, std::vector<size_t>& ends,
                std::vector<std::string>& excluded) {
  constexpr size_t k_prefault_min = 4096;  // entries; below this a thread costs more than it saves
  size_t total = 0;
  for (const auto& part : parts) total += part.entries.size();
  out.reserve(total);
  ends.reserve(total);
  std::optional<std::thread> prefault;
  if (total >= k_prefault_min) {
    const auto page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
    auto from = (reinterpret_cast<uintptr_t>(out.data() + total / 2) + page - 1) & ~(page - 1);
    auto to = reinterpret_cast<uintptr_t>(out.data() + total) & ~(page - 1);
    if (from < to)  // errors (an older kernel) only mean the pages fault as they are written
      prefault.emplace([from, to] { (void)::madvise(reinterpret_cast<void*>(from), to - from, MADV_POPULATE_WRITE); });
  }
  for (auto& part : parts) {
    size_t base = out.size();
    for (size_t end : part.ends) ends.push_back(base + end);
    std::move(part.entries.begin(), part.entries.end(), std::back_inserter(out));
    std::move(part.excluded.begin(), part.excluded.end(), std::back_inserter(excluded));
  }
  if (prefault) prefault->join();
}

}  // namespace

Result<Context> Context::scan(const fs::path& root, const PatternMatcher& ignore) {
  Context ctx;
  std::error_code ec;
  ctx.m_root = fs::absolute(root, ec);
  if (ec) return make_error(ExitCode::bad_input, "open context `{}`: {}", root.string(), ec.message());
  UniqueFd fd(::open(ctx.m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(fmt::format("open context `{}`", root.string()));
  std::vector<Part> parts;
  if (auto st = scan_parts(ctx.m_root, fd.get(), ignore, parts); !st)
    return std::move(st).error().wrap("scan context");
  join_parts(parts, ctx.m_entries, ctx.m_ends, ctx.m_excluded);
  return ctx;
}

Result<Context> Context::open(const fs::path& root, const fs::path& dockerfile) {
  auto ignore_file = TRY(load_ignore_file(root, dockerfile));
  auto matcher = TRY(PatternMatcher::create(ignore_file.patterns));
  auto ctx = TRY(scan(root, matcher));
  ctx.m_ignore_file = std::move(ignore_file);
  return ctx;
}

int walk_order(std::string_view a, std::string_view b) {
  size_t n = std::min(a.size(), b.size());
  auto [ia, ib] = std::mismatch(a.begin(), a.begin() + static_cast<ptrdiff_t>(n), b.begin());
  if (ia == a.begin() + static_cast<ptrdiff_t>(n)) return a.size() < b.size() ? -1 : a.size() > b.size() ? 1 : 0;
  auto rank = [](char c) { return c == '/' ? 0 : static_cast<unsigned char>(c); };
  return rank(*ia) < rank(*ib) ? -1 : 1;
}

bool Context::excludes_below(std::string_view path) const {
  if (path == "." || path.empty()) return !m_excluded.empty();
  // Walk order puts `path` and everything below it in one run, after `path` itself.
  auto it = std::lower_bound(m_excluded.begin(), m_excluded.end(), path,
                             [](const std::string& e, std::string_view p) { return walk_order(e, p) < 0; });
  return it != m_excluded.end() && (*it == path || (it->starts_with(path) && (*it)[path.size()] == '/'));
}

const Entry* Context::find(std::string_view path) const {
  auto it = std::lower_bound(m_entries.begin(), m_entries.end(), path,
                             [](const Entry& e, std::string_view p) { return walk_order(e.path, p) < 0; });
  return it != m_entries.end() && it->path == path ? &*it : nullptr;
}

Result<std::optional<std::string>> Context::resolve(std::string_view path, bool follow_last) const {
  std::deque<std::string> todo;
  auto push_parts = [&](std::string_view p, bool front) {
    std::vector<std::string> parts;
    for (size_t pos = 0; pos <= p.size();) {
      size_t end = std::min(p.find('/', pos), p.size());
      if (end > pos) parts.emplace_back(p.substr(pos, end - pos));
      pos = end + 1;
    }
    if (front)
      todo.insert(todo.begin(), parts.begin(), parts.end());
    else
      todo.insert(todo.end(), parts.begin(), parts.end());
  };
  push_parts(path, false);
  std::string cur;  // "" is the root
  int links = 0;
  while (!todo.empty()) {
    std::string part = std::move(todo.front());
    todo.pop_front();
    if (part == ".") continue;
    if (part == "..") {
      size_t slash = cur.rfind('/');
      cur = slash == std::string::npos ? "" : cur.substr(0, slash);
      continue;
    }
    std::string next = cur.empty() ? part : cur + "/" + part;
    const Entry* e = find(next);
    if (!e) return std::optional<std::string>();
    bool last = todo.empty();
    if (e->type == FileType::symlink && (!last || follow_last)) {
      if (++links > 40)
        return make_error(ExitCode::bad_input, "resolve `{}`: too many levels of symbolic links", path);
      if (e->link_target.starts_with('/')) cur.clear();
      push_parts(e->link_target, true);
      continue;
    }
    if (!last && e->type != FileType::directory) return std::optional<std::string>();
    cur = std::move(next);
  }
  return std::optional<std::string>(cur.empty() ? "." : cur);
}

}  // namespace cbuild::context
