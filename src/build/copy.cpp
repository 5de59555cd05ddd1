#include "cbuild/build/copy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_set>

#include "cbuild/layer/override_stat.hpp"
#include "cbuild/util/binary.hpp"
#include "cbuild/layer/prefetch.hpp"
#include "copy_archive.hpp"
#include "copy_fs.hpp"

namespace cbuild::build {

namespace {

/// A destination written as a directory: "dir/", "dir/.", ".", "..", "".
bool names_directory(std::string_view dest) {
  return dest.empty() || dest == "." || dest == ".." || dest.ends_with('/') || dest.ends_with("/.") ||
         dest.ends_with("/..");
}

std::string join_rel(std::string_view dir, std::string_view name) {
  if (dir.empty()) return std::string(name);
  if (name.empty()) return std::string(dir);
  return fmt::format("{}/{}", dir, name);
}

/// A directory of the copied tree, whose mode and times are set once it is filled.
struct PendingDir {
  std::string rel;  // relative to the destination directory
  mode_t mode;
  timespec times[2];
};

class Copier {
 public:
  Copier(const CopyRoot& root, const CopyRequest& request) : m_root(root), m_req(request) {
    if (request.chown)
      m_owner = {request.chown->uid, request.chown->gid, &request.ids};
    else
      m_owner = {0, 0, &request.ids};
  }

  Result<CopyStats> run() {
    std::string dest = m_req.dest.starts_with('/') ? m_req.dest : join_rel(m_req.workdir, m_req.dest);
    dest = "/" + copy_clean_path(dest);
    bool dir_syntax = names_directory(m_req.dest);
    if (m_req.single_file && m_req.items.size() == 1 && !TRY(extracts(m_req.items[0]))) {
      const CopyItem& item = m_req.items[0];
      auto resolved = TRY(m_root.resolve(dest));
      if (dir_syntax || resolved.is_dir) {
        TRY(open_dest(resolved.rel));
        TRY(place(item, item.rel));
      } else {
        auto [parent, name] = copy_split_parent(resolved.rel);
        TRY(open_dest(parent));
        TRY(place(item, name));
      }
    } else {
      TRY(open_dest(dest));
      if (m_req.reuse) TRY(check_reusable());
      for (size_t i = 0; i < m_req.items.size(); ++i) {
        const CopyItem& item = m_req.items[i];
        if (m_prefetch.cold()) prefetch_after(i);
        if (TRY(extracts(item))) {
          TRY(extract(item));
        } else {
          TRY(place(item, item.rel));
        }
      }
    }
    TRY(finish_dirs());
    return m_stats;
  }

 private:
  /// Once sources are read from the disk: read-ahead of the next sources, a window at a time.
  void prefetch_after(size_t i) {
    constexpr size_t k_window = 256;
    if (m_prefetched > i + k_window / 2) return;
    size_t from = std::max(m_prefetched, i + 1), to = std::min(m_req.items.size(), from + k_window);
    std::vector<std::string> paths;
    for (size_t j = from; j < to; ++j)
      if (!m_req.items[j].source.empty() && reusable_size(m_req.items[j]) < 0) paths.push_back(m_req.items[j].source);
    m_prefetch.add(AT_FDCWD, std::move(paths));
    m_prefetched = to;
  }

  Status open_dest(std::string_view rel) {
    m_dest_fd = TRY(m_root.make_dirs(rel, m_owner));
    std::string clean = copy_clean_path(rel);
    m_dest_display = clean.empty() ? "" : "/" + clean;
    return {};
  }

  /// How messages name the destination directory and a path below it.
  std::string dest_name() const { return m_dest_display.empty() ? "/" : m_dest_display; }
  std::string display(std::string_view rel) const { return m_dest_display + "/" + std::string(rel); }

  Result<bool> extracts(const CopyItem& item) const {
    if (!m_req.extract_archives || item.content || item.in_directory) return false;
    return copy_is_archive(item.source);
  }

  Status extract(const CopyItem& item) {
    CopyExtractOptions options;
    if (m_req.chown) options.chown = m_owner;
    options.ids = &m_req.ids;
    auto stats = copy_extract_archive(item.source, m_dest_fd.get(), m_dest_display, options);
    if (!stats) return std::move(stats).error().wrap("extract `{}`", item.source);
    m_stats.files += stats->files;
    m_stats.bytes += stats->bytes;
    ++m_stats.archives_extracted;
    return {};
  }

  /// The directory `parent` below the destination, created if missing (cached: the items
  /// of one directory come together).
  Result<int> parent_fd(const std::string& parent) {
    if (!m_parent_fd || parent != m_parent) {
      m_parent_fd = TRY(copy_open_subdir(m_dest_fd.get(), parent, m_owner, m_dest_display));
      m_parent = parent;
    }
    return m_parent_fd.get();
  }

  Status place(const CopyItem& item, const std::string& rel_in) {
    std::string rel = copy_clean_path(rel_in);
    if (item.content) {
      if (rel.empty())
        return make_error(ExitCode::bad_input, "inline file for `{}` has no name", dest_name());
      auto [parent, name] = copy_split_parent(rel);
      return write_inline(TRY(parent_fd(parent)), name, rel, *item.content, item.mtime_sec);
    }
    if (int64_t size = reusable_size(item); size >= 0) {
      auto [parent, name] = copy_split_parent(rel);
      if (TRY(defer_to_previous(TRY(parent_fd(parent)), name, parent, size, item.digest))) return {};
    }
    struct stat st {};
    if (::lstat(item.source.c_str(), &st) != 0)
      return errno_error(fmt::format("stat `{}`", item.source));
    if (rel.empty()) {
      if (S_ISDIR(st.st_mode)) return {};  // a directory source's own entry: dest itself
      return make_error(ExitCode::bad_input, "copy `{}`: no destination name", item.source);
    }
    auto [parent, name] = copy_split_parent(rel);
    int pfd = TRY(parent_fd(parent));
    switch (st.st_mode & S_IFMT) {
      case S_IFREG:
        return copy_regular(item.source, st, pfd, name, rel);
      case S_IFDIR:
        return copy_dir(item.source, st, pfd, name, rel);
      case S_IFLNK:
        return copy_symlink(item.source, st, pfd, name, rel);
      case S_IFSOCK:
        return {};  // sockets are not copied (as fsutil)
      default:
        return copy_special(st, pfd, name, rel);
    }
  }

  mode_t wanted_mode(const struct stat& st) const {
    return m_req.chmod ? (*m_req.chmod & 07777) : (st.st_mode & 07777);
  }

  /// The owner a copied entry gets: the `--chown` owner or 0:0, or with `keep_owner` (and
  /// no `--chown`) the source's, its on-disk ids mapped back to container ids.
  CopyIds owner_for(const struct stat& st) const {
    if (!m_req.keep_owner || m_req.chown) return m_owner;
    const auto& ids = m_req.ids;
    uint32_t uid = ids.uids.identity() ? st.st_uid : ids.uids.to_container(st.st_uid).value_or(layer::k_overflow_id);
    uint32_t gid = ids.gids.identity() ? st.st_gid : ids.gids.to_container(st.st_gid).value_or(layer::k_overflow_id);
    return {uid, gid, &m_req.ids};
  }

  /// Owner, mode, xattrs and times of a new file or directory `fd`.
  Status finish_file(int fd, const CopyIds& owner, mode_t mode, int src_fd, const timespec times[2],
                     const std::string& shown) {
    TRY(copy_set_owner(fd, owner, mode, shown));
    if (::fchmod(fd, mode) != 0) return errno_error(fmt::format("chmod `{}`", shown));
    if (src_fd >= 0) TRY(copy_xattrs_fd(src_fd, fd, shown));
    if (times && ::futimens(fd, times) != 0) return errno_error(fmt::format("set times of `{}`", shown));
    return {};
  }

  Status copy_regular(const fs::path& src, const struct stat& st, int pfd, const std::string& name,
                      const std::string& rel) {
    std::string shown = display(rel);
    UniqueFd in(open_to_read(AT_FDCWD, src.c_str()));
    if (!in) return errno_error(fmt::format("open `{}`", src.string()));
    m_prefetch.check(in.get());
    TRY(copy_clear_target(pfd, name, shown));
    UniqueFd out(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return errno_error(fmt::format("create `{}`", shown));
    m_stats.bytes += TRY(copy_file_data(in.get(), out.get(), static_cast<uint64_t>(st.st_size), shown));
    const timespec times[2] = {st.st_atim, st.st_mtim};
    TRY(finish_file(out.get(), owner_for(st), wanted_mode(st), in.get(), times, shown));
    ++m_stats.files;
    return {};
  }

  /// The size of an item check_reusable() found in the previous result as this copy would
  /// write it; -1 for any other item.
  int64_t reusable_size(const CopyItem& item) const {
    return m_reusable.empty() ? -1 : m_reusable[static_cast<size_t>(&item - m_req.items.data())];
  }

  /// Which items the previous result holds as this copy would write them (see CopyReuse):
  /// checked before the copy, on two threads (the checks only read).
  Status check_reusable() {
    auto dest = dest_in_root();
    if (!dest) return {};
    m_shared_targets = targets_shared(m_req.items);
    m_reusable.assign(m_req.items.size(), -1);
    m_previous_root = join_rel(m_req.reuse->previous.string(), *dest);
    const std::string base_root =
        m_req.reuse->previous_base.empty() ? std::string() : join_rel(m_req.reuse->previous_base.string(), *dest);
    m_upper_root = join_rel(m_req.reuse->upper.string(), *dest);
    auto check = [&](size_t begin, size_t end) -> Status {
      std::optional<std::string> parent_open;  // the directory open as parent_fd (and base_fd), below the destination
      UniqueFd parent_fd, base_fd;
      for (size_t i = begin; i < end; ++i) {
        const CopyItem& item = m_req.items[i];
        if (item.content || (m_req.extract_archives && !item.in_directory)) continue;
        std::string rel = copy_clean_path(item.rel);
        auto unchanged = m_req.reuse->unchanged.find(rel);
        if (rel.empty() || unchanged == m_req.reuse->unchanged.end()) continue;
        if (unchanged->second >= 0) {  // untouched since the previous copy: nothing to check
          m_reusable[i] = unchanged->second;
          continue;
        }
        auto [parent, leaf] = copy_split_parent(rel);
        if (parent_open != parent) {
          parent_fd.reset(::open(join_rel(m_previous_root, parent).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          if (!base_root.empty())
            base_fd.reset(::open(join_rel(base_root, parent).c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
          parent_open = parent;
        }
        // The previous copy: in the previous result's directory, else in its base's.
        struct stat st {}, prev {};
        int found = parent_fd.get();
        if (found >= 0 && ::fstatat(found, leaf.c_str(), &prev, AT_SYMLINK_NOFOLLOW) != 0) {
          found = errno == ENOENT && base_fd ? base_fd.get() : -1;
          if (found >= 0 && ::fstatat(found, leaf.c_str(), &prev, AT_SYMLINK_NOFOLLOW) != 0) found = -1;
        }
        if (found < 0 || ::lstat(item.source.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || !S_ISREG(prev.st_mode))
          continue;
        auto [uid, gid] = TRY(copy_disk_ids(owner_for(st)));
        if (prev.st_size != st.st_size || prev.st_mtim.tv_sec != st.st_mtim.tv_sec ||
            prev.st_mtim.tv_nsec != st.st_mtim.tv_nsec || (prev.st_mode & 07777) != wanted_mode(st) ||
            prev.st_uid != uid || prev.st_gid != gid)
          continue;
        if (::llistxattr(item.source.c_str(), nullptr, 0) != 0 ||
            ::llistxattr((copy_fd_path(found) + "/" + leaf).c_str(), nullptr, 0) != 0)
          continue;
        m_reusable[i] = st.st_size;
      }
      return {};
    };
    const size_t n = m_req.items.size(), half = n / 2;
    if (n < 256 || std::thread::hardware_concurrency() < 2) return check(0, n);
    Status second;
    std::thread helper([&] { second = check(half, n); });
    Status first = check(0, half);
    helper.join();
    TRY(first);
    return second;
  }

  /// Leaves a reusable file of `size` bytes for link_reused, unless something is at its
  /// target in the root (when that may differ from the previous copy's) or its directory is
  /// missing above.
  Result<bool> defer_to_previous(int pfd, const std::string& name, const std::string& parent, int64_t size,
                                 const std::array<uint8_t, 32>* digest) {
    if (!m_req.reuse->same_parent || m_shared_targets) {
      struct stat cur {};
      if (::fstatat(pfd, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return false;
    }
    const std::string* to = upper_dir(parent);
    if (!to) return false;
    if (m_stats.reused.empty() || m_stats.reused.back().to != *to)
      m_stats.reused.push_back({join_rel(m_previous_root, parent), *to, {}, {}});
    m_stats.reused.back().names.push_back(name);
    if (digest) m_stats.reused.back().digests.push_back(*digest);
    m_stats.bytes += static_cast<uint64_t>(size);
    ++m_stats.files;
    ++m_stats.files_reused;
    return true;
  }

  /// The directory `parent` (below the destination) in the upper directory; null when it is
  /// not there. The items of one directory come together, so the last one is kept.
  const std::string* upper_dir(const std::string& parent) {
    if (m_upper_parent == parent) return &m_upper_path;
    std::string path = join_rel(m_upper_root, parent);
    struct stat st {};
    // Not kept when missing: copying a file of the directory may yet create it above.
    if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return nullptr;
    m_upper_parent = parent;
    m_upper_path = std::move(path);
    return &m_upper_path;
  }

  /// Whether two items of the request have the same destination (the later one must then
  /// replace what the earlier one wrote, so targets are looked up).
  static bool targets_shared(const std::vector<CopyItem>& items) {
    std::unordered_set<std::string_view> seen;
    seen.reserve(items.size());
    for (const auto& item : items)
      if (!seen.insert(item.rel).second) return true;
    return false;
  }

  /// The destination directory's symlink-free path relative to the root; null when it
  /// cannot be told (reuse is then skipped).
  std::optional<std::string> dest_in_root() const {
    std::string real(PATH_MAX, '\0');
    ssize_t n = ::readlink(copy_fd_path(m_dest_fd.get()).c_str(), real.data(), real.size());
    std::string root = m_root.path().string();
    real.resize(n < 0 ? 0 : static_cast<size_t>(n));
    if (n > 0 && (real == root || real.starts_with(root + "/")))
      return copy_clean_path(std::string_view(real).substr(root.size()));
    return std::nullopt;
  }

  Status write_inline(int pfd, const std::string& name, const std::string& rel, const std::string& content,
                      int64_t mtime_sec) {
    std::string shown = display(rel);
    TRY(copy_clear_target(pfd, name, shown));
    UniqueFd out(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return errno_error(fmt::format("create `{}`", shown));
    if (auto st = write_all(out.get(), content); !st) return std::move(st).error().wrap("write `{}`", shown);
    timespec t{mtime_sec < 0 ? 0 : static_cast<time_t>(mtime_sec), 0};
    const timespec times[2] = {t, t};
    TRY(finish_file(out.get(), m_owner, m_req.chmod ? (*m_req.chmod & 07777) : 0644, -1, times, shown));
    m_stats.bytes += content.size();
    ++m_stats.files;
    return {};
  }

  Status copy_dir(const fs::path& src, const struct stat& st, int pfd, const std::string& name,
                  const std::string& rel) {
    std::string shown = display(rel);
    struct stat cur {};
    if (::fstatat(pfd, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) return errno_error(fmt::format("stat `{}`", shown));
      if (::mkdirat(pfd, name.c_str(), 0700) != 0)
        return errno_error(fmt::format("create directory `{}`", shown));
    } else if (!S_ISDIR(cur.st_mode)) {
      return make_error(ExitCode::bad_input, "cannot copy directory `{}` onto non-directory `{}`",
                        src.string(), shown);
    }
    UniqueFd out(::openat(pfd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!out) return errno_error(fmt::format("open directory `{}`", shown));
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!in) return errno_error(fmt::format("open `{}`", src.string()));
    mode_t mode = wanted_mode(st);
    TRY(copy_set_owner(out.get(), owner_for(st), mode, shown));
    TRY(copy_xattrs_fd(in.get(), out.get(), shown));
    m_dirs.push_back({rel, mode, {st.st_atim, st.st_mtim}});
    return {};
  }

  Status copy_symlink(const fs::path& src, const struct stat& st, int pfd, const std::string& name,
                      const std::string& rel) {
    std::string shown = display(rel);
    std::string target(PATH_MAX, '\0');
    ssize_t n = ::readlink(src.c_str(), target.data(), target.size());
    if (n < 0) return errno_error(fmt::format("read link `{}`", src.string()));
    target.resize(static_cast<size_t>(n));
    TRY(copy_clear_target(pfd, name, shown));
    if (::symlinkat(target.c_str(), pfd, name.c_str()) != 0)
      return errno_error(fmt::format("create symlink `{}`", shown));
    TRY(copy_set_link_owner(pfd, name, owner_for(st), shown));
    copy_xattrs_link(src, pfd, name);
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fmt::format("set times of `{}`", shown));
    ++m_stats.files;
    return {};
  }

  /// Fifos and devices. A device that may not be created (unprivileged) becomes an empty
  /// file with its type recorded in override_stat, as the layer applier does.
  Status copy_special(const struct stat& st, int pfd, const std::string& name, const std::string& rel) {
    std::string shown = display(rel);
    TRY(copy_clear_target(pfd, name, shown));
    mode_t mode = wanted_mode(st);
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::mknodat(pfd, name.c_str(), (st.st_mode & S_IFMT) | 0600, st.st_rdev) == 0) {
      const CopyIds owner = owner_for(st);
      auto [uid, gid] = std::pair{owner.uid, owner.gid};
      auto host_uid = m_req.ids.uids.to_host(uid), host_gid = m_req.ids.gids.to_host(gid);
      if (!host_uid || !host_gid)
        return make_error(ExitCode::bad_input, "owner {}:{} is outside the id map", uid, gid);
      (void)::fchownat(pfd, name.c_str(), *host_uid, *host_gid, AT_SYMLINK_NOFOLLOW);
      if (::fchmodat(pfd, name.c_str(), mode, 0) != 0) return errno_error(fmt::format("chmod `{}`", shown));
      if (::utimensat(pfd, name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return errno_error(fmt::format("set times of `{}`", shown));
      ++m_stats.files;
      return {};
    }
    if (errno != EPERM || S_ISFIFO(st.st_mode)) return errno_error(fmt::format("create `{}`", shown));
    UniqueFd out(::openat(pfd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!out) return errno_error(fmt::format("create `{}`", shown));
    const CopyIds owner = owner_for(st);
    layer::OverrideStat over{owner.uid,           owner.gid,         mode,
                             st.st_mode & S_IFMT, major(st.st_rdev), minor(st.st_rdev)};
    std::string value = over.format();
    if (::fsetxattr(out.get(), layer::k_override_stat_xattr.data(), value.data(), value.size(), 0) != 0)
      return errno_error(fmt::format("record device `{}` in xattr", shown));
    if (::fchmod(out.get(), mode) != 0 || ::futimens(out.get(), times) != 0)
      return errno_error(fmt::format("set metadata of `{}`", shown));
    ++m_stats.files;
    return {};
  }

  /// Modes and times of the copied directories, deepest (last listed) first, once their
  /// contents are written.
  Status finish_dirs() {
    m_parent_fd.reset();
    for (auto it = m_dirs.rbegin(); it != m_dirs.rend(); ++it) {
      auto [parent, name] = copy_split_parent(it->rel);
      std::string shown = display(it->rel);
      UniqueFd pfd = TRY(copy_open_subdir(m_dest_fd.get(), parent, m_owner, m_dest_display));
      UniqueFd fd(::openat(pfd.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!fd) return errno_error(fmt::format("open directory `{}`", shown));
      if (::fchmod(fd.get(), it->mode) != 0) return errno_error(fmt::format("chmod `{}`", shown));
      if (::futimens(fd.get(), it->times) != 0) return errno_error(fmt::format("set times of `{}`", shown));
    }
    return {};
  }

  const CopyRoot& m_root;
  const CopyRequest& m_req;
  CopyIds m_owner;
  CopyStats m_stats;
  UniqueFd m_dest_fd;
  std::string m_dest_display;
  std::string m_parent;
  UniqueFd m_parent_fd;
  std::vector<PendingDir> m_dirs;
  std::vector<int64_t> m_reusable;                       // check_reusable: sizes by item
  bool m_shared_targets = false;                         // targets_shared(items), with reuse
  std::string m_previous_root, m_upper_root;             // the destination in both, with reuse
  std::optional<std::string> m_upper_parent;             // upper_dir, the last one
  std::string m_upper_path;
  size_t m_prefetched = 0;                               // items queued for read-ahead
  layer::Prefetcher m_prefetch;                          // last: its thread stops first
};

}  // namespace

Status copy_with_metadata(const fs::path& from, const fs::path& to) {
  UniqueFd in(::open(from.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  struct stat st {};
  if (!in || ::fstat(in.get(), &st) != 0) return errno_error(fmt::format("open `{}`", from.string()));
  UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out) return errno_error(fmt::format("create `{}`", to.string()));
  TRY(copy_file_data(in.get(), out.get(), static_cast<uint64_t>(st.st_size), to.string()));
  const timespec times[2] = {st.st_atim, st.st_mtim};
  if (::fchown(out.get(), st.st_uid, st.st_gid) != 0 || ::fchmod(out.get(), st.st_mode & 07777) != 0 ||
      ::futimens(out.get(), times) != 0)
    return errno_error(fmt::format("set metadata of `{}`", to.string()));
  return {};
}

Result<CopyStats> copy_into(const fs::path& root, const CopyRequest& request) {
  auto croot = TRY(CopyRoot::open(root));
  Copier copier(croot, request);
  return copier.run();
}

namespace {

/// Links the files of `dirs`. (Two threads, on two directories at a time, were slower
/// here: the links contend in the filesystem's journal.)
Status link_dirs(const std::vector<ReusedDir>& dirs) {
  for (const ReusedDir& d : dirs) {
    // linkat between the two directories' fds: a path walk per file is most of a link's cost.
    UniqueFd from(::open(d.from.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    UniqueFd to(::open(d.to.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!from || !to) return errno_error(fmt::format("open `{}` or `{}`", d.from, d.to));
    for (const auto& name : d.names) {
      if (::linkat(from.get(), name.c_str(), to.get(), name.c_str(), 0) == 0) continue;
      int err = errno;
      if (err == EEXIST) continue;  // written after the COPY (a heredoc of the same name)
      std::string source = d.from + "/" + name, target = d.to + "/" + name;
      errno = err;
      if (err != EMLINK && err != EPERM && err != EXDEV)
        return errno_error(fmt::format("link `{}` to `{}`", source, target));
      TRY(copy_with_metadata(source, target));
    }
  }
  return {};
}

}  // namespace

Status link_reused(const std::vector<ReusedDir>& dirs) {
  // Linking changes a directory's mtime: keep what the copy set.
  std::map<std::string, struct stat> times;
  for (const auto& d : dirs) {
    if (times.count(d.to)) continue;
    struct stat st {};
    if (::lstat(d.to.c_str(), &st) != 0) return errno_error(fmt::format("stat `{}`", d.to));
    times.emplace(d.to, st);
  }
  TRY(link_dirs(dirs));
  for (const auto& [dir, st] : times) {
    const timespec ts[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, dir.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fmt::format("set times of `{}`", dir));
  }
  return {};
}

// The directory count, then per directory: from and to, the names, the digests (raw), each
// list after its length (cbuild/util/binary.hpp, u32 counts and lengths).
std::string reused_to_bytes(const std::vector<ReusedDir>& dirs) {
  std::string out;
  binary::put(out, static_cast<uint32_t>(dirs.size()));
  for (const auto& d : dirs) {
    binary::put_text(out, d.from);
    binary::put_text(out, d.to);
    binary::put(out, static_cast<uint32_t>(d.names.size()));
    for (const auto& name : d.names) binary::put_text(out, name);
    binary::put(out, static_cast<uint32_t>(d.digests.size()));
    for (const auto& digest : d.digests) out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
  }
  return out;
}

Result<std::vector<ReusedDir>> reused_from_bytes(std::string_view bytes) {
  std::vector<ReusedDir> out;
  if (bytes.empty()) return out;
  binary::Reader in(bytes, "reused files");
  const uint32_t count = TRY(in.get<uint32_t>());
  for (uint32_t k = 0; k < count; ++k) {
    ReusedDir d;
    d.from = TRY(in.text());
    d.to = TRY(in.text());
    const uint32_t names = TRY(in.get<uint32_t>());
    d.names.reserve(std::min<size_t>(names, in.left() / 4));
    for (uint32_t i = 0; i < names; ++i) d.names.emplace_back(TRY(in.text()));
    const uint32_t digests = TRY(in.get<uint32_t>());
    d.digests.reserve(std::min<size_t>(digests, in.left() / 32));
    for (uint32_t i = 0; i < digests; ++i) {
      std::string_view raw = TRY(in.bytes(32));
      std::memcpy(d.digests.emplace_back().data(), raw.data(), raw.size());
    }
    out.push_back(std::move(d));
  }
  if (!in.done()) return make_error("reused files: data after the list");
  return out;
}

Result<mode_t> parse_chmod(std::string_view text) {
  bool octal =
      !text.empty() && text.size() <= 5 && text.find_first_not_of("01234567") == std::string_view::npos;
  if (!octal)
    return make_error(ExitCode::bad_input,
                      "invalid --chmod `{}`: only octal modes are supported (for example --chmod=755)", text);
  mode_t mode = 0;
  for (char c : text) mode = mode * 8 + static_cast<mode_t>(c - '0');
  if (mode > 07777) return make_error(ExitCode::bad_input, "invalid --chmod `{}`: mode is above 7777", text);
  return mode;
}

}  // namespace cbuild::build
