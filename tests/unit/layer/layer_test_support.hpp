#pragma once
// Helpers for the layer tests: build trees and tars, read tars back (all with libarchive).
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "cbuild/layer/sink.hpp"
#include "cbuild/util/fs.hpp"

namespace cbuild::layer::test {

inline void write_text(const fs::path& path, std::string_view content, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode));
  if (!fd || !write_all(fd.get(), content).ok()) throw std::runtime_error("write " + path.string());
  ::fchmod(fd.get(), mode);
}

inline void set_mtime(const fs::path& path, int64_t sec) {
  timespec ts[2] = {{sec, 0}, {sec, 0}};
  if (utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    throw std::runtime_error("utimensat " + path.string());
}

/// Sets every mtime under `root` (and root) to `sec`, so trees compare across runs.
inline void set_all_mtimes(const fs::path& root, int64_t sec) {
  for (auto& e : fs::recursive_directory_iterator(root)) set_mtime(e.path(), sec);
  set_mtime(root, sec);
}

inline bool set_user_xattr(const fs::path& path, const char* name, std::string_view value) {
  return lsetxattr(path.c_str(), name, value.data(), value.size(), 0) == 0;
}

inline std::string get_xattr(const fs::path& path, const char* name) {
  char buf[4096];
  ssize_t n = lgetxattr(path.c_str(), name, buf, sizeof buf);
  return n < 0 ? std::string("<none>") : std::string(buf, static_cast<size_t>(n));
}

/// One tar entry as read back.
struct TarEntry {
  std::string name, link, hardlink, content;
  mode_t type = 0, perm = 0;
  int64_t uid = 0, gid = 0, mtime = 0;
  unsigned dev_major = 0, dev_minor = 0;
  bool has_uname = false, has_atime = false;
  std::map<std::string, std::string> xattrs;
};

/// Reads a (possibly compressed) tar from memory.
inline std::vector<TarEntry> read_tar(const std::string& data) {
  archive* a = archive_read_new();
  archive_read_support_filter_gzip(a);  // the compressions cbuild writes
  archive_read_support_filter_zstd(a);
  archive_read_support_format_tar(a);
  if (archive_read_open_memory(a, data.data(), data.size()) != ARCHIVE_OK)
    throw std::runtime_error(archive_error_string(a));
  std::vector<TarEntry> out;
  archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    TarEntry t;
    t.name = archive_entry_pathname(e);
    if (auto* s = archive_entry_symlink(e)) t.link = s;
    if (auto* h = archive_entry_hardlink(e)) t.hardlink = h;
    t.type = archive_entry_filetype(e);
    t.perm = archive_entry_perm(e);
    t.uid = archive_entry_uid(e);
    t.gid = archive_entry_gid(e);
    t.mtime = archive_entry_mtime(e);
    t.dev_major = archive_entry_rdevmajor(e);
    t.dev_minor = archive_entry_rdevminor(e);
    auto nonempty = [](const char* s) { return s && *s; };
    t.has_uname = nonempty(archive_entry_uname(e)) || nonempty(archive_entry_gname(e));
    t.has_atime = archive_entry_atime_is_set(e);
    const char* n;
    const void* v;
    size_t s;
    archive_entry_xattr_reset(e);
    while (archive_entry_xattr_next(e, &n, &v, &s) == ARCHIVE_OK)
      t.xattrs[n] = std::string(static_cast<const char*>(v), s);
    char buf[65536];
    la_ssize_t r;
    while ((r = archive_read_data(a, buf, sizeof buf)) > 0) t.content.append(buf, static_cast<size_t>(r));
    out.push_back(std::move(t));
  }
  archive_read_free(a);
  return out;
}

/// Builds tars in memory, including malformed ones, with libarchive.
class TarBuilder {
 public:
  TarBuilder() {
    m_a = archive_write_new();
    archive_write_set_format_pax_restricted(m_a);
    archive_write_set_bytes_per_block(m_a, 0);
    archive_write_open(m_a, this, nullptr, &TarBuilder::on_write, nullptr);
    m_e = archive_entry_new();
  }
  ~TarBuilder() {
    archive_entry_free(m_e);
    archive_write_free(m_a);
  }
  TarBuilder& file(const std::string& name, std::string_view content = "x", mode_t perm = 0644) {
    start(name, AE_IFREG, perm);
    archive_entry_set_size(m_e, static_cast<la_int64_t>(content.size()));
    archive_write_header(m_a, m_e);
    archive_write_data(m_a, content.data(), content.size());
    return *this;
  }
  TarBuilder& dir(const std::string& name, mode_t perm = 0755) { return header(name, AE_IFDIR, perm); }
  TarBuilder& symlink(const std::string& name, const std::string& target) {
    start(name, AE_IFLNK, 0777);
    archive_entry_copy_symlink(m_e, target.c_str());
    archive_write_header(m_a, m_e);
    return *this;
  }
  TarBuilder& hardlink(const std::string& name, const std::string& target) {
    start(name, AE_IFREG, 0644);
    archive_entry_copy_hardlink(m_e, target.c_str());
    archive_write_header(m_a, m_e);
    return *this;
  }
  TarBuilder& device(const std::string& name, mode_t type, unsigned maj, unsigned min) {
    start(name, type, 0600);
    archive_entry_set_rdevmajor(m_e, maj);
    archive_entry_set_rdevminor(m_e, min);
    archive_write_header(m_a, m_e);
    return *this;
  }
  TarBuilder& owner(int64_t uid, int64_t gid) {
    m_uid = uid;
    m_gid = gid;
    return *this;
  }
  TarBuilder& xattr(std::string name, std::string value) {
    m_xattrs.emplace_back(std::move(name), std::move(value));
    return *this;
  }
  std::string finish() {
    archive_write_close(m_a);
    return m_data;
  }

 private:
  TarBuilder& header(const std::string& name, mode_t type, mode_t perm) {
    start(name, type, perm);
    archive_write_header(m_a, m_e);
    return *this;
  }
  void start(const std::string& name, mode_t type, mode_t perm) {
    archive_entry_clear(m_e);
    archive_entry_copy_pathname(m_e, name.c_str());
    archive_entry_set_filetype(m_e, type);
    archive_entry_set_perm(m_e, perm);
    archive_entry_set_uid(m_e, m_uid);
    archive_entry_set_gid(m_e, m_gid);
    archive_entry_set_mtime(m_e, 1700000000, 0);
    for (auto& [n, v] : m_xattrs) archive_entry_xattr_add_entry(m_e, n.c_str(), v.data(), v.size());
    m_xattrs.clear();
  }
  static la_ssize_t on_write(archive*, void* self, const void* data, size_t size) {
    static_cast<TarBuilder*>(self)->m_data.append(static_cast<const char*>(data), size);
    return static_cast<la_ssize_t>(size);
  }
  archive* m_a;
  archive_entry* m_e;
  std::string m_data;
  int64_t m_uid = 0, m_gid = 0;
  std::vector<std::pair<std::string, std::string>> m_xattrs;
};

/// Writes `data` to a file and returns its path.
inline fs::path save(const fs::path& dir, const std::string& name, const std::string& data) {
  fs::path p = dir / name;
  write_text(p, data);
  return p;
}

}  // namespace cbuild::layer::test
