#include "cbuild/build/copy.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <climits>
#include <map>
#include <unordered_set>

#include "cbuild/layer/override_stat.hpp"
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
      if (!m_req.items[j].source.empty()) paths.push_back(m_req.items[j].source.string());
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
    if (!stats) return std::move(stats).error().wrap("extract `{}`", item.source.string());
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
    struct stat st {};
    if (::lstat(item.source.c_str(), &st) != 0)
      return errno_error(fmt::format("stat `{}`", item.source.string()));
    if (rel.empty()) {
      if (S_ISDIR(st.st_mode)) return {};  // a directory source's own entry: dest itself
      return make_error(ExitCode::bad_input, "copy `{}`: no destination name", item.source.string());
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
    if (m_req.reuse && m_req.reuse->unchanged.count(rel) && TRY(defer_to_previous(src, st, pfd, name, rel)))
      return {};
    std::string shown = display(rel);
    UniqueFd in(::open(src.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
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

  /// Leaves the file for link_reused when the previous result holds it as this copy would
  /// write it (see CopyReuse); false: copy it.
  Result<bool> defer_to_previous(const fs::path& src, const struct stat& st, int pfd, const std::string& name,
                                 const std::string& rel) {
    struct stat cur {};
    if (::fstatat(pfd, name.c_str(), &cur, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT) return false;
    const std::string* dest = TRY(dest_in_root());
    if (!dest) return false;
    auto [parent, leaf] = copy_split_parent(rel);
    fs::path to_dir = m_req.reuse->upper / *dest / parent;
    if (!m_upper_dirs.count(to_dir)) {
      struct stat d {};
      if (::lstat(to_dir.c_str(), &d) != 0 || !S_ISDIR(d.st_mode)) return false;
      m_upper_dirs.insert(to_dir);
    }
    fs::path from = m_req.reuse->previous / *dest / rel;
    struct stat prev {};
    if (::lstat(from.c_str(), &prev) != 0 || !S_ISREG(prev.st_mode)) return false;
    auto [uid, gid] = TRY(copy_disk_ids(owner_for(st)));
    if (prev.st_size != st.st_size || prev.st_mtim.tv_sec != st.st_mtim.tv_sec ||
        prev.st_mtim.tv_nsec != st.st_mtim.tv_nsec || (prev.st_mode & 07777) != wanted_mode(st) ||
        prev.st_uid != uid || prev.st_gid != gid)
      return false;
    if (::llistxattr(src.c_str(), nullptr, 0) != 0 || ::llistxattr(from.c_str(), nullptr, 0) != 0) return false;
    m_stats.reused.push_back({std::move(from), to_dir / leaf});
    m_stats.bytes += static_cast<uint64_t>(st.st_size);
    ++m_stats.files;
    return true;
  }

  /// The destination directory's symlink-free path relative to the root; null when it
  /// cannot be told (reuse is then skipped).
  Result<const std::string*> dest_in_root() {
    if (!m_dest_rel) {
      std::string real(PATH_MAX, '\0');
      ssize_t n = ::readlink(copy_fd_path(m_dest_fd.get()).c_str(), real.data(), real.size());
      std::string root = m_root.path().string();
      real.resize(n < 0 ? 0 : static_cast<size_t>(n));
      if (n > 0 && (real == root || real.starts_with(root + "/")))
        m_dest_rel = copy_clean_path(std::string_view(real).substr(root.size()));
      else
        m_dest_rel = std::optional<std::string>();
    }
    return *m_dest_rel ? &**m_dest_rel : nullptr;
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
  std::optional<std::optional<std::string>> m_dest_rel;  // dest_in_root, once known
  std::unordered_set<std::string> m_upper_dirs;          // upper directories seen to exist
  size_t m_prefetched = 0;                               // items queued for read-ahead
  layer::Prefetcher m_prefetch;                          // last: its thread stops first
};

/// A regular file copied with its owner, mode and times (where a hard link is refused).
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

}  // namespace

Result<CopyStats> copy_into(const fs::path& root, const CopyRequest& request) {
  auto croot = TRY(CopyRoot::open(root));
  Copier copier(croot, request);
  return copier.run();
}

Status link_reused(const std::vector<ReusedFile>& files) {
  // Linking changes a directory's mtime: keep what the copy set.
  std::map<fs::path, struct stat> dirs;
  for (const auto& f : files) {
    fs::path dir = f.to.parent_path();
    if (dirs.count(dir)) continue;
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) return errno_error(fmt::format("stat `{}`", dir.string()));
    dirs.emplace(std::move(dir), st);
  }
  // linkat between the two directories' fds: a path walk per file is most of a link's cost.
  fs::path from_parent, to_parent;
  UniqueFd from_dir, to_dir;
  for (const auto& f : files) {
    if (f.from.parent_path() != from_parent || f.to.parent_path() != to_parent) {
      from_parent = f.from.parent_path();
      to_parent = f.to.parent_path();
      from_dir.reset(::open(from_parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      to_dir.reset(::open(to_parent.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!from_dir || !to_dir) return errno_error(fmt::format("open `{}` or `{}`", from_parent.string(), to_parent.string()));
    }
    if (::linkat(from_dir.get(), f.from.filename().c_str(), to_dir.get(), f.to.filename().c_str(), 0) == 0) continue;
    if (errno == EEXIST) continue;  // written after the COPY (a heredoc of the same name)
    if (errno != EMLINK && errno != EPERM && errno != EXDEV)
      return errno_error(fmt::format("link `{}` to `{}`", f.from.string(), f.to.string()));
    TRY(copy_with_metadata(f.from, f.to));
  }
  for (const auto& [dir, st] : dirs) {
    const timespec times[2] = {st.st_atim, st.st_mtim};
    if (::utimensat(AT_FDCWD, dir.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
      return errno_error(fmt::format("set times of `{}`", dir.string()));
  }
  return {};
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
