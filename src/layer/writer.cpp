#include "cbuild/layer/writer.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "c_locale.hpp"
#include "content_hasher.hpp"
#include "cbuild/layer/override_stat.hpp"
#include "cbuild/layer/prefetch.hpp"
#include "cbuild/layer/whiteout.hpp"
#include "cbuild/util/binary.hpp"
#include "safe_path.hpp"
#include "tar_output.hpp"

namespace cbuild::layer {

namespace {

constexpr size_t k_read_buffer_size = 1 << 20;

/// Xattrs that describe the host, not the image: never written into a layer.
bool is_host_xattr(std::string_view name) {
  return is_overlay_xattr(name) || name == k_override_stat_xattr || name == "security.selinux";
}

/// What a file's xattrs say, split into layer content and cbuild/overlay metadata.
struct Xattrs {
  std::vector<std::pair<std::string, std::string>> kept;  ///< sorted by name
  std::optional<OverrideStat> override_stat;
  bool opaque = false;    ///< `*.overlay.opaque` = "y"
  bool whiteout = false;  ///< `*.overlay.whiteout` present
};

struct InodeHash {
  size_t operator()(const std::pair<dev_t, ino_t>& id) const noexcept {
    return std::hash<uint64_t>()(static_cast<uint64_t>(id.second) * 0x9e3779b97f4a7c15ull ^ static_cast<uint64_t>(id.first));
  }
};

/// One entry of a directory, as it will appear in the tar.
struct Child {
  std::string name;       ///< name in the tar (basename)
  std::string disk_name;  ///< name on disk; empty for a synthesized opaque marker
  struct stat st {};
  bool whiteout = false;
  int from_fd = -1;  ///< a pending file's directory (PendingFiles), else -1: the tree's
  /// A pending file: `st` says only "regular file" until emit() stats it once open (no
  /// lookup by name, as the file is opened anyway).
  bool stat_later = false;
  const std::array<uint8_t, 32>* known = nullptr;  ///< a pending file's data digest, when given
  std::optional<std::pair<size_t, size_t>> ahead;  ///< batch and index in the Prefetcher
};

class TreeWriter {
 public:
  /// `content`, when given, receives each entry's fields and each file's data (or its
  /// known digest): the layer's content digest (read once, hashed twice).
  TreeWriter(const fs::path& root, const WriteOptions& options, TarOutput& out, ContentHasher* content = nullptr)
      : m_root(root), m_options(options), m_out(out), m_content(content) {
    for (const auto& e : options.exclude) {
      std::string p = e;
      while (p.starts_with("./")) p.erase(0, 2);
      while (p.starts_with("/")) p.erase(0, 1);
      while (p.ends_with("/")) p.pop_back();
      if (!p.empty()) m_exclude.insert(p);
    }
  }
  ~TreeWriter() { archive_entry_free(m_entry); }

  Result<uint64_t> run() {
    UniqueFd root(::open(m_root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!root) return errno_error(fmt::format("open `{}`", m_root.string()));
    struct stat st {};
    if (fstat(root.get(), &st) != 0) return errno_error(fmt::format("stat `{}`", m_root.string()));
    Xattrs x = TRY(read_xattrs(root.get(), ""));
    pending_mtime("", st);
    TRY(walk(root.get(), "", clamp(st.st_mtim.tv_sec), x.opaque));
    return m_entries;
  }

 private:
  int64_t clamp(int64_t mtime) const {
    return m_options.clamp_mtime && mtime > *m_options.clamp_mtime ? *m_options.clamp_mtime : mtime;
  }
  bool overlay() const { return m_options.kind == TreeKind::overlay_upper; }
  std::string full(const std::string& rel) const { return (m_root / rel).string(); }

  Error io_error(std::string_view verb, const std::string& rel) const {
    return errno_error(fmt::format("{} `{}`", verb, full(rel)));
  }

  /// Reads the xattrs of `fd` (when >= 0) or of the path `rel` (not following symlinks).
  Result<Xattrs> read_xattrs(int fd, const std::string& rel) {
    Xattrs out;
    std::string path = fd >= 0 ? std::string() : full(rel);
    char list_buf[4096];
    std::vector<char> big;
    char* list = list_buf;
    ssize_t len = fd >= 0 ? flistxattr(fd, list_buf, sizeof list_buf)
                          : llistxattr(path.c_str(), list_buf, sizeof list_buf);
    if (len < 0 && errno == ERANGE) {
      ssize_t need = fd >= 0 ? flistxattr(fd, nullptr, 0) : llistxattr(path.c_str(), nullptr, 0);
      if (need < 0) return io_error("list xattrs of", rel);
      big.resize(static_cast<size_t>(need));
      list = big.data();
      len = fd >= 0 ? flistxattr(fd, list, big.size()) : llistxattr(path.c_str(), list, big.size());
    }
    if (len < 0) {
      if (errno == ENOTSUP) return out;
      return io_error("list xattrs of", rel);
    }
    for (ssize_t i = 0; i < len;) {
      std::string name(list + i);
      i += static_cast<ssize_t>(name.size()) + 1;
      std::string value = TRY(read_xattr(fd, path, name, rel));
      if (name.ends_with(".overlay.opaque") && is_overlay_xattr(name)) {
        out.opaque = value == "y";
      } else if (name.ends_with(".overlay.whiteout") && is_overlay_xattr(name)) {
        out.whiteout = true;
      } else if (name == k_override_stat_xattr) {
        auto parsed = OverrideStat::parse(value);
        if (!parsed) return std::move(parsed).error().wrap("write layer entry `{}`", full(rel));
        out.override_stat = parsed.value();
      } else if (!is_host_xattr(name)) {
        out.kept.emplace_back(std::move(name), std::move(value));
      }
    }
    std::sort(out.kept.begin(), out.kept.end());
    return out;
  }

  Result<std::string> read_xattr(int fd, const std::string& path, const std::string& name,
                                 const std::string& rel) {
    std::string value(256, '\0');
    for (;;) {
      ssize_t n = fd >= 0 ? fgetxattr(fd, name.c_str(), value.data(), value.size())
                          : lgetxattr(path.c_str(), name.c_str(), value.data(), value.size());
      if (n >= 0) {
        value.resize(static_cast<size_t>(n));
        return value;
      }
      if (errno != ERANGE) return io_error(fmt::format("read xattr {} of", name), rel);
      ssize_t need = fd >= 0 ? fgetxattr(fd, name.c_str(), nullptr, 0)
                             : lgetxattr(path.c_str(), name.c_str(), nullptr, 0);
      if (need < 0) return io_error(fmt::format("read xattr {} of", name), rel);
      value.resize(static_cast<size_t>(need) + 1);
    }
  }

  /// Whether an entry of an overlay upperdir is a whiteout: a 0/0 character device, or
  /// (kernel >= 6.7) an empty regular file carrying `*.overlay.whiteout`.
  bool overlay_whiteout(int dirfd, const std::string& name, const struct stat& st) const {
    if (S_ISCHR(st.st_mode)) return st.st_rdev == makedev(0, 0);
    if (!S_ISREG(st.st_mode) || st.st_size != 0) return false;
    std::string path = fmt::format("/proc/self/fd/{}/{}", dirfd, name);
    for (const char* x : {"trusted.overlay.whiteout", "user.overlay.whiteout"})
      if (lgetxattr(path.c_str(), x, nullptr, 0) >= 0) return true;
    return false;
  }

  /// The mtime a directory had before pending files were linked into it (`key` as in
  /// PendingFiles), put in `st`.
  void pending_mtime(const std::string& key, struct stat& st) const {
    if (!m_options.pending) return;
    auto it = m_options.pending->dirs.find(key);
    if (it != m_options.pending->dirs.end()) st.st_mtim = it->second.mtime;
  }

  /// The directory's entries, with its pending files (read through `from`, opened here).
  Result<std::vector<Child>> children(int dirfd, const std::string& prefix, bool opaque, UniqueFd& from) {
    const PendingFiles::Dir* pending = nullptr;
    if (m_options.pending) {
      auto it = m_options.pending->dirs.find(prefix);
      if (it != m_options.pending->dirs.end()) pending = &it->second;
    }
    std::unordered_set<std::string_view> pending_names;
    if (pending) {
      from.reset(::open(pending->from.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!from) return errno_error(fmt::format("open `{}`", pending->from));
      pending_names.insert(pending->names.begin(), pending->names.end());
    }
    std::vector<Child> out;
    auto add = [&](int fd, std::string name, const std::array<uint8_t, 32>* known) -> Status {
      if (m_exclude.count(prefix + name)) return {};
      Child c;
      if (fd != dirfd) {
        c.st.st_mode = S_IFREG;
        c.stat_later = true;
        c.from_fd = fd;
        c.known = known;
      } else {
        if (fstatat(fd, name.c_str(), &c.st, AT_SYMLINK_NOFOLLOW) != 0) return io_error("stat", prefix + name);
        if (S_ISSOCK(c.st.st_mode)) return {};
      }
      if (S_ISDIR(c.st.st_mode)) pending_mtime(prefix + name + "/", c.st);
      if (overlay() && !c.stat_later && overlay_whiteout(fd, name, c.st)) {
        c.whiteout = true;
        c.name = std::string(k_whiteout_prefix) + name;
      } else {
        c.whiteout = name.starts_with(k_whiteout_prefix);
        c.name = name;
      }
      c.disk_name = std::move(name);
      out.push_back(std::move(c));
      return {};
    };
    // A pending file already linked is listed once, from where it is linked from.
    for (auto& name : TRY(list_names(dirfd, full(prefix))))
      if (!pending_names.count(name)) TRY(add(dirfd, std::move(name), nullptr));
    if (pending)
      for (size_t i = 0; i < pending->names.size(); ++i)
        TRY(add(from.get(), pending->names[i], pending->digests.empty() ? nullptr : &pending->digests[i]));
    if (opaque) {
      Child c;
      c.name = std::string(k_opaque_whiteout);
      c.whiteout = true;
      out.push_back(std::move(c));
    }
    std::sort(out.begin(), out.end(), [](const Child& a, const Child& b) { return a.name < b.name; });
    for (size_t i = 1; i < out.size(); ++i)
      if (out[i].name == out[i - 1].name)
        return make_error("write layer: `{}` is both a whiteout and a file", full(prefix + out[i].name));
    return out;
  }

  Status walk(int dirfd, const std::string& prefix, int64_t dir_mtime, bool opaque) {
    UniqueFd from;
    auto kids = TRY(children(dirfd, prefix, opaque, from));
    // A directory of many files is opened ahead even while warm (see Prefetcher); a
    // smaller one only once reads wait for the disk.
    bool prefetching = false;
    for (size_t i = 0; i < kids.size(); ++i) {
      if (!prefetching && (m_prefetch.cold() || (i == 0 && many_files(kids)))) {
        prefetch(dirfd, -1, kids, i);
        if (from) prefetch(from.get(), from.get(), kids, i);
        prefetching = true;
      }
      const Child& c = kids[i];
      std::string rel = prefix + c.name;
      if (c.whiteout) {
        TRY(emit_whiteout(rel, dir_mtime));
      } else {
        TRY(emit(dirfd, rel, c));
      }
    }
    return {};
  }

  /// Whether emit() reads the child's data (a pending file's size is not known yet).
  static bool to_read(const Child& c) {
    return !c.whiteout && S_ISREG(c.st.st_mode) && (c.st.st_size > 0 || c.stat_later);
  }

  /// Whether a directory has enough regular files to open them on the read-ahead thread.
  static bool many_files(const std::vector<Child>& kids) {
    constexpr size_t k_many = 32;
    size_t files = 0;
    for (const Child& c : kids)
      if (to_read(c) && ++files >= k_many) return true;
    return false;
  }

  /// Once reads wait for the disk: read-ahead of the directory's files from `from` on that
  /// are in `dirfd`: those whose Child::from_fd is `from_fd` (-1: the tree's directory, else
  /// a pending files' one). emit() takes them open.
  void prefetch(int dirfd, int from_fd, std::vector<Child>& kids, size_t from) {
    std::vector<std::string> names;
    std::vector<Child*> ahead;
    for (size_t i = from; i < kids.size(); ++i)
      if (to_read(kids[i]) && kids[i].from_fd == from_fd) {
        names.push_back(kids[i].disk_name);
        ahead.push_back(&kids[i]);
      }
    size_t batch = m_prefetch.add(dirfd, std::move(names), true);
    for (size_t k = 0; k < ahead.size(); ++k) ahead[k]->ahead = {batch, k};
  }

  void reset_entry(const std::string& path) {
    if (!m_entry) m_entry = archive_entry_new();
    archive_entry_clear(m_entry);
    archive_entry_copy_pathname(m_entry, path.c_str());
  }

  /// A failure of the tar outputs, named after the entry (formatted only then).
  Status named(Status s, const std::string& rel) const {
    if (!s) return std::move(s).error().wrap("write layer entry `{}`", full(rel));
    return s;
  }

  Status write_header(const std::string& rel) {
    ++m_entries;
    TRY(named(m_out.write_header(m_entry), rel));
    if (m_content) m_content->entry(content_fields());
    return {};
  }

  /// The entry's fields for the content digest: all the tar header holds but the mtime.
  std::string_view content_fields() {
    std::string& out = m_fields;
    out.clear();
    auto text = [&](const char* s) { binary::put_text(out, s ? s : ""); };
    auto number = [&](auto v) { binary::put(out, static_cast<uint64_t>(v)); };
    text(archive_entry_pathname(m_entry));
    number(archive_entry_filetype(m_entry));
    number(archive_entry_perm(m_entry));
    number(archive_entry_uid(m_entry));
    number(archive_entry_gid(m_entry));
    number(archive_entry_size(m_entry));
    text(archive_entry_symlink(m_entry));
    text(archive_entry_hardlink(m_entry));
    number(archive_entry_rdevmajor(m_entry));
    number(archive_entry_rdevminor(m_entry));
    number(archive_entry_xattr_reset(m_entry));
    const char* name = nullptr;
    const void* value = nullptr;
    size_t size = 0;
    while (archive_entry_xattr_next(m_entry, &name, &value, &size) == ARCHIVE_OK) {
      text(name);
      binary::put_text(out, std::string_view(static_cast<const char*>(value), size));
    }
    return out;
  }

  Status emit_whiteout(const std::string& rel, int64_t dir_mtime) {
    reset_entry(rel);
    archive_entry_set_filetype(m_entry, AE_IFREG);
    archive_entry_set_perm(m_entry, 0600);
    archive_entry_set_uid(m_entry, 0);
    archive_entry_set_gid(m_entry, 0);
    archive_entry_set_size(m_entry, 0);
    archive_entry_set_mtime(m_entry, dir_mtime, 0);
    TRY(write_header(rel));
    if (m_content) m_content->end_data();  // a regular file: its (empty) data's digest
    return {};
  }

  /// Owner, permissions and type as the layer records them.
  void set_metadata(const struct stat& st, const Xattrs& x, mode_t type) {
    uint32_t uid, gid;
    mode_t perm;
    if (x.override_stat) {
      uid = x.override_stat->uid;
      gid = x.override_stat->gid;
      perm = x.override_stat->mode;
    } else {
      uid = m_options.ids.uids.to_container(st.st_uid).value_or(k_overflow_id);
      gid = m_options.ids.gids.to_container(st.st_gid).value_or(k_overflow_id);
      perm = st.st_mode & 07777;
    }
    archive_entry_set_filetype(m_entry, type);
    archive_entry_set_perm(m_entry, perm);
    archive_entry_set_uid(m_entry, uid);
    archive_entry_set_gid(m_entry, gid);
    archive_entry_set_mtime(m_entry, clamp(st.st_mtim.tv_sec), 0);
    for (const auto& [name, value] : x.kept)
      archive_entry_xattr_add_entry(m_entry, name.c_str(), value.data(), value.size());
  }

  /// The type to write: the on-disk type, unless override_stat turns an empty regular
  /// file (how an unprivileged applier stores a device or fifo) back into one.
  static mode_t entry_type(const struct stat& st, const Xattrs& x) {
    mode_t disk = st.st_mode & S_IFMT;
    if (disk == S_IFREG && x.override_stat && x.override_stat->type) {
      mode_t t = *x.override_stat->type;
      if (t == S_IFCHR || t == S_IFBLK || t == S_IFIFO || t == S_IFSOCK) return t;
    }
    return disk;
  }

  Status emit(int dirfd, const std::string& rel, const Child& c) {
    if (c.from_fd >= 0) dirfd = c.from_fd;
    struct stat st = c.st;
    if (S_ISDIR(st.st_mode)) return emit_dir(dirfd, rel, c);
    UniqueFd fd;
    int listed = -1;  // whether the file has xattrs, as the read-ahead thread found (Prefetcher::take)
    if (S_ISREG(st.st_mode)) {
      if (c.ahead) fd.reset(m_prefetch.take(c.ahead->first, c.ahead->second, &listed));
      if (!fd) fd.reset(Prefetcher::open_file(dirfd, c.disk_name.c_str()));
      if (!fd) return io_error("open", rel);
      if (c.stat_later) {
        if (fstat(fd.get(), &st) != 0) return io_error("stat", rel);
        if (!S_ISREG(st.st_mode)) return make_error("write layer: pending file `{}` is not a regular file", full(rel));
      }
    }
    Xattrs x = listed == 0 ? Xattrs() : TRY(read_xattrs(fd ? fd.get() : -1, rel));
    mode_t type = entry_type(st, x);
    if (type == S_IFSOCK) return {};
    reset_entry(rel);
    set_metadata(st, x, type);
    if (st.st_nlink > 1) {
      auto [it, first] = m_inodes.try_emplace({st.st_dev, st.st_ino}, rel);
      if (!first) {
        archive_entry_copy_hardlink(m_entry, it->second.c_str());
        archive_entry_set_size(m_entry, 0);
        return write_header(rel);
      }
    }
    if (type == S_IFLNK) return emit_symlink(dirfd, rel, c);
    if (type == S_IFCHR || type == S_IFBLK) {
      bool from_override = (st.st_mode & S_IFMT) != type;
      archive_entry_set_rdevmajor(m_entry, from_override ? x.override_stat->rdev_major : major(st.st_rdev));
      archive_entry_set_rdevminor(m_entry, from_override ? x.override_stat->rdev_minor : minor(st.st_rdev));
    }
    if (type != S_IFREG) return write_header(rel);
    archive_entry_set_size(m_entry, st.st_size);
    TRY(write_header(rel));
    return copy_content(fd.get(), rel, static_cast<uint64_t>(st.st_size), c.known);
  }

  Status emit_symlink(int dirfd, const std::string& rel, const Child& c) {
    std::string target(static_cast<size_t>(c.st.st_size) + 1, '\0');
    ssize_t n = readlinkat(dirfd, c.disk_name.c_str(), target.data(), target.size());
    if (n < 0) return io_error("read symlink", rel);
    if (static_cast<size_t>(n) >= target.size())
      return make_error("write layer: symlink `{}` changed while being read", full(rel));
    target.resize(static_cast<size_t>(n));
    archive_entry_copy_symlink(m_entry, target.c_str());
    return write_header(rel);
  }

  Status emit_dir(int dirfd, const std::string& rel, const Child& c) {
    UniqueFd fd(::openat(dirfd, c.disk_name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd) return io_error("open directory", rel);
    Xattrs x = TRY(read_xattrs(fd.get(), rel));
    reset_entry(rel + "/");
    set_metadata(c.st, x, S_IFDIR);
    TRY(write_header(rel));
    return walk(fd.get(), rel + "/", clamp(c.st.st_mtim.tv_sec), overlay() && x.opaque);
  }

  /// The file's data into the tar and, unless its digest is `known`, the content digest.
  Status copy_content(int fd, const std::string& rel, uint64_t size, const std::array<uint8_t, 32>* known) {
    uint64_t left = size;
    ContentHasher* content = known ? nullptr : m_content;
    while (left > 0) {
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, k_read_buffer_size));
      auto [buffer, room] = m_out.data_buffer(std::min<size_t>(want, 256 << 10));
      want = std::min(want, room);
      ssize_t n = m_prefetch.read_maybe_cold(fd, buffer, want);
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("read", rel);
      }
      if (n == 0) return make_error("write layer: `{}` shrank while being read", full(rel));
      // The copy first: once m_out has the buffer, its hashing thread owns it.
      if (content) content->data(buffer, static_cast<size_t>(n));
      TRY(named(m_out.write_data(buffer, static_cast<size_t>(n)), rel));
      left -= static_cast<uint64_t>(n);
    }
    if (known && m_content) m_content->known(*known);
    if (content) content->end_data();
    return {};
  }

  fs::path m_root;
  const WriteOptions& m_options;
  TarOutput& m_out;
  ContentHasher* m_content;
  std::string m_fields;  // content_fields(), reused
  std::set<std::string> m_exclude;
  /// Files with more than one link, by inode: the first name each was written under. (A
  /// reused file is linked to an earlier snapshot too, so every one of a COPY re-run's.)
  std::unordered_map<std::pair<dev_t, ino_t>, std::string, InodeHash> m_inodes;
  archive_entry* m_entry = nullptr;
  uint64_t m_entries = 0;
  Prefetcher m_prefetch;  // last: its thread stops before the rest goes
};

Result<LayerDigests> write_tree(const fs::path& root, const WriteOptions& options, Compressor* compressor) {
  ScopedCLocale c_locale;
  auto out = TRY(TarOutput::open(compressor));
  TreeWriter writer(root, options, *out);
  LayerDigests result;
  result.entries = TRY(writer.run());
  result.diff_id = TRY(out->close());
  result.tar_size = out->size();
  return result;
}

}  // namespace

Result<PendingFiles> PendingFiles::of(const fs::path& root, const std::vector<LinkedDir>& links) {
  PendingFiles out;
  std::map<std::string, std::unordered_set<std::string>> present;  // by key: names in `to` now
  const std::string base = root.string();
  for (const auto& link : links) {
    if (link.names.empty()) continue;
    std::string key;
    if (link.to != base) {
      if (!link.to.starts_with(base + "/"))
        return make_error("files to link into `{}` lie outside the tree `{}`", link.to, base);
      key = link.to.substr(base.size() + 1) + "/";
    }
    auto [dir, first] = out.dirs.try_emplace(key);
    if (first) {
      dir->second.from = link.from;
      struct stat st {};
      if (::lstat(link.to.c_str(), &st) != 0) return errno_error(fmt::format("stat `{}`", link.to));
      dir->second.mtime = st.st_mtim;
      UniqueFd to(::open(link.to.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      if (!to) return errno_error(fmt::format("open `{}`", link.to));
      for (auto& name : TRY(list_names(to.get(), link.to))) present[key].insert(std::move(name));
    } else if (dir->second.from != link.from) {
      return make_error("files linked into `{}` from both `{}` and `{}`", link.to, dir->second.from, link.from);
    }
    // A name already there (written after the copy) stays: linking it will fail, as it exists.
    const bool digests = link.digests.size() == link.names.size();
    for (size_t i = 0; i < link.names.size(); ++i) {
      if (present[key].count(link.names[i])) continue;
      dir->second.names.push_back(link.names[i]);
      if (digests) dir->second.digests.push_back(link.digests[i]);
    }
  }
  for (auto& [key, dir] : out.dirs)  // digests for some names only: none (their data is hashed)
    if (dir.digests.size() != dir.names.size()) dir.digests.clear();
  std::erase_if(out.dirs, [](const auto& entry) { return entry.second.names.empty(); });
  return out;
}

namespace {

/// Whether the directory `fd` carries `*.overlay.opaque` = "y".
bool opaque_dir(int fd) {
  for (const char* name : {"user.overlay.opaque", "trusted.overlay.opaque"}) {
    char value[2] = {};
    if (fgetxattr(fd, name, value, sizeof value) == 1 && value[0] == 'y') return true;
  }
  return false;
}

/// PendingFiles::derived below the directory `key` ("" or "a/b/"), open in both trees.
/// Returns false when the stack shows more than `own` and the pending files.
Result<bool> derive_dir(int own_fd, int base_fd, const std::string& key, const std::string& base,
                        PendingFiles& out) {
  if (opaque_dir(own_fd) || opaque_dir(base_fd)) return false;
  auto type_of = [](int dirfd, std::string_view name, unsigned char type) -> unsigned char {
    if (type != DT_UNKNOWN) return type;
    struct stat st {};
    if (fstatat(dirfd, std::string(name).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return DT_UNKNOWN;
    return S_ISDIR(st.st_mode) ? DT_DIR : S_ISREG(st.st_mode) ? DT_REG : DT_UNKNOWN;
  };
  std::unordered_map<std::string, unsigned char> own;
  TRY(for_each_entry(own_fd, key, [&](std::string_view name, unsigned char type) {
    own.emplace(name, type_of(own_fd, name, type));
  }));
  std::vector<std::string> dirs, files;
  bool stacks = true;
  TRY(for_each_entry(base_fd, base + "/" + key, [&](std::string_view name, unsigned char type) {
    type = type_of(base_fd, name, type);
    auto it = own.find(std::string(name));
    if (type == DT_DIR) {
      if (it == own.end() || it->second != DT_DIR) stacks = false;
      dirs.emplace_back(name);
    } else if (it == own.end()) {
      if (type != DT_REG) stacks = false;
      files.emplace_back(name);
    }
  }));
  if (!stacks) return false;
  if (!files.empty()) {
    struct stat st {};
    if (fstat(own_fd, &st) != 0) return errno_error(fmt::format("stat directory `{}`", key));
    PendingFiles::Dir& dir = out.dirs[key];
    dir.from = key.empty() ? base : base + "/" + key.substr(0, key.size() - 1);
    dir.names = std::move(files);
    dir.mtime = st.st_mtim;
  }
  for (const auto& name : dirs) {
    UniqueFd own_sub(::openat(own_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    UniqueFd base_sub(::openat(base_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!own_sub || !base_sub) return errno_error(fmt::format("open directory `{}{}`", key, name));
    if (!TRY(derive_dir(own_sub.get(), base_sub.get(), key + name + "/", base, out))) return false;
  }
  return true;
}

}  // namespace

Result<std::optional<PendingFiles>> PendingFiles::derived(const fs::path& own, const fs::path& base) {
  UniqueFd own_fd(::open(own.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!own_fd) return errno_error(fmt::format("open `{}`", own.string()));
  UniqueFd base_fd(::open(base.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!base_fd) return errno_error(fmt::format("open `{}`", base.string()));
  PendingFiles out;
  if (!TRY(derive_dir(own_fd.get(), base_fd.get(), "", base.string(), out))) return std::optional<PendingFiles>();
  return std::optional<PendingFiles>(std::move(out));
}

bool PendingFiles::same_names(const PendingFiles& other) const {
  if (dirs.size() != other.dirs.size()) return false;
  for (const auto& [key, dir] : dirs) {
    auto it = other.dirs.find(key);
    if (it == other.dirs.end() || it->second.names.size() != dir.names.size()) return false;
    std::unordered_set<std::string_view> names(dir.names.begin(), dir.names.end());
    for (const auto& name : it->second.names)
      if (!names.count(name)) return false;
  }
  return true;
}

Result<LayerDigests> write_layer(const fs::path& root, const WriteOptions& options, ByteSink& sink) {
  auto compressor = TRY(Compressor::create(options.compression, sink));
  LayerDigests result = TRY(write_tree(root, options, compressor.get()));
  CompressedBlob blob = TRY(compressor->finish());
  result.compression = options.compression.compression;
  result.blob_digest = blob.digest;
  result.blob_size = blob.size;
  return result;
}

Result<LayerDigests> layer_diff_id(const fs::path& root, const WriteOptions& options) {
  return write_tree(root, options, nullptr);
}

Result<LayerIdentity> layer_identity(const fs::path& root, const WriteOptions& options) {
  ScopedCLocale c_locale;
  auto out = TRY(TarOutput::open(nullptr));
  ContentHasher content;
  TreeWriter writer(root, options, *out, &content);
  LayerIdentity result;
  result.layer.entries = TRY(writer.run());
  result.layer.diff_id = TRY(out->close());
  result.layer.tar_size = out->size();
  result.content = content.finish();
  return result;
}

}  // namespace cbuild::layer
