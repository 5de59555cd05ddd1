#include "cbuild/store/store.hpp"

#include "cbuild/util/fs.hpp"
#include "impl.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <pwd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <random>

namespace cbuild::store {

namespace {

// Schema migrations: entry i upgrades from version i to i + 1. Never edit a shipped entry.
constexpr const char* k_migrations[] = {
    R"sql(
CREATE TABLE images(manifest TEXT PRIMARY KEY, config TEXT NOT NULL, media_type TEXT NOT NULL,
                    size INTEGER NOT NULL, created INTEGER NOT NULL);
CREATE TABLE tags(name TEXT PRIMARY KEY, manifest TEXT NOT NULL REFERENCES images(manifest),
                  updated INTEGER NOT NULL);
CREATE INDEX tags_manifest ON tags(manifest);
CREATE TABLE layers(blob TEXT PRIMARY KEY, diff_id TEXT NOT NULL, compression TEXT NOT NULL,
                    media_type TEXT NOT NULL, size INTEGER NOT NULL);
CREATE INDEX layers_diff ON layers(diff_id, compression);
CREATE TABLE snapshots(id TEXT PRIMARY KEY, parent TEXT NOT NULL, diff_id TEXT NOT NULL,
                       size INTEGER NOT NULL, created INTEGER NOT NULL, last_used INTEGER NOT NULL,
                       info TEXT NOT NULL);
CREATE INDEX snapshots_parent ON snapshots(parent);
CREATE TABLE cache(key TEXT PRIMARY KEY, record TEXT NOT NULL, size INTEGER NOT NULL,
                   created INTEGER NOT NULL, last_used INTEGER NOT NULL);
CREATE TABLE cache_refs(key TEXT NOT NULL REFERENCES cache(key) ON DELETE CASCADE,
                        kind TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY(key, kind, ref));
CREATE INDEX cache_refs_ref ON cache_refs(kind, ref);
CREATE TABLE cache_mounts(id TEXT PRIMARY KEY, dir TEXT NOT NULL, size INTEGER NOT NULL,
                          created INTEGER NOT NULL, last_used INTEGER NOT NULL);
)sql",
    // A snapshot whose directory holds only what differs from another snapshot's (`base`),
    // stacked on it: a COPY re-run that took its unchanged files from the previous result.
    R"sql(
ALTER TABLE snapshots ADD COLUMN base TEXT NOT NULL DEFAULT '';
CREATE INDEX snapshots_base ON snapshots(base);
)sql",
};
static_assert(std::size(k_migrations) == k_schema_version);

constexpr const char* k_layout_dirs[] = {"blobs/sha256", "snapshots", "cache-mounts", "tmp", "locks"};

/// Whether the database already has this cbuild's schema (read only; false for a new file).
Result<bool> current_schema(Store::Impl& impl) {
  auto exists = TRY(impl.db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"));
  if (!TRY(exists.step())) return false;
  auto q = TRY(impl.db.query("SELECT value FROM meta WHERE key = 'schema_version'"));
  return TRY(q.step()) && q.text(0) == std::to_string(k_schema_version);
}

Status migrate(Store::Impl& impl) {
  // WAL: readers never block the writer, commits are atomic under kill -9.
  // synchronous=NORMAL: see store.hpp (files are fsynced before rows name them).
  TRY(impl.db.exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;"));
  if (TRY(current_schema(impl))) return {};  // the common case: no write transaction
  return impl.write([&]() -> Status {
    TRY(impl.db.exec("CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)"));
    int version = 0;
    {
      auto q = TRY(impl.db.query("SELECT value FROM meta WHERE key = 'schema_version'"));
      if (TRY(q.step())) version = std::stoi(q.text(0));
    }
    if (version > k_schema_version)
      return make_error("schema version {} is newer than this cbuild supports ({})", version, k_schema_version);
    for (int v = version; v < k_schema_version; ++v) TRY(impl.db.exec(k_migrations[v]));
    auto q = TRY(impl.db.query("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?), (?, ?)"));
    TRY(q.bind("schema_version").bind(std::to_string(k_schema_version)).bind("layout_version")
            .bind(std::to_string(k_layout_version)).run());
    return {};
  });
}

Status start_session(Store::Impl& impl) {
  std::string name = "s-" + random_hex(8);
  fs::path fresh = impl.tmp_dir() / (".new-" + name);
  impl.session_hold = TRY(FileLock::acquire(fresh, LockMode::exclusive));
  impl.session_lock = impl.tmp_dir() / (name + ".lock");
  // Renamed only once locked, so a cleaner never sees an unlocked live session.
  if (::rename(fresh.c_str(), impl.session_lock.c_str()) != 0)
    return errno_error(fmt::format("rename `{}`", fresh.string()));
  impl.session = impl.tmp_dir() / name;
  // Container root (an unprivileged host id when cbuild runs as root) must reach the step
  // roots kept here; as another user only cbuild's own processes need it.
  if (::mkdir(impl.session.c_str(), 0700) != 0 || (::geteuid() == 0 && ::chmod(impl.session.c_str(), 0711) != 0))
    return errno_error(fmt::format("create directory `{}`", impl.session.string()));
  return {};
}

}  // namespace

std::string random_hex(size_t bytes) {
  // Reseeded after fork(): a child must not repeat its parent's names.
  static thread_local pid_t seeded_for = 0;
  static thread_local std::mt19937_64 rng;
  if (seeded_for != ::getpid()) {
    seeded_for = ::getpid();
    std::random_device device;
    rng.seed((static_cast<uint64_t>(device()) << 32) ^ device() ^ static_cast<uint64_t>(seeded_for));
  }
  std::string out;
  while (out.size() < bytes * 2) out += fmt::format("{:016x}", rng());
  out.resize(bytes * 2);
  return out;
}

int64_t now_seconds() { return static_cast<int64_t>(std::time(nullptr)); }

fs::path default_root() {
  if (::geteuid() == 0) return "/var/lib/cbuild";
  const char* xdg = std::getenv("XDG_DATA_HOME");
  if (xdg && xdg[0] == '/') return fs::path(xdg) / "cbuild";
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    const struct passwd* pw = ::getpwuid(::geteuid());
    home = pw ? pw->pw_dir : "/";
  }
  return fs::path(home) / ".local" / "share" / "cbuild";
}

fs::path resolve_root(const std::string& root) { return root.empty() ? default_root() : fs::path(root); }

namespace {

/// Marks `dir` as the top of directory hierarchies for ext4's Orlov allocator
/// (FS_TOPDIR_FL, `chattr +T`): each session directory (or cache mount) made in it then goes
/// to a block group of its own. Without it every step's tree is created in the group of `tmp/`, where a prune
/// has just freed thousands of inodes; on ext4 without a journal, allocation skips inodes
/// deleted in the last 5 minutes one by one, and a 20,000-file COPY after a prune took
/// 7-13 s instead of 2 s. Other filesystems have no such flag: nothing to do.
void mark_top_directory(const fs::path& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int flags = 0;
  if (!fd || ::ioctl(fd.get(), FS_IOC_GETFLAGS, &flags) != 0 || (flags & FS_TOPDIR_FL)) return;
  flags |= FS_TOPDIR_FL;
  (void)::ioctl(fd.get(), FS_IOC_SETFLAGS, &flags);
}

/// Removes `path` when nothing wrote it for a minute: a temp file whose writer was killed
/// (a live writer finishes within milliseconds).
void remove_if_stale(const fs::path& path, int64_t now) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && now - st.st_mtime > 60) ::unlink(path.c_str());
}

}  // namespace

// Remove temp sessions whose owner died: their lock file is free (see store.hpp). Also the
// temp files of stat caches (`contexts/.tmp-*`, AtomicFile's) whose writer was killed.
uint64_t Store::Impl::clean_dead_sessions() {
  Store::Impl& impl = *this;
  uint64_t removed = 0;
  std::error_code ec;
  const int64_t now = now_seconds();
  for (const auto& entry : fs::directory_iterator(impl.root / "contexts", ec))
    if (entry.path().filename().string().starts_with(".tmp-")) remove_if_stale(entry.path(), now);
  for (const auto& entry : fs::directory_iterator(impl.tmp_dir(), ec)) {
    std::string name = entry.path().filename().string();
    if (name.starts_with(".new-")) {
      remove_if_stale(entry.path(), now);
    } else if (name.starts_with("s-") && name.ends_with(".lock")) {
      auto held = FileLock::try_acquire(entry.path(), LockMode::exclusive);
      if (!held.ok() || !held->has_value()) continue;
      fs::path dir = impl.tmp_dir() / name.substr(0, name.size() - 5);
      if (!fs::exists(dir, ec) || impl.remover(dir).ok()) {
        ::unlink(entry.path().c_str());
        ++removed;
      }
    } else if (name.starts_with("s-") && !fs::exists(entry.path().string() + ".lock", ec)) {
      // A session creates its lock file before its directory and removes it after.
      if (impl.remover(entry.path()).ok()) ++removed;
    }
  }
  return removed;
}

Store::Impl::~Impl() {
  if (!session.empty()) {
    (void)remover(session);
    ::unlink(session_lock.c_str());
  }
}

Status Store::Impl::write(const std::function<Status()>& fn) {
  std::lock_guard lock(mu);
  const std::string savepoint = fmt::format("s{}", depth);
  TRY(db.exec(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT " + savepoint));
  ++depth;
  Status status;
  try {
    status = fn();
  } catch (const std::exception& e) {
    status = make_error("store transaction: {}", e.what());
  }
  --depth;
  if (status.ok()) status = db.exec(depth == 0 ? "COMMIT" : "RELEASE " + savepoint);
  if (!status.ok())
    (void)db.exec(depth == 0 ? "ROLLBACK" : "ROLLBACK TO " + savepoint + "; RELEASE " + savepoint);
  return status;
}

Result<fs::path> Store::Impl::temp_name(std::string_view prefix) {
  return TRY(session_dir()) / (std::string(prefix) + random_hex(8));
}

Status Store::Impl::discard(const fs::path& path) {
  fs::path trash = TRY(temp_name("trash-"));
  if (::rename(path.c_str(), trash.c_str()) != 0) {
    if (errno == ENOENT) return {};
    return errno_error(fmt::format("move `{}` to the trash", path.string()));
  }
  struct stat st {};
  if (::lstat(trash.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    ::unlink(trash.c_str());
    return {};
  }
  return remover(trash);
}

Result<Store> Store::open(const fs::path& root, TreeRemover remover) {
  auto impl = std::make_shared<Impl>();
  impl->root = fs::absolute(root);
  impl->remover = remover ? std::move(remover) : [](const fs::path& p) { return cbuild::remove_tree(p); };
  for (const char* dir : k_layout_dirs) TRY(make_dirs(impl->root / dir));
  {
    // Switching a new database to WAL can fail with SQLITE_BUSY without waiting when
    // another process opens it at the same moment, so opening is serialized.
    auto opening = TRY(FileLock::acquire(impl->root / "locks" / "open", LockMode::exclusive));
    TRY(impl->db.open(impl->root / "db.sqlite"));
    if (auto st = migrate(*impl); !st.ok())
      return std::move(st).error().wrap("open store `{}`", impl->root.string());
  }
  for (const fs::path& dir : {impl->tmp_dir(), impl->cache_mounts_dir()}) mark_top_directory(dir);
  impl->clean_dead_sessions();
  return Store(std::move(impl));
}

Store::Store(std::shared_ptr<Impl> impl) : m_impl(std::move(impl)) {}
Store::Store(Store&&) noexcept = default;
Store& Store::operator=(Store&&) noexcept = default;
Store::~Store() = default;

const fs::path& Store::root() const { return m_impl->root; }
Result<fs::path> Store::session_dir() const { return m_impl->session_dir(); }

Result<fs::path> Store::Impl::session_dir() {
  std::call_once(session_once, [this] { session_started = start_session(*this); });
  if (!session_started) return session_started.error();
  return session;
}

Result<fs::path> Store::make_temp_dir(std::string_view prefix) {
  fs::path dir = TRY(m_impl->temp_name(prefix));
  if (::mkdir(dir.c_str(), 0755) != 0) return errno_error(fmt::format("create directory `{}`", dir.string()));
  return dir;
}

Status Store::transaction(const std::function<Status()>& fn) { return m_impl->write(fn); }

Result<FileLock> Store::lease() { return FileLock::acquire(m_impl->gc_lock_path(), LockMode::shared); }

Result<FileLock> Store::lock(std::string_view name, LockMode mode, std::optional<std::chrono::milliseconds> timeout) {
  bool plain = !name.empty() && name.size() <= 100 && name != "gc";
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') plain = false;
  if (name.starts_with(".")) plain = false;
  std::string file = plain ? std::string(name) : "h-" + std::string(Digest::of(name).hex().substr(0, 32));
  return FileLock::acquire(m_impl->locks_dir() / (file + ".lock"), mode, timeout);
}

void Store::set_tree_remover(TreeRemover remover) {
  std::lock_guard lock(m_impl->mu);
  m_impl->remover = std::move(remover);
}

Status Store::remove_tree(const fs::path& path) const { return m_impl->remover(path); }

}  // namespace cbuild::store
