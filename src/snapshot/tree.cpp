#include "cbuild/snapshot/tree.hpp"

#include "cbuild/util/fd.hpp"
#include "cbuild/util/fs.hpp"
#include "tree_util.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <unordered_map>
#include <unordered_set>

namespace cbuild::snapshot {
namespace {

using InodeKey = std::pair<dev_t, ino_t>;

Status remove_path(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return {};
  if (S_ISDIR(st.st_mode)) return remove_tree(path);
  if (::unlink(path.c_str()) != 0) return errno_error(fmt::format("remove `{}`", path));
  return {};
}

struct Merger {
  bool hardlink;
  std::map<InodeKey, std::string> links;  // multiply-linked sources already placed

  Status merge_dir(const std::string& src, const std::string& dst) {
    for (const std::string& name : TRY(list_dir(src))) {
      std::string s = src + "/" + name, d = dst + "/" + name;
      struct stat st {}, dt {};
      if (::lstat(s.c_str(), &st) != 0) return errno_error(fmt::format("stat `{}`", s));
      bool exists = ::lstat(d.c_str(), &dt) == 0;
      if (is_whiteout(st)) {
        TRY(remove_path(d));
      } else if (S_ISDIR(st.st_mode)) {
        if (exists && (!S_ISDIR(dt.st_mode) || is_opaque(s))) {
          TRY(remove_path(d));
          exists = false;
        }
        if (!exists && ::mkdir(d.c_str(), 0700) != 0) return errno_error(fmt::format("mkdir `{}`", d));
        TRY(merge_dir(s, d));
        TRY(copy_metadata(s, d, st));
      } else {
        if (exists) TRY(remove_path(d));
        TRY(place(s, d, st));
      }
    }
    return {};
  }

  Status place(const std::string& s, const std::string& d, const struct stat& st) {
    InodeKey key{st.st_dev, st.st_ino};
    auto it = st.st_nlink > 1 ? links.find(key) : links.end();
    if (it != links.end() || hardlink) {
      const std::string& from = it != links.end() ? it->second : s;
      if (::link(from.c_str(), d.c_str()) != 0) return errno_error(fmt::format("link `{}`", d));
    } else {
      TRY(copy_node(s, d, st));
    }
    if (st.st_nlink > 1 && it == links.end()) links[key] = d;
    return {};
  }
};

// One recorded entry of the "before" tree.
// Identity is inode + birth time (inode numbers are reused at once on ext4).
struct Meta {
  unsigned long long ino = 0;
  unsigned mode = 0, uid = 0, gid = 0;
  long long size = 0, mtime_s = 0, mtime_ns = 0, ctime_s = 0, ctime_ns = 0;
  long long btime_s = 0, btime_ns = 0, nlink = 0;
};

Result<Meta> meta_at(const std::string& path) {
  struct statx sx {};
  if (::statx(AT_FDCWD, path.c_str(), AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0)
    return errno_error(fmt::format("stat `{}`", path));
  Meta m{sx.stx_ino, sx.stx_mode, sx.stx_uid, sx.stx_gid, static_cast<long long>(sx.stx_size),
         sx.stx_mtime.tv_sec, sx.stx_mtime.tv_nsec, sx.stx_ctime.tv_sec, sx.stx_ctime.tv_nsec,
         0, 0, sx.stx_nlink};
  if (sx.stx_mask & STATX_BTIME) {
    m.btime_s = sx.stx_btime.tv_sec;
    m.btime_ns = sx.stx_btime.tv_nsec;
  }
  return m;
}

Status record_dir(const std::string& root, const std::string& rel, std::string& out) {
  for (const std::string& name : TRY(list_dir(rel.empty() ? root : root + "/" + rel))) {
    std::string r = join(rel, name);
    Meta m = TRY(meta_at(root + "/" + r));
    out += fmt::format("{} {} {} {} {} {} {} {} {} {} {} {}\t{}", m.ino, m.mode, m.uid, m.gid, m.size,
                       m.mtime_s, m.mtime_ns, m.ctime_s, m.ctime_ns, m.btime_s, m.btime_ns, m.nlink, r);
    out.push_back('\0');
    if (S_ISDIR(m.mode)) TRY(record_dir(root, r, out));
  }
  return {};
}

struct Differ {
  std::string root, out;
  const std::set<std::string>& metadata_only;
  std::unordered_map<std::string, Meta> before;
  std::unordered_map<std::string, std::vector<std::string>> children;  // dir → names before

  Status load(const std::string& text) {
    size_t pos = 0;
    while (pos < text.size()) {
      size_t end = text.find('\0', pos);
      if (end == std::string::npos) end = text.size();
      std::string_view rec(text.data() + pos, end - pos);
      size_t tab = rec.find('\t');
      if (tab == std::string_view::npos) return make_error("corrupt tree state record");
      Meta m;
      std::string fields(rec.substr(0, tab));
      if (std::sscanf(fields.c_str(), "%llu %u %u %u %lld %lld %lld %lld %lld %lld %lld %lld", &m.ino,
                      &m.mode, &m.uid, &m.gid, &m.size, &m.mtime_s, &m.mtime_ns, &m.ctime_s,
                      &m.ctime_ns, &m.btime_s, &m.btime_ns, &m.nlink) != 12)
        return make_error("corrupt tree state record");
      std::string path(rec.substr(tab + 1));
      size_t slash = path.rfind('/');
      children[slash == std::string::npos ? "" : path.substr(0, slash)].push_back(
          slash == std::string::npos ? path : path.substr(slash + 1));
      before.emplace(std::move(path), m);
      pos = end + 1;
    }
    return {};
  }

  bool changed(const std::string& rel, const Meta& was, const Meta& now) const {
    bool meta = was.mode != now.mode || was.uid != now.uid || was.gid != now.gid ||
                was.mtime_s != now.mtime_s || was.mtime_ns != now.mtime_ns ||
                (!S_ISDIR(now.mode) && was.size != now.size);
    if (metadata_only.count(rel)) return meta;
    // ctime stands for what makes overlayfs copy up (chown, xattrs, new hardlinks) — except a
    // link count that went down: removing another name does not copy the file up.
    bool ctime = was.ctime_s != now.ctime_s || was.ctime_ns != now.ctime_ns;
    return meta || (ctime && now.nlink >= was.nlink);
  }

  // Emits the changes below `rel` (a directory); `fresh`: nothing was there before.
  // Returns whether anything was emitted.
  Result<bool> diff_dir(const std::string& rel, bool fresh) {
    std::string here = rel.empty() ? root : root + "/" + rel;
    auto names = TRY(list_dir(here));
    bool emitted = false;
    for (const std::string& name : names) {
      std::string r = join(rel, name), src = root + "/" + r, dst = out + "/" + r;
      struct stat st {};
      if (::lstat(src.c_str(), &st) != 0) return errno_error(fmt::format("stat `{}`", src));
      Meta now = TRY(meta_at(src));
      auto it = fresh ? before.end() : before.find(r);
      bool existed = it != before.end();
      bool same_node = existed && it->second.ino == now.ino && it->second.btime_s == now.btime_s &&
                       it->second.btime_ns == now.btime_ns &&
                       (it->second.mode & S_IFMT) == (now.mode & S_IFMT);
      bool is_changed = !same_node || changed(r, it->second, now);
      if (S_ISDIR(st.st_mode)) {
        if (::mkdir(dst.c_str(), 0700) != 0) return errno_error(fmt::format("mkdir `{}`", dst));
        bool inner = TRY(diff_dir(r, !same_node));
        if (!inner && !is_changed) {
          if (::rmdir(dst.c_str()) != 0) return errno_error(fmt::format("rmdir `{}`", dst));
          continue;
        }
        if (existed && !same_node) TRY(set_opaque(dst));
        TRY(copy_metadata(src, dst, st));
        emitted = true;
      } else if (is_changed && !S_ISSOCK(st.st_mode)) {
        if (::link(src.c_str(), dst.c_str()) != 0) return errno_error(fmt::format("link `{}`", dst));
        emitted = true;
      }
    }
    if (fresh) return emitted;
    auto kids = children.find(rel);
    if (kids == children.end()) return emitted;
    std::unordered_set<std::string> present(names.begin(), names.end());
    for (const std::string& name : kids->second) {
      if (present.count(name)) continue;
      TRY(make_whiteout(out + "/" + join(rel, name)));
      emitted = true;
    }
    return emitted;
  }
};

}  // namespace

Status merge_layer(const fs::path& src, const fs::path& dst, bool hardlink) {
  Merger merger{hardlink, {}};
  return merger.merge_dir(src.string(), dst.string());
}

Status write_tree_state(const fs::path& root, const fs::path& state_file) {
  std::string text;
  TRY(record_dir(root.string(), "", text));
  return write_file_atomic(state_file, text, 0600);
}

Status write_native_diff(const fs::path& root, const fs::path& state_file, const fs::path& out,
                         const std::set<std::string>& compare_metadata_only) {
  Differ differ{root.string(), out.string(), compare_metadata_only, {}, {}};
  TRY(differ.load(TRY(read_file(state_file))));
  TRY(differ.diff_dir("", false));
  return {};
}

std::set<std::string> remove_created(const fs::path& root,
                                     const std::vector<executor::CreatedPath>& created) {
  std::set<std::string> restored;
  for (auto it = created.rbegin(); it != created.rend(); ++it) {
    std::string rel = it->path.substr(it->path.find_first_not_of('/'));
    std::string path = root.string() + "/" + rel;
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) continue;
    bool removable = it->directory ? S_ISDIR(st.st_mode) : (S_ISREG(st.st_mode) && st.st_size == 0);
    if (!removable) continue;
    size_t slash = rel.rfind('/');
    std::string parent_rel = slash == std::string::npos ? "" : rel.substr(0, slash);
    std::string parent = parent_rel.empty() ? root.string() : root.string() + "/" + parent_rel;
    struct stat pst {};
    if (::lstat(parent.c_str(), &pst) != 0) continue;
    if ((it->directory ? ::rmdir(path.c_str()) : ::unlink(path.c_str())) != 0) continue;
    // Untouched by the step since the creation: back to the mtime before it; otherwise keep
    // the step's mtime (which the removal just changed).
    bool untouched = pst.st_mtim.tv_sec == it->parent_after_sec && pst.st_mtim.tv_nsec == it->parent_after_nsec;
    struct timespec mtime = untouched ? timespec{it->parent_mtime_sec, it->parent_mtime_nsec} : pst.st_mtim;
    if (set_mtime(parent, mtime).ok()) restored.insert(parent_rel);
  }
  return restored;
}

void prune_copied_up(const fs::path& upper, const std::vector<fs::path>& lowers,
                     const std::set<std::string>& paths) {
  for (std::string rel : paths) {
    while (!rel.empty()) {
      std::string path = upper.string() + "/" + rel;
      struct stat st {}, low {};
      auto entries = list_dir(path);
      if (::lstat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode) || !entries || !entries->empty() ||
          is_opaque(path))
        break;
      auto lower = std::find_if(lowers.begin(), lowers.end(), [&](const fs::path& l) {
        return ::lstat((l.string() + "/" + rel).c_str(), &low) == 0;
      });
      if (lower == lowers.end() || !S_ISDIR(low.st_mode) || low.st_uid != st.st_uid ||
          low.st_gid != st.st_gid || low.st_mode != st.st_mode ||
          low.st_mtim.tv_sec != st.st_mtim.tv_sec || low.st_mtim.tv_nsec != st.st_mtim.tv_nsec)
        break;
      size_t slash = rel.rfind('/');
      std::string parent = slash == std::string::npos ? "" : rel.substr(0, slash);
      std::string parent_path = parent.empty() ? upper.string() : upper.string() + "/" + parent;
      struct stat pst {};
      bool have_parent = ::lstat(parent_path.c_str(), &pst) == 0;
      if (::rmdir(path.c_str()) != 0) break;
      if (have_parent) (void)set_mtime(parent_path, pst.st_mtim);
      rel = parent;
    }
  }
}

}  // namespace cbuild::snapshot
